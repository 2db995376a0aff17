/**
 * Runs an ONNX graph once at its exported sizes, not on numbers but on references: every element of every
 * computed value says which element of which source it is (the input's, the embedding's, a recurrent layer's
 * output or final state, the head's). Constants are folded as they are met, so a weight built by a chain of
 * Slice, Concat and Unsqueeze (an export without constant folding) arrives as one tensor; the glue between
 * layers (Slice, Squeeze, Unsqueeze, Transpose, Reshape, Concat, Gather, Identity, Cast, Shape, Expand) moves
 * references about with the same functions. The few ops that compute (Gather on the embedding table, RNN /
 * LSTM / GRU, MatMul + Add or Gemm, Softmax / LogSoftmax) check that their inputs are what a model of this
 * library feeds them, element for element, and start a new source. What the graph's first output refers to
 * then says what it is: the head's output (or the core's, or their softmax), in which order and shape.
 *
 * The model recognised at the traced sizes is the model at every size: an export fixes T and B only in the
 * shapes of its glue, and the checks above leave no freedom in how that glue arranges the elements.
 */
import { FormatError, UnsupportedError } from '../../errors.js';
import { quote, shapeText } from '../describe.js';
import type { OnnxModel } from './messages.js';
import { MAX_TRACE } from './ops.js';

import { Tracer } from './tracer.js';
import { TRACE_SIZES, type Traced, type TracedOutput, code, sourceOf } from './values.js';

export type { OnnxCell, Traced, TracedOutput } from './values.js';

/** Runs the graph and says what model it is. */
export function trace(model: OnnxModel): Traced {
  const { graph } = model;
  const initializers = graph.initializers;
  const inputs = graph.inputs.filter((v) => !initializers.has(v.name));
  if (inputs.length === 0) throw new FormatError('ONNX: the graph has no input');
  if (graph.outputs.length === 0) throw new FormatError('ONNX: the graph has no output');
  const main = inputs[0];
  if (!main.dims) throw new UnsupportedError(`ONNX: the graph's first input ${quote(main.name)} has no declared shape`);
  let symbolic = 0;
  const mainDims = main.dims.map((d) => (typeof d === 'number' ? d : TRACE_SIZES[symbolic++ % TRACE_SIZES.length]));
  if (mainDims.length < 2 || mainDims.length > 3) {
    throw new UnsupportedError(
      `ONNX: the graph's first input ${quote(main.name)} has shape ${shapeText(main.dims.map(String) as never)}; `
        + 'expected token ids [T, B] or vectors [T, B, I]',
    );
  }
  if (mainDims.some((d) => d < 1)) throw new FormatError(`ONNX: the graph's first input has a dimension of ${Math.min(...mainDims)}`);
  if (mainDims.reduce((p, d) => p * d, 1) > MAX_TRACE / 64) {
    throw new UnsupportedError(`ONNX: the graph's first input has shape ${shapeText(mainDims)}; export with a smaller example input`);
  }
  const t = new Tracer(model, main.name, mainDims);
  for (const [name, c] of initializers)
    t.values.set(name, { kind: 'const', dims: c.dims, data: c.data, dtype: c.dtype, initializer: name });
  t.values.set(main.name, t.refs(mainDims, 0));
  for (const v of inputs.slice(1)) {
    const dims = (v.dims ?? []).map((d) => (typeof d === 'number' ? d : 1));
    if (dims.some((d) => d < 0) || dims.reduce((p, d) => p * d, 1) > MAX_TRACE / 64) {
      throw new UnsupportedError(`ONNX: graph input ${quote(v.name)} has shape ${shapeText(dims)}`);
    }
    t.values.set(v.name, t.refs(dims, t.source({ kind: 'other', name: v.name })));
  }
  t.run();
  if (t.layers.length === 0) throw new UnsupportedError('ONNX: the graph has no RNN, LSTM or GRU node');
  if (t.head && t.head.layer !== t.layers.length - 1) {
    throw new UnsupportedError(`ONNX: the head reads layer ${t.head.layer}, but more layers follow it`);
  }
  return {
    embedding: t.embedding,
    inputSize: t.embedding ? t.embeddingDim : mainDims[2],
    layers: t.layers,
    merges: t.merges,
    head: t.head,
    batchFirst: t.batchFirst ?? false,
    output: recogniseOutput(t, graph.outputs[0].name),
    headActivation: headActivation(t, graph.outputs[0].name),
    mainInput: main.name,
    lengthsInput: t.lengthsInput,
  };
}

/** The function the graph's first output applies to the head's, if it is a Relu, Tanh or Sigmoid of it. */
function headActivation(t: Tracer, name: string): Traced['headActivation'] {
  const v = t.values.get(name);
  const source = v?.kind === 'ref' && v.data.length ? t.sources[sourceOf(v.data[0])] : null;
  return source?.kind === 'activated' ? source.activation : 'linear';
}

