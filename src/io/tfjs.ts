/**
 * A TensorFlow.js / Keras `model.json` and its weights as this library's configuration and `stateDict`.
 *
 * The topology is Keras's: a Sequential (or a Functional model whose layers form a chain) of an optional
 * Embedding, recurrent layers (SimpleRNN, LSTM, GRU, each maybe inside a Bidirectional) and an optional Dense,
 * with Dropout layers (nothing at inference) anywhere and an Activation after the Dense. Each recurrent layer
 * becomes one core (the first the model's own, the others its `stack`) under the Keras layer's name, and the
 * Dense the head. Keras stores kernels [in, G·U] with gates LSTM i, f, c, o and GRU z, r, h, and one bias
 * (two rows for a GRU with reset_after=True); they are transposed and reordered into PyTorch's layout here, a
 * single bias becoming b_ih beside a zero b_hh. Weights come as float32 or in tensorflowjs_converter's quantized
 * forms (uint8, uint16 with a scale and a minimum; float16), dequantized as tfjs does.
 */
import { FormatError, UnsupportedError } from '../errors.js';
import type { RNNOptions, StackedCoreOptions } from '../options.js';
import type { GateActivation, HeadActivation, Tensor } from '../types.js';
import { describe, quote } from './describe.js';
import { type WeightEntry, manifest, object, read } from './tfjs-weights.js';

/** What a model.json turns into: the options of `RNN.create` (backend aside) and the parameters by name. */
export interface TFJSImport {
  options: RNNOptions;
  parameters: Map<string, Tensor>;
}

/** A Keras layer as model.json describes it. */
interface KerasLayer {
  readonly className: string;
  readonly name: string;
  readonly config: Record<string, unknown>;
}

