/**
 * An ONNX file as a snapshot: the traced graph's parts (trace.ts) as this library's configuration, and the
 * weights in PyTorch's layout. ONNX stacks the gates of a recurrent node in another order (LSTM i, o, f, c; GRU
 * z, r, h) than PyTorch (LSTM i, f, g, o; GRU r, z, n) and keeps both biases in one tensor [D, 2·G·H] (Wb then
 * Rb); they are reordered and split here. Module names come from the options, else from the initializers'
 * names (`encoder.weight` → `encoder`) or the exporter's node names (`/rnn/LSTM` → `rnn`), else the defaults.
 */
import { NonFiniteError, OptionError, UnsupportedError } from '../../errors.js';
import { qualified } from '../../layout.js';
import { DEFAULT_NAMES, type LoadOptions, type RNNOptions, type StackedCoreOptions, WHERE_IT_RUNS, modelConfig } from '../../options.js';
import { checkKeys } from '../../checks.js';
import { firstNonFinite } from '../../tensor.js';
import type { PartNames, Snapshot, Tensor } from '../../types.js';
import { quote } from '../describe.js';
import { decodeModel } from './messages.js';
import { type OnnxCell, type TracedOutput, trace } from './trace.js';
import type { TracedLayer } from './values.js';

/** What an ONNX graph cannot tell, and where the model runs. */
export interface ONNXOptions extends Pick<RNNOptions, 'dropout' | 'seed'>, LoadOptions {
  /** The parts' module names for `stateDict()` (default: found in the graph's names). */
  names?: Partial<PartNames> | undefined;
  /** The embedding's padding_idx, which the graph cannot show. */
  paddingIdx?: number | null | undefined;
}

const ONNX_OPTION_KEYS = ['names', 'paddingIdx', 'dropout', 'seed', ...WHERE_IT_RUNS];

/** The rows of PyTorch's gate blocks, taken from ONNX's: torch block j is ONNX block ONNX_BLOCK[cell][j]. */
export const ONNX_BLOCK: Readonly<Record<OnnxCell, readonly number[]>> = { rnn: [0], lstm: [0, 2, 3, 1], gru: [1, 0, 2] };

export interface OnnxImport {
  snapshot: Snapshot;
  output: TracedOutput;
  lengthsInput: string | null;
}

export function importONNX(bytes: Uint8Array, options: ONNXOptions): OnnxImport {
  checkKeys(options, ONNX_OPTION_KEYS, 'fromONNX');
  const model = decodeModel(bytes);
  const t = trace(model);
  const ours = model.producer === 'rnn-wasm' && t.head !== null;
  const names = partNames(t, options);
  const groups = coreGroups(t, names);
  const head = t.head;
  const tieWeights = Boolean(head && t.embedding && sameValues(head.weight, t.embedding.table.data as Float32Array));
  const [first, ...stack] = groups.map((g) => g.options);
  const { name: _, ...firstOptions } = first;
  const { config } = modelConfig({
    ...firstOptions,
    ...(stack.length && { stack }),
    outputSize: head?.outputSize ?? 0,
    headOn: t.output.on,
    // toONNX writes a softmax head as the head and a Softmax; read back, it is the head's activation again.
    ...(ours && t.output.apply === 'softmax'
      ? { headActivation: 'softmax' }
      : t.headActivation !== 'linear' && { headActivation: t.headActivation }),
    tieWeights,
    ...(t.embedding
      ? {
          embedding: {
            numEmbeddings: t.embedding.table.dims[0],
            embeddingDim: t.embedding.table.dims[1],
            paddingIdx: options.paddingIdx ?? null,
          },
        }
      : { inputSize: t.inputSize }),
    names,
    batchFirst: t.batchFirst,
    dropout: options.dropout,
    seed: options.seed,
  });

  const values = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const { name, layers } of groups) {
    const core = (n: string) => qualified(name, n);
    layers.forEach((l, k) => {
      const { cell, hiddenSize: H, directions: D } = l;
      const rows = ONNX_BLOCK[cell].length * H;
      for (let d = 0; d < D; d++) {
        const suffix = `_l${k}${d ? '_reverse' : ''}`;
        values.set(core(`weight_ih${suffix}`), {
          data: reorder(l.W.data as Float32Array, d, rows * l.inputSize, cell, H * l.inputSize),
          shape: [rows, l.inputSize],
        });
        values.set(core(`weight_hh${suffix}`), { data: reorder(l.R.data as Float32Array, d, rows * H, cell, H * H), shape: [rows, H] });
        if (l.B) {
          const b = l.B.data as Float32Array;
          values.set(core(`bias_ih${suffix}`), {
            data: reorder(b.subarray(d * 2 * rows, d * 2 * rows + rows), 0, rows, cell, H),
            shape: [rows],
          });
          values.set(core(`bias_hh${suffix}`), {
            data: reorder(b.subarray(d * 2 * rows + rows, (d + 1) * 2 * rows), 0, rows, cell, H),
            shape: [rows],
          });
        }
      }
    });
  }
  if (t.embedding)
    values.set(`${names.embedding}.weight`, { data: t.embedding.table.data as Float32Array, shape: [...t.embedding.table.dims] });
  if (head) {
    if (!tieWeights)
      values.set(`${names.head}.weight`, { data: head.weight, shape: [head.outputSize, head.weight.length / head.outputSize] });
    values.set(`${names.head}.bias`, { data: head.bias ?? new Float32Array(head.outputSize), shape: [head.outputSize] });
  }
  // Every parameter once (a tied weight under the embedding's name); RNN.loadStateDict checks names and shapes.
  const parameters = new Map<string, Tensor>();
  for (const [name, { data, shape }] of values) {
    const bad = firstNonFinite(data);
    if (bad >= 0) throw new NonFiniteError(`fromONNX: ${quote(name)} element ${bad} is ${data[bad]}`);
    parameters.set(name, { data, shape });
  }
  return {
    snapshot: { config, parameters, optimizer: null, generator: config.seed >>> 0, metadata: {} },
    output: ours && t.output.apply === 'softmax' ? { ...t.output, apply: 'none' } : t.output,
    lengthsInput: t.lengthsInput,
  };
}