/** The first output, element for element, as the model's y (or its softmax) in the model's order, reshaped. */
function recogniseOutput(t: Tracer, name: string): TracedOutput {
  const v = t.values.get(name);
  if (!v) throw new FormatError(`ONNX: the graph's output ${quote(name)} is computed by no node`);
  const fail = (what: string): never => {
    throw new UnsupportedError(`ONNX: the graph's first output ${quote(name)} ${what}`);
  };
  if (v.kind !== 'ref' || v.data.length === 0) return fail("is not computed from the model's input");
  const last = t.layers[t.layers.length - 1];
  const { T, batch: Bt, hiddenSize: H } = last;
  // Without a head, the output is the last layer's output, or (Keras's return_sequences=False) its final states;
  // either maybe with the two directions merged (read as one direction).
  const first = t.sources[sourceOf(v.data[0])];
  const { D, ySource, hSource } = t.head ? { D: last.directions, ySource: -1, hSource: -1 } : t.view(t.layers.length - 1, v.data[0]);
  const finalStates = !t.head && (first?.kind === 'Yh' || (first?.kind === 'merged' && first.of === 'Yh'));
  const on = t.head?.on ?? (finalStates ? 'final' : 'steps');
  const O = t.head ? t.head.outputSize : D * H;
  const factors: ['T' | 'B' | 'O', number][] =
    on === 'final'
      ? [
          ['B', Bt],
          ['O', O],
        ]
      : t.batchFirst
        ? [
            ['B', Bt],
            ['T', T],
            ['O', O],
          ]
        : [
            ['T', T],
            ['B', Bt],
            ['O', O],
          ];
  const n = factors.reduce((p, [, d]) => p * d, 1);
  if (v.data.length !== n) fail(`has ${v.data.length} elements; the model's output has ${n}`);
  const src = sourceOf(v.data[0]);
  const kind = t.sources[src].kind;
  let apply: TracedOutput['apply'] = 'none';
  let base = src;
  if (kind === 'softmax' || kind === 'logSoftmax') {
    apply = kind;
    base = t.softmaxOf;
  }
  if (kind === 'activated') base = t.sources.findIndex((s) => s.kind === 'head');
  const baseKind = t.sources[base].kind;
  if (t.head ? baseKind !== 'head' && baseKind !== 'matmul' : baseKind !== 'Y' && baseKind !== 'Yh' && baseKind !== 'merged') {
    fail("is not the model's output");
  }
  for (let i = 0; i < n; i++) {
    let expected = code(src, i);
    if (finalStates) {
      // [B, D·H]: cat(h_n[-2], h_n[-1]) of the last layer.
      const [b, d, h] = [Math.floor(i / O), Math.floor((i % O) / H), i % H];
      expected = code(hSource, last.layout === 0 ? (d * Bt + b) * H + h : (b * D + d) * H + h);
    } else if (!t.head) {
      // No head: the last layer's output, rows in the model's order, both directions side by side.
      const row = Math.floor(i / O);
      const f = i % O;
      const [tt, b] = t.batchFirst ? [row % T, Math.floor(row / T)] : [Math.floor(row / Bt), row % Bt];
      const d = Math.floor(f / H);
      const yIndex = last.layout === 0 ? ((tt * D + d) * Bt + b) * H + (f % H) : ((b * T + tt) * D + d) * H + (f % H);
      expected = code(src === base ? ySource : src, yIndex);
    }
    if (v.data[i] !== expected)
      fail(`is not the model's output in ${t.batchFirst ? 'batch-first' : 'time-major'} order (element ${i} differs)`);
  }
  return {
    name,
    apply,
    on,
    dims: groupDims(v.dims, factors) ?? fail(`has shape ${shapeText(v.dims)}, not a reshape of the model's output`),
  };
}

/**
 * The output's dims as runs of the factors, in order: [18, 30] over T 9, B 2, O 30 is [[T, B], [O]]. A factor of
 * size 1 joins the dimension before it unless the next dimension is a 1 of its own.
 */
function groupDims(dims: readonly number[], factors: readonly ['T' | 'B' | 'O', number][]): ('T' | 'B' | 'O')[][] | null {
  const groups: ('T' | 'B' | 'O')[][] = [];
  let f = 0;
  for (let i = 0; i < dims.length; i++) {
    const group: ('T' | 'B' | 'O')[] = [];
    let product = 1;
    if (dims[i] === 1) {
      if (f < factors.length && factors[f][1] === 1) group.push(factors[f++][0]);
    } else {
      while (product < dims[i] && f < factors.length) {
        product *= factors[f][1];
        group.push(factors[f++][0]);
      }
      if (product !== dims[i]) return null;
    }
    while (f < factors.length && factors[f][1] === 1 && dims[i + 1] !== 1) group.push(factors[f++][0]);
    groups.push(group);
  }
  return f === factors.length ? groups : null;
}