/** Keras's recurrent layers by class name (a Map: a class_name such as 'toString' must find nothing). */
const RECURRENT: ReadonlyMap<string, 'rnn' | 'lstm' | 'gru'> = new Map([
  ['SimpleRNN', 'rnn'],
  ['LSTM', 'lstm'],
  ['GRU', 'gru'],
]);
/** Layers that do nothing at inference. */
const PASS_THROUGH = new Set(['Dropout', 'SpatialDropout1D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'InputLayer']);
/** PyTorch's gate block j is Keras's block KERAS_BLOCK[cell][j] (LSTM i, f, c, o is PyTorch's order; GRU z, r, h is not). */
const KERAS_BLOCK = { rnn: [0], lstm: [0, 1, 2, 3], gru: [1, 0, 2] } as const;
/** No model has more layers: a bound on what a hostile model.json can make us walk. */
const LIMITS = { layers: 10_000 };

export function importTFJS(modelJSON: unknown, weights: Uint8Array, where = 'fromTFJS'): TFJSImport {
  const root = object(modelJSON, `${where}: model.json`);
  const topology = object(root.modelTopology ?? root, `${where}: modelTopology`);
  const version = typeof topology.keras_version === 'string' ? topology.keras_version : '';
  const model = object(topology.model_config ?? topology, `${where}: the model's configuration`);
  const entries = manifest(root.weightsManifest, weights.byteLength, where);
  const layers = chain(model, where).filter((l) => !PASS_THROUGH.has(l.className));
  return new Importer(layers, entries, weights, version, where).run();
}

class Importer {
  private readonly parameters = new Map<string, Tensor>();
  private readonly used = new Set<WeightEntry>();

  constructor(
    private readonly layers: readonly KerasLayer[],
    private readonly entries: readonly WeightEntry[],
    private readonly bytes: Uint8Array,
    /** 'tfjs-layers 4.22.0', '2.15.0', '3.3.3': Keras 3 redefined hard_sigmoid, and tfjs's GRU resets before the product. */
    private readonly version: string,
    private readonly where: string,
  ) {}

  run(): TFJSImport {
    let i = 0;
    const options: Record<string, unknown> = { batchFirst: true };
    let inputSize = 0;
    if (this.layers[0]?.className === 'Embedding') {
      const e = this.layers[i++];
      if (this.flag(e, 'mask_zero', false)) this.unsupported(e, 'mask_zero (masking the padded steps)');
      const table = this.tensor(e, 'embeddings', null);
      if (table.shape.length !== 2) this.fail(e, `its embeddings have shape [${table.shape.join(', ')}], not [input_dim, output_dim]`);
      this.parameters.set(`${e.name}.weight`, table);
      options.embedding = { numEmbeddings: table.shape[0], embeddingDim: table.shape[1] };
      inputSize = table.shape[1];
    }
    const cores: StackedCoreOptions[] = [];
    let returnSequences = true;
    for (; i < this.layers.length && this.recurrent(this.layers[i]); i++) {
      const layer = this.layers[i];
      if (!returnSequences) this.unsupported(layer, 'a recurrent layer after one that returns only its last output');
      const { core, sequences, width } = this.core(layer, inputSize, cores.length === 0 && !options.embedding);
      if (cores.length === 0 && !options.embedding) options.inputSize = inputSize = core.inputSize;
      cores.push(core.options);
      returnSequences = sequences;
      inputSize = width;
    }
    if (!cores.length) {
      const layer = this.layers[i];
      throw new UnsupportedError(
        `${this.where}: ${layer ? `${describeLayer(layer)} where a recurrent layer should be` : 'the model has no recurrent layer'}; `
          + 'supported: an optional Embedding, then SimpleRNN, LSTM, GRU (or Bidirectional of one), then an optional Dense',
      );
    }
    const [first, ...stack] = cores;
    const { name: core, ...firstOptions } = first;
    const names: Record<string, string> = { core: core! };
    if (options.embedding) names.embedding = this.layers[0].name;
    Object.assign(options, firstOptions, { names });
    if (stack.length) options.stack = stack;
    options.headOn = returnSequences ? 'steps' : 'final';
    if (i < this.layers.length && this.layers[i].className === 'Dense') {
      names.head = this.layers[i].name;
      i = this.head(i, inputSize, options);
    }
    if (i < this.layers.length) {
      const layer = this.layers[i];
      this.unsupported(layer, `${layer.className} layers${layer.className === 'Dense' ? ' after the first Dense' : ''}`);
    }
    const unused = this.entries.filter((e) => !this.used.has(e));
    if (unused.length) throw new FormatError(`${this.where}: weight ${quote(unused[0].name)} belongs to no layer of the model`);
    return { options: options as unknown as RNNOptions, parameters: this.parameters };
  }

  private recurrent(layer: KerasLayer): boolean {
    return RECURRENT.has(layer.className) || layer.className === 'Bidirectional';
  }

  /** A recurrent layer (or a Bidirectional of one) as a core, with its weights under the layer's name. */
  private core(outer: KerasLayer, inputSize: number, first: boolean) {
    const bidirectional = outer.className === 'Bidirectional';
    const inner = bidirectional ? innerLayer(outer, this.where) : outer;
    const c = inner.config;
    const cell = RECURRENT.get(inner.className);
    if (!cell) return this.unsupported(outer, `a Bidirectional of ${inner.className}`);
    for (const [key, label] of [
      ['return_state', 'return_state'],
      ['stateful', 'stateful'],
      ['time_major', 'time_major'],
    ] as const) {
      if (this.flag(inner, key, false)) this.unsupported(inner, label);
    }
    const units = c.units;
    if (!Number.isSafeInteger(units) || (units as number) < 1) this.fail(inner, `units is ${describe(units)}`);
    const H = units as number;
    const G = { rnn: 1, lstm: 4, gru: 3 }[cell];
    const nonlinearity = this.candidate(inner, c.activation);
    const gate = cell === 'rnn' ? null : this.gate(inner, c.recurrent_activation);
    const useBias = this.flag(inner, 'use_bias', true);
    const mergeMode = bidirectional ? this.mergeMode(outer) : 'concat';
    const directions = bidirectional ? (['forward', 'backward'] as const) : [null];
    let resetAfter = cell === 'gru' ? this.resetAfter(inner) : true;
    let size = inputSize;
    directions.forEach((direction, d) => {
      const suffix = `_l0${d === 1 ? '_reverse' : ''}`;
      const kernel = this.tensor(outer, 'kernel', direction);
      const recurrentKernel = this.tensor(outer, 'recurrent_kernel', direction);
      if (kernel.shape.length !== 2 || kernel.shape[1] !== G * H || (!first && kernel.shape[0] !== inputSize)) {
        const rows = first ? 'in' : String(inputSize);
        this.fail(outer, `its kernel has shape [${kernel.shape.join(', ')}], not [${rows}, ${G * H}] (${G} gates of ${H} units)`);
      }
      size = kernel.shape[0];
      if (recurrentKernel.shape.length !== 2 || recurrentKernel.shape[0] !== H || recurrentKernel.shape[1] !== G * H) {
        this.fail(outer, `its recurrent_kernel has shape [${recurrentKernel.shape.join(', ')}], not [${H}, ${G * H}]`);
      }
      this.parameters.set(`${outer.name}.weight_ih${suffix}`, transposed(kernel, cell));
      this.parameters.set(`${outer.name}.weight_hh${suffix}`, transposed(recurrentKernel, cell));
      if (!useBias) return;
      const bias = this.tensor(outer, 'bias', direction);
      const two = bias.shape.length === 2 && bias.shape[0] === 2 && bias.shape[1] === G * H;
      if (!two && !(bias.shape.length === 1 && bias.shape[0] === G * H)) {
        this.fail(outer, `its bias has shape [${bias.shape.join(', ')}], not [${G * H}] (or [2, ${G * H}] for a GRU with reset_after)`);
      }
      if (two && cell !== 'gru') this.fail(outer, `its bias has two rows [2, ${G * H}], which only a GRU with reset_after has`);
      // Keras's GRU with reset_after has an input and a recurrent bias; without, one bias (b_hh is then zero).
      if (two && inner.config.reset_after === false)
        this.fail(outer, 'its bias has two rows, but its configuration says reset_after: false');
      if (two) resetAfter = true;
      const rows = G * H;
      const ih = two ? bias.data.subarray(0, rows) : bias.data;
      const hh = two ? bias.data.subarray(rows) : new Float32Array(rows);
      this.parameters.set(`${outer.name}.bias_ih${suffix}`, { data: reordered(ih, cell, H), shape: [rows] });
      this.parameters.set(`${outer.name}.bias_hh${suffix}`, { data: reordered(hh, cell, H), shape: [rows] });
    });
    const options: StackedCoreOptions & { name: string } = {
      name: outer.name,
      cell,
      hiddenSize: H,
      ...(nonlinearity !== 'tanh' && { nonlinearity }),
      ...(gate && gate !== 'sigmoid' && { recurrentActivation: gate }),
      ...(cell === 'gru' && !resetAfter && { resetAfter: false }),
      ...(!useBias && { bias: false }),
      ...(bidirectional && { bidirectional: true, mergeMode }),
      ...(this.flag(inner, 'go_backwards', false) && { goBackwards: true }),
    };
    const width = bidirectional && mergeMode === 'concat' ? 2 * H : H;
    return { core: { options, inputSize: size }, sequences: this.flag(inner, 'return_sequences', false), width };
  }

  /** The Dense head, and an Activation layer after it; returns the index of the layer after them. */
  private head(i: number, inputSize: number, options: Record<string, unknown>): number {
    const dense = this.layers[i];
    const kernel = this.tensor(dense, 'kernel', null);
    if (kernel.shape.length !== 2 || kernel.shape[0] !== inputSize) {
      this.fail(dense, `its kernel has shape [${kernel.shape.join(', ')}], not [${inputSize}, units]`);
    }
    const O = kernel.shape[1];
    const weight = new Float32Array(O * inputSize);
    for (let r = 0; r < inputSize; r++) for (let o = 0; o < O; o++) weight[o * inputSize + r] = kernel.data[r * O + o];
    this.parameters.set(`${dense.name}.weight`, { data: weight, shape: [O, inputSize] });
    let bias: Tensor = { data: new Float32Array(O), shape: [O] };
    if (this.flag(dense, 'use_bias', true)) {
      bias = this.tensor(dense, 'bias', null);
      if (bias.shape.length !== 1 || bias.shape[0] !== O) this.fail(dense, `its bias has shape [${bias.shape.join(', ')}], not [${O}]`);
    }
    this.parameters.set(`${dense.name}.bias`, bias);
    let activation = this.headActivation(dense, dense.config.activation);
    let next = i + 1;
    const after = this.layers[next];
    if (after?.className === 'Activation') {
      const extra = this.headActivation(after, after.config.activation);
      if (activation !== 'linear' && extra !== 'linear')
        this.unsupported(after, `an Activation '${extra}' after a Dense with '${activation}'`);
      if (extra !== 'linear') activation = extra;
      next++;
    }
    Object.assign(options, { outputSize: O, ...(activation !== 'linear' && { headActivation: activation }) });
    return next;
  }

  private candidate(layer: KerasLayer, value: unknown): 'tanh' | 'relu' {
    const name = activationName(value ?? 'tanh');
    if (name === 'tanh' || name === 'relu') return name;
    return this.unsupported(layer, `activation ${describe(value)} (supported: 'tanh', 'relu')`);
  }

  private gate(layer: KerasLayer, value: unknown): GateActivation {
    // tfjs's default is its hard sigmoid; Keras's (2 and 3) the logistic one.
    const name = activationName(value ?? (this.version.startsWith('tfjs') ? 'hard_sigmoid' : 'sigmoid'));
    if (name === 'sigmoid') return 'sigmoid';
    if (name === 'hardsigmoid') return /^3\./.test(this.version) ? 'hardsigmoid' : 'hard_sigmoid';
    return this.unsupported(layer, `recurrent_activation ${describe(value)} (supported: 'sigmoid', 'hard_sigmoid')`);
  }

  private headActivation(layer: KerasLayer, value: unknown): HeadActivation {
    const name = activationName(value ?? 'linear');
    if (name === 'linear' || name === 'relu' || name === 'tanh' || name === 'sigmoid' || name === 'softmax') return name;
    return this.unsupported(layer, `activation ${describe(value)} (supported: linear, relu, tanh, sigmoid, softmax)`);
  }

  private mergeMode(layer: KerasLayer): 'concat' | 'sum' | 'ave' | 'mul' {
    const mode = layer.config.merge_mode ?? 'concat';
    if (mode === 'concat' || mode === 'sum' || mode === 'ave' || mode === 'mul') return mode;
    return this.unsupported(layer, `merge_mode ${describe(mode)} (supported: 'concat', 'sum', 'ave', 'mul')`);
  }

  /** tfjs's GRU resets before the product and says so; Keras's says reset_after (default true since Keras 2.3). */
  private resetAfter(layer: KerasLayer): boolean {
    return this.flag(layer, 'reset_after', !this.version.startsWith('tfjs'));
  }

  /**
   * The weight `kind` (kernel, recurrent_kernel, bias, embeddings) of a layer, by its manifest name: the layer's
   * name among its components ('gru/gru_cell/kernel', 'lstm_LSTM1/kernel'), and in a Bidirectional the
   * component that says which direction ('forward_lstm_LSTM2').
   */
  private tensor(layer: KerasLayer, kind: string, direction: 'forward' | 'backward' | null): Tensor {
    const found = this.entries.filter((e) => {
      const parts = e.name.split('/');
      if (parts[parts.length - 1] !== kind || !parts.slice(0, -1).includes(layer.name)) return false;
      return direction === null || parts.some((p) => p.startsWith(`${direction}_`) || p === `${direction}_layer`);
    });
    const label = `${direction ? `${direction} ` : ''}${kind}`;
    if (found.length === 0) this.fail(layer, `the weights manifest has no ${label} for it`);
    if (found.length > 1) this.fail(layer, `the weights manifest has ${found.length} tensors that could be its ${label}`);
    this.used.add(found[0]);
    return read(found[0], this.bytes, this.where);
  }

  /** A boolean of the layer's config: absent (or null) is the default, anything but true or false is the file's mistake. */
  private flag(layer: KerasLayer, key: string, fallback: boolean): boolean {
    const value = layer.config[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') this.fail(layer, `${key} is ${describe(value)}, not true or false`);
    return value;
  }

  private fail(layer: KerasLayer, what: string): never {
    throw new FormatError(`${this.where}: ${describeLayer(layer)}: ${what}`);
  }

  private unsupported(layer: KerasLayer, what: string): never {
    throw new UnsupportedError(`${this.where}: ${describeLayer(layer)} uses ${what}, which this library does not support`);
  }
}

/** 'hardSigmoid', 'hard_sigmoid' → 'hardsigmoid'; Keras also writes an activation as { class_name, config }. */
function activationName(value: unknown): string {
  const name = typeof value === 'object' && value !== null ? (value as { class_name?: unknown }).class_name : value;
  return typeof name === 'string' ? name.replaceAll('_', '').toLowerCase() : `${describe(value)}`;
}

const describeLayer = (l: KerasLayer) => `layer ${quote(l.name)} (${l.className})`;

/** The layers in the order data flows: a Sequential's list, or a Functional model's when they form a chain. */
function chain(model: Record<string, unknown>, where: string): KerasLayer[] {
  const className = model.class_name;
  const config = model.config;
  // Keras before 2.2 wrote a Sequential's config as the list itself.
  const list = Array.isArray(config) ? config : object(config, `${where}: the model's config`).layers;
  if (!Array.isArray(list)) throw new FormatError(`${where}: the model's configuration has no list of layers`);
  if (list.length > LIMITS.layers) throw new FormatError(`${where}: ${list.length} layers is past the limit of ${LIMITS.layers}`);
  const layers = list.map((value, i): KerasLayer => {
    const l = object(value, `${where}: layer ${i}`);
    const c = object(l.config, `${where}: layer ${i}'s config`);
    const name = c.name ?? l.name ?? `layer_${i}`;
    if (typeof l.class_name !== 'string' || typeof name !== 'string')
      throw new FormatError(`${where}: layer ${i} has no class_name or name`);
    return { className: l.class_name, name, config: c };
  });
  if (className === 'Sequential') return layers;
  if (className !== 'Model' && className !== 'Functional') {
    throw new UnsupportedError(
      `${where}: a model of class ${describe(className)}; supported: Sequential, and Functional models that are a chain`,
    );
  }
  // A chain: each layer's one input is the layer before it.
  layers.forEach((layer, i) => {
    const from = inboundNames((list[i] as { inbound_nodes?: unknown }).inbound_nodes);
    const ok = i === 0 ? from.length === 0 : from.length === 1 && from[0] === layers[i - 1].name;
    if (!ok) {
      throw new UnsupportedError(
        `${where}: ${describeLayer(layer)} takes ${from.length ? from.map((n) => quote(n)).join(', ') : 'no input'}: only a chain of layers is supported`,
      );
    }
  });
  return layers;
}

/** The names of the layers feeding one, from Keras 2's [[[name, 0, 0, {}]]] or Keras 3's keras_history. */
function inboundNames(nodes: unknown): string[] {
  if (!Array.isArray(nodes)) return [];
  const names: string[] = [];
  const visit = (v: unknown, depth: number): void => {
    if (depth > 8 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      if (typeof v[0] === 'string' && typeof v[1] === 'number') names.push(v[0]);
      else for (const inner of v.slice(0, 64)) visit(inner, depth + 1);
      return;
    }
    const history = (v as { config?: { keras_history?: unknown } }).config?.keras_history;
    if (Array.isArray(history) && typeof history[0] === 'string') names.push(history[0]);
    else for (const inner of Object.values(v).slice(0, 64)) visit(inner, depth + 1);
  };
  visit(nodes, 0);
  return names;
}

function innerLayer(outer: KerasLayer, where: string): KerasLayer {
  const inner = object(outer.config.layer, `${where}: ${describeLayer(outer)}'s layer`);
  const c = object(inner.config, `${where}: ${describeLayer(outer)}'s layer config`);
  if (typeof inner.class_name !== 'string') throw new FormatError(`${where}: ${describeLayer(outer)} wraps a layer without class_name`);
  return { className: inner.class_name, name: typeof c.name === 'string' ? c.name : outer.name, config: c };
}

/** A Keras kernel [in, G·U] as PyTorch's weight [G·U, in], the gate blocks in PyTorch's order. */
function transposed(kernel: Tensor, cell: 'rnn' | 'lstm' | 'gru'): Tensor {
  const [rows, cols] = kernel.shape;
  const G = KERAS_BLOCK[cell].length;
  const H = cols / G;
  const out = new Float32Array(rows * cols);
  KERAS_BLOCK[cell].forEach((keras, j) => {
    for (let u = 0; u < H; u++) {
      const to = (j * H + u) * rows;
      for (let r = 0; r < rows; r++) out[to + r] = kernel.data[r * cols + keras * H + u];
    }
  });
  return { data: out, shape: [cols, rows] };
}

function reordered(bias: Float32Array, cell: 'rnn' | 'lstm' | 'gru', H: number): Float32Array {
  const out = new Float32Array(bias.length);
  KERAS_BLOCK[cell].forEach((keras, j) => out.set(bias.subarray(keras * H, (keras + 1) * H), j * H));
  return out;
}