/** A run of traced layers that is one core: the same settings throughout, and a reversal of its input only before the first. */
interface CoreGroup {
  name: string;
  layers: TracedLayer[];
  options: StackedCoreOptions & { name: string };
}

/** The traced layers in cores: a new one wherever a layer differs from the one below, or reads its input reversed. */
function coreGroups(t: ReturnType<typeof trace>, names: PartNames): CoreGroup[] {
  const key = (l: TracedLayer) =>
    [l.cell, l.hiddenSize, l.directions, l.B !== null, l.nonlinearity, l.recurrentActivation, l.resetAfter, l.reverse].join();
  const groups: CoreGroup[] = [];
  for (const [k, l] of t.layers.entries()) {
    const last = groups[groups.length - 1];
    // A merge joins a core's last layer: the layer after one starts a core of its own.
    if (last && !l.goBackwards && !last.options.mergeMode && key(last.layers[0]) === key(l)) {
      last.layers.push(l);
      if (t.merges.has(k)) last.options.mergeMode = t.merges.get(k);
      continue;
    }
    if (l.goBackwards && t.lengthsInput) {
      throw new UnsupportedError(
        `ONNX: node ${quote(l.node)} reads its input reversed in a graph with sequence lengths, whose padding it would reverse too`,
      );
    }
    // A stacked core is named by its node's module path, as toONNX writes it, when that names nothing else.
    const fromNode = /^\/(.+)\/[A-Za-z]+(_\d+)?$/.exec(l.node)?.[1].replaceAll('/', '.');
    const taken = new Set([names.embedding, names.head, ...groups.map((g) => g.name)]);
    const name =
      groups.length === 0
        ? names.core
        : fromNode && !taken.has(fromNode) && fromNode !== names.core
          ? fromNode
          : `${names.core}${groups.length}`;
    groups.push({
      name,
      layers: [l],
      options: {
        name,
        cell: l.cell,
        hiddenSize: l.hiddenSize,
        bidirectional: l.directions === 2,
        bias: l.B !== null,
        ...(l.nonlinearity !== 'tanh' && { nonlinearity: l.nonlinearity }),
        ...(l.recurrentActivation !== 'sigmoid' && { recurrentActivation: l.recurrentActivation }),
        ...(!l.resetAfter && { resetAfter: false }),
        ...(l.reverse && { reverse: true }),
        ...(l.goBackwards && { goBackwards: true }),
        ...(t.merges.has(k) && { mergeMode: t.merges.get(k) }),
      },
    });
  }
  for (const g of groups) g.options.numLayers = g.layers.length;
  return groups;
}

/** Direction d's gate blocks (each `block` values) in PyTorch's order. */
function reorder(data: Float32Array, d: number, perDirection: number, cell: OnnxCell, block: number): Float32Array {
  const from = data.subarray(d * perDirection, (d + 1) * perDirection);
  const out = new Float32Array(perDirection);
  ONNX_BLOCK[cell].forEach((onnx, j) => out.set(from.subarray(onnx * block, (onnx + 1) * block), j * block));
  return out;
}

/** A tied head: its weight holds the embedding table's values bit for bit (the same initializer, or its transposed copy). */
function sameValues(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

/** Module names: the options', else the graph's, else the defaults. */
function partNames(t: ReturnType<typeof trace>, options: ONNXOptions): PartNames {
  if (options.names !== undefined) checkKeys(options.names, ['embedding', 'core', 'head'], 'fromONNX: names');
  const module = (initializer: string | null, suffix: string, node: string | undefined) => {
    if (initializer?.endsWith(suffix) && !initializer.startsWith('onnx::')) return initializer.slice(0, -suffix.length);
    // torch.onnx.export names nodes by module path: "/inner/rnn/LSTM_1" is in module "inner.rnn".
    const m = node ? /^\/(.+)\/[A-Za-z]+(_\d+)?$/.exec(node) : null;
    return m ? m[1].replaceAll('/', '.') : null;
  };
  const found = {
    embedding: t.embedding ? module(t.embedding.name, '.weight', t.embedding.node) : null,
    core: module(null, '', t.layers[0].node),
    head: t.head ? (module(t.head.biasName, '.bias', undefined) ?? module(t.head.weightName, '.weight', undefined)) : null,
  };
  const names = { ...DEFAULT_NAMES };
  for (const part of ['embedding', 'core', 'head'] as const) {
    const given = options.names?.[part];
    if (given !== undefined && typeof given !== 'string') throw new OptionError(`fromONNX: names.${part} must be a string`);
    names[part] = given ?? found[part] ?? DEFAULT_NAMES[part];
  }
  // Parts must not share a name (a graph's own names could): fall back to the defaults for the core.
  if (new Set(Object.values(names)).size < 3 && options.names?.core === undefined) names.core = DEFAULT_NAMES.core;
  return names;
}
