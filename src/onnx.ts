/**
 * `rnn-wasm/onnx`: models to and from ONNX, in an entry of its own so that the core bundle stays as it is.
 *
 *   fromONNX(file, options)  the graph torch.onnx.export writes for Embedding → RNN/LSTM/GRU → Linear (or one of
 *                            toONNX's), as an RNN with the same weights; any sequence length and batch
 *   predict(net, input)      what the source graph's first output is for that input, from zero initial states
 *   toONNX(net)              the model as a standard ONNX graph (opset 14) that onnxruntime runs
 *
 * The model is made through the public API (RNN.create, loadStateDict); what the graph's output does after the
 * model (a softmax, a reshape) travels in the model's `metadata` under ONNX_OUTPUT_KEY, so `save()` keeps it.
 * @module rnn-wasm/onnx
 */
import { type FileSource, readSource } from './io/source.js';
import { configToJSON } from './io/format.js';
import { whereItRuns } from './options.js';
import { exportONNX } from './io/onnx/export.js';
import { type ONNXOptions, importONNX } from './io/onnx/import.js';
import type { TracedOutput } from './io/onnx/trace.js';
import { FormatError, OptionError, RNN, ShapeError, logSoftmax } from './index.js';
import type { Tensor, TensorInput } from './types.js';

export type { ONNXOptions } from './io/onnx/import.js';
export { UnsupportedError } from './index.js';

/** The `metadata` key of an imported model's output post-processing (JSON of ONNXOutput). */
export const ONNX_OUTPUT_KEY = 'rnn_wasm.onnx_output';

/** What the source graph did after the model: a softmax over the classes, then a reshape. */
export interface ONNXOutput {
  /** The graph's output name. */
  readonly name: string;
  /** The function the graph applied to the model's y over its last axis, if any. */
  readonly apply: 'none' | 'softmax' | 'logSoftmax';
  /** Each output dimension as the product of T (steps), B (batch) and O (the model's output width), in order. */
  readonly dims: readonly (readonly ('T' | 'B' | 'O')[])[];
}

/**
 * A model from an ONNX file (its bytes, a path in Node, or a URL) that `torch.onnx.export` wrote for an
 * Embedding / RNN / LSTM / GRU / Linear model (opsets 13–17, with or without constant folding), or that `toONNX`
 * wrote. Throws UnsupportedError naming the node and the feature for what this library has no counterpart of
 * (peepholes, clip, other activations, other ops), FormatError for a file that is not well-formed ONNX.
 */
export async function fromONNX(source: FileSource, options: ONNXOptions = {}): Promise<RNN> {
  const bytes = await readSource(source, 'fromONNX');
  const { snapshot, output } = importONNX(bytes, options);
  const net = await RNN.create({ ...configToJSON(snapshot.config), ...whereItRuns(options) });
  try {
    net.loadStateDict(Object.fromEntries(snapshot.parameters));
    const recorded: ONNXOutput = { name: output.name, apply: output.apply, dims: output.dims };
    net.metadata = { [ONNX_OUTPUT_KEY]: JSON.stringify(recorded) };
    return net;
  } catch (error) {
    net.dispose();
    throw error;
  }
}

/**
 * The source graph's first output for this input (token ids or vectors, in the graph's layout), from zero
 * initial states: the model's y, with the graph's softmax or log-softmax, in the graph's shape (e.g.
 * word_language_model's [T·B, V]). For a model that was not imported, y as `unroll` gives it.
 */
export function predict(net: RNN, input: TensorInput, options: { lengths?: ArrayLike<number> } = {}): Tensor {
  const post = outputOf(net);
  const y = net.unroll(input, options.lengths ? { lengths: options.lengths } : {}).y;
  let data = y.data;
  if (post.apply !== 'none') {
    data = logSoftmax(y).data;
    if (post.apply === 'softmax') data = data.map(Math.exp);
  }
  const c = net.config;
  const sizes: Record<'T' | 'B' | 'O', number> =
    c.headOn === 'final'
      ? { T: 1, B: y.shape[0], O: y.shape[1] }
      : { T: y.shape[c.batchFirst ? 1 : 0], B: y.shape[c.batchFirst ? 0 : 1], O: y.shape[2] };
  const shape = post.dims.map((group) => group.reduce((p, f) => p * sizes[f], 1));
  if (shape.reduce((p, d) => p * d, 1) !== data.length) {
    throw new ShapeError(`predict: the recorded output shape does not fit the model's output [${y.shape.join(', ')}]`);
  }
  return { data, shape };
}

function outputOf(net: RNN): ONNXOutput {
  if (!(net instanceof RNN)) throw new OptionError('predict: expected an RNN');
  const text = net.metadata[ONNX_OUTPUT_KEY];
  const c = net.config;
  if (text === undefined) {
    const dims: ('T' | 'B' | 'O')[][] =
      c.headOn === 'final' ? [['B'], ['O']] : c.batchFirst ? [['B'], ['T'], ['O']] : [['T'], ['B'], ['O']];
    return { name: 'y', apply: 'none', dims };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new FormatError(`predict: metadata ${ONNX_OUTPUT_KEY} is not JSON`);
  }
  const p = parsed as Partial<TracedOutput>;
  if (
    !p
    || !['none', 'softmax', 'logSoftmax'].includes(p.apply as string)
    || !Array.isArray(p.dims)
    || !p.dims.every((g) => Array.isArray(g) && g.every((f) => f === 'T' || f === 'B' || f === 'O'))
  ) {
    throw new FormatError(`predict: metadata ${ONNX_OUTPUT_KEY} is not an output description`);
  }
  return p as ONNXOutput;
}

/**
 * The model as an ONNX graph (opset 14, ONNX's own RNN / LSTM / GRU ops): input `input` (ids int64 or vectors
 * float32, in the model's layout, any T and B), initial states `h0` (`c0`) defaulting to zeros, output `logits`
 * (or `output` without a head) equal to `unroll`'s y. `fromONNX` reads it back into the same model.
 */
export function toONNX(net: RNN): Uint8Array {
  if (!(net instanceof RNN)) throw new OptionError('toONNX: expected an RNN');
  return exportONNX(net.config, net.stateDict(), 'rnn-wasm');
}
