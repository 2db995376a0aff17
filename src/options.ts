/**
 * Options a user passes, checked and filled with defaults before anything touches memory. Unknown keys are
 * errors: a misspelt `hiddenSzie` must not silently fall back to a default.
 */
import { bool, checkKeys, nonNegativeInt, numberIn, oneOf, positiveInt, show } from './checks.js';
import { OptionError } from './errors.js';
import { CORE_FIELDS, featureSize } from './layout.js';
import type {
  CellKind,
  CoreConfig,
  EmbeddingConfig,
  GateActivation,
  HeadActivation,
  HeadOn,
  MergeMode,
  ModelConfig,
  PartNames,
} from './types.js';

/**
 * Which kernels run a model: 'wasm' (default) the best that works here, 'wasm-relaxed', 'wasm-simd' or
 * 'wasm-scalar' demanded (an OptionError where impossible), 'js' the pure-JS reference.
 */
export type BackendChoice = 'wasm' | 'wasm-relaxed' | 'wasm-simd' | 'wasm-scalar' | 'js';

/**
 * The WebAssembly builds of the kernels: relaxed SIMD (fused multiply-adds, whose rounding depends on the
 * machine), SIMD, and scalar; and the two SIMD builds over shared memory, for models of more than one thread.
 */
export type WasmBuild = 'relaxed' | 'simd' | 'scalar' | 'simd-threads' | 'relaxed-threads';

/**
 * One WebAssembly build: its URL (a string is resolved against the page's base URL), its bytes, or a module
 * compiled already (e.g. by `WebAssembly.compileStreaming` over a fetch of your own).
 */
export type WasmSource = string | URL | ArrayBuffer | ArrayBufferView | WasmModule;

/**
 * `WebAssembly.Module` where the project's libraries declare it (DOM, WebWorker), any object where they do not: a
 * Node project compiles these types without `lib: ["dom"]`, whose `WebAssembly` namespace @types/node lacks.
 */
export type WasmModule =
  typeof globalThis extends Record<'WebAssembly', Record<'Module', abstract new (...args: never) => infer M>> ? M : object;

/** Where each build comes from; a build left out is looked for beside the library's module. */
export interface WasmSources {
  /** The relaxed-SIMD build (rnn-relaxed.wasm), for engines with relaxed SIMD. */
  relaxed?: WasmSource | undefined;
  /** The SIMD build (rnn-simd.wasm). */
  simd?: WasmSource | undefined;
  /** The scalar build (rnn-scalar.wasm), for engines without SIMD. */
  scalar?: WasmSource | undefined;
  /** The SIMD build over shared memory (rnn-simd-threads.wasm), for models of more than one thread. */
  'simd-threads'?: WasmSource | undefined;
  /** The relaxed-SIMD build over shared memory (rnn-relaxed-threads.wasm). */
  'relaxed-threads'?: WasmSource | undefined;
}

/** What `RNN.create` asks of the backends: which one, and where the WebAssembly builds come from. */
export interface BackendRequest {
  choice: BackendChoice;
  wasm: WasmSources;
  /** Threads wanted: 1, a count, or 'auto' (one per core, up to MAX_THREADS). */
  threads: number | 'auto';
}

/** The most threads a model runs on: past this, a step's work per thread is too small to pay for meeting. */
export const MAX_THREADS = 16;

/** An embedding in front of the recurrent core, as PyTorch's `nn.Embedding(numEmbeddings, embeddingDim, padding_idx)`. */
export interface EmbeddingOptions {
  /** Rows of the table: the vocabulary size. */
  numEmbeddings: number;
  /** Width of each row, which is the core's input size. */
  embeddingDim: number;
  /** The id whose row gets no gradient (and starts at zero), as PyTorch's padding_idx; none when omitted. */
  paddingIdx?: number | null | undefined;
}

/** A recurrent core's options: the first core's are top-level options of `RNN.create`, each further core's an entry of `stack`. */
export interface CoreOptions {
  /** The recurrent cell: 'rnn' (Elman, default), 'lstm' or 'gru', with PyTorch's equations and gate order. */
  cell?: CellKind | undefined;
  /** Width of each layer's state, H (PyTorch's hidden_size, Keras's units). */
  hiddenSize: number;
  /** Stacked layers of this cell (default 1). */
  numLayers?: number | undefined;
  /** Run a second direction backwards in time and concatenate (default false). */
  bidirectional?: boolean | undefined;
  /**
   * The Elman cell's f in h' = f(W_ih x + b_ih + W_hh h + b_hh), and the LSTM's and GRU's candidate and
   * cell-output function (Keras's `activation`): 'tanh' (default) or 'relu'.
   */
  nonlinearity?: 'tanh' | 'relu' | undefined;
  /** The LSTM's and GRU's gate function (Keras's `recurrent_activation`): 'sigmoid' (default), 'hard_sigmoid' or 'hardsigmoid'. */
  recurrentActivation?: GateActivation | undefined;
  /**
   * GRU only: true (default) applies the reset gate to the recurrent product, r ⊙ (W_hn h + b_hn), as PyTorch,
   * Keras's `reset_after=True` and ONNX's `linear_before_reset=1`; false applies it to the state first,
   * W_hn (r ⊙ h) + b_hn, as TensorFlow.js's GRU and Keras's `reset_after=False`.
   */
  resetAfter?: boolean | undefined;
  /** Whether the recurrent layers have b_ih and b_hh (default true). */
  bias?: boolean | undefined;
  /** Read each sequence from its end, and return the outputs in that reversed order, as Keras's `go_backwards` (default false). */
  goBackwards?: boolean | undefined;
  /**
   * A unidirectional core that runs backwards in time alone, its outputs in the input's order (a bidirectional
   * core's reverse direction by itself; ONNX's `direction: "reverse"`); its final state is after t = 0 (default false).
   */
  reverse?: boolean | undefined;
  /** Bidirectional only: how the last layer's two directions are joined (default 'concat', side by side; or element-wise 'sum', 'ave', 'mul'). */
  mergeMode?: MergeMode | undefined;
}

/** A core after the first: its own options, and the module name of its parameters (default the first core's name and its position, 'rnn1', 'rnn2', …). */
export interface StackedCoreOptions extends CoreOptions {
  /** The module name its parameters live under. */
  name?: string | undefined;
}

/** The options of `RNN.create`: the architecture (PyTorch's names, camelCased), the seed, and where the kernels come from. */
export interface RNNOptions extends Omit<CoreOptions, 'hiddenSize'> {
  /** Width of each input vector; with an embedding, omit it (it is the embedding's dimension). */
  inputSize?: number | undefined;
  /** Width of each layer's state, H (PyTorch's hidden_size). */
  hiddenSize: number;
  /**
   * Token ids in instead of vectors: an embedding table of `numEmbeddings` rows of `embeddingDim` in front of the
   * core. Inputs are then ids [T, B] ([B, T] with batchFirst).
   */
  embedding?: EmbeddingOptions | undefined;
  /**
   * Further cores after the first, each reading the outputs of the one before: a stack of layers that differ in
   * cell, size or options (a Keras Sequential of several recurrent layers). A model with a stack starts from
   * zero states; its `hN` and `cN` are its last core's.
   */
  stack?: readonly StackedCoreOptions[] | undefined;
  /** Size of the linear head y = W h + b; omit or 0 for none. */
  outputSize?: number | undefined;
  /** The function on the head's output (default 'linear'; 'relu', 'tanh', 'sigmoid', 'softmax' as Keras's Dense). */
  headActivation?: HeadActivation | undefined;
  /**
   * Where the head reads the core: 'steps' (default) at every step, y [T, B, O]; 'final' once per sequence from
   * the last layer's final state (both directions' concatenated, PyTorch's `cat(h_n[-2], h_n[-1])`), y [B, O].
   * Without a head, 'final' makes y those final states [B, D·H] (Keras's `return_sequences=False`).
   */
  headOn?: HeadOn | undefined;
  /** The head shares the embedding's weight (needs outputSize = numEmbeddings and D·H = embeddingDim). */
  tieWeights?: boolean | undefined;
  /**
   * The module names of the parts in `stateDict()` and in files (default: embedding 'embedding', core 'rnn',
   * head 'head'), e.g. word_language_model's `{ embedding: 'encoder', core: 'rnn', head: 'decoder' }`.
   */
  names?: Partial<PartNames> | undefined;
  /** Inputs and outputs as [B, T, F] instead of time-major [T, B, F] (default false). */
  batchFirst?: boolean | undefined;
  /**
   * Dropout on the outputs of every layer but the last, with this probability, in training only
   * (`gradients`, `step`, `train`), scaled by 1/(1-p) as in PyTorch (default 0).
   */
  dropout?: number | undefined;
  /** Seed of the model's generator: initial weights, shuffling, sampling (default 0). */
  seed?: number | undefined;
  /**
   * 'wasm' (default) picks the relaxed-SIMD build where the engine supports relaxed SIMD, else the SIMD build,
   * else the scalar build, and the pure-JS kernels where WebAssembly is absent or refused; `net.backend` tells
   * which runs. 'wasm-simd' is the build whose results do not depend on the machine.
   */
  backend?: BackendChoice | undefined;
  /**
   * Where the WebAssembly builds come from when not from beside the library's module: a folder URL ending in
   * '/' that holds rnn-relaxed.wasm, rnn-simd.wasm and rnn-scalar.wasm (a CDN, a custom path), or each build's
   * URL or bytes.
   */
  wasm?: string | URL | WasmSources | undefined;
  /**
   * Threads that run the kernels (default 1): a count up to 16, or 'auto' for one per core up to 4. More than
   * one needs the SIMD build and shared memory: Node, or a cross-origin-isolated page's worker (`WorkerRNN`).
   * Where they cannot run the model runs on one thread and says why once (console.warn); `net.threads` tells.
   * Results are the same bit for bit on any number of threads.
   */
  threads?: number | 'auto' | undefined;
}

const MODEL_KEYS = [
  ...CORE_FIELDS,
  'inputSize',
  'stack',
  'embedding',
  'outputSize',
  'headActivation',
  'headOn',
  'tieWeights',
  'names',
  'batchFirst',
  'dropout',
  'seed',
  'backend',
  'wasm',
  'threads',
] as const;

/**
 * Sizes past which no model fits any backend's 4 GiB heap, checked before anything is sized from them: a file
 * that claims ten million layers is refused here, not after a layout entry was built for each.
 */
const LIMITS = { size: 1 << 24, layers: 4096 };

/** Where a loaded model runs; everything else comes from the file. */
export type LoadOptions = Pick<RNNOptions, 'backend' | 'wasm' | 'threads'>;

/** LoadOptions' names: every loader takes them beside the file, and no file names them. */
export const WHERE_IT_RUNS = ['backend', 'wasm', 'threads'] as const satisfies readonly (keyof LoadOptions)[];

/** The options of WHERE_IT_RUNS among a loader's. */
export function whereItRuns(options: LoadOptions): LoadOptions {
  return { backend: options.backend, wasm: options.wasm, threads: options.threads };
}

/** The behaviours of the cells and the head that a PyTorch model has, where other formats' may differ. */
export const PYTORCH_BEHAVIOUR = Object.freeze({
  recurrentActivation: 'sigmoid',
  resetAfter: true,
  goBackwards: false,
  reverse: false,
  mergeMode: 'concat',
  stack: Object.freeze([]),
  headActivation: 'linear',
} as const);

export const DEFAULT_NAMES: PartNames = Object.freeze({ embedding: 'embedding', core: 'rnn', head: 'head' });

export function modelConfig(options: RNNOptions): { config: ModelConfig; backend: BackendRequest } {
  checkKeys(options, MODEL_KEYS, 'RNN.create');
  const o = options as RNNOptions;
  const embedding = embeddingConfig(o.embedding);
  const outputSize = o.outputSize === undefined || o.outputSize === 0 ? 0 : size(o.outputSize, 'outputSize');
  const names = partNames(o.names);
  const { name: _, cell, ...first } = coreConfig(o as CoreOptions, names.core, '');
  // The order files write the configuration in: the cell and the sizes first, as before the cell options came.
  const config: ModelConfig = {
    cell,
    inputSize: embedding && o.inputSize === undefined ? embedding.embeddingDim : size(o.inputSize, 'inputSize'),
    ...first,
    stack: stackConfig(o.stack, names),
    outputSize,
    headActivation: oneOf(o.headActivation ?? 'linear', HEAD_ACTIVATIONS, 'headActivation'),
    headOn: oneOf(o.headOn ?? 'steps', ['steps', 'final'] as const, 'headOn'),
    tieWeights: bool(o.tieWeights ?? false, 'tieWeights'),
    embedding,
    names,
    batchFirst: bool(o.batchFirst ?? false, 'batchFirst'),
    dropout: numberIn(o.dropout ?? 0, 'dropout', { min: 0, max: 1, below: true }),
    seed: seed(o.seed ?? 0, 'seed'),
  };
  checkConsistent(config);
  const choice = oneOf(o.backend ?? 'wasm', ['wasm', 'wasm-relaxed', 'wasm-simd', 'wasm-scalar', 'js'] as const, 'backend');
  return { config, backend: { choice, wasm: wasmSources(o.wasm), threads: threadsOption(o.threads) } };
}

const HEAD_ACTIVATIONS = ['linear', 'relu', 'tanh', 'sigmoid', 'softmax'] as const;

/** One core's options, checked, with `where` ('' or 'stack[1].') naming them in errors. */
function coreConfig(o: CoreOptions, name: string, where: string): CoreConfig {
  const cell = oneOf(o.cell ?? 'rnn', ['rnn', 'lstm', 'gru'] as const, `${where}cell`);
  const core: CoreConfig = {
    name,
    cell,
    hiddenSize: size(o.hiddenSize, `${where}hiddenSize`),
    numLayers: positiveInt(o.numLayers ?? 1, `${where}numLayers`),
    bidirectional: bool(o.bidirectional ?? false, `${where}bidirectional`),
    nonlinearity: oneOf(o.nonlinearity ?? 'tanh', ['tanh', 'relu'] as const, `${where}nonlinearity`),
    recurrentActivation: oneOf(
      o.recurrentActivation ?? 'sigmoid',
      ['sigmoid', 'hard_sigmoid', 'hardsigmoid'] as const,
      `${where}recurrentActivation`,
    ),
    resetAfter: bool(o.resetAfter ?? true, `${where}resetAfter`),
    bias: bool(o.bias ?? true, `${where}bias`),
    goBackwards: bool(o.goBackwards ?? false, `${where}goBackwards`),
    reverse: bool(o.reverse ?? false, `${where}reverse`),
    mergeMode: oneOf(o.mergeMode ?? 'concat', ['concat', 'sum', 'ave', 'mul'] as const, `${where}mergeMode`),
  };
  if (core.numLayers > LIMITS.layers) throw new OptionError(`${where}numLayers ${core.numLayers} is past the limit of ${LIMITS.layers}`);
  if (cell === 'rnn' && o.recurrentActivation !== undefined) {
    throw new OptionError(`${where}recurrentActivation is the gates' function; an 'rnn' cell has no gates`);
  }
  if (cell !== 'gru' && o.resetAfter !== undefined) throw new OptionError(`${where}resetAfter applies to 'gru' cells only, not '${cell}'`);
  if (core.bidirectional && core.reverse) throw new OptionError(`${where}reverse runs one direction alone; a bidirectional core runs both`);
  if (!core.bidirectional && core.mergeMode !== 'concat') {
    throw new OptionError(`${where}mergeMode '${core.mergeMode}' joins two directions: it needs bidirectional: true`);
  }
  return core;
}

function stackConfig(value: unknown, names: PartNames): readonly CoreConfig[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new OptionError(`stack must be an array of core options, got ${show(value)}`);
  if (value.length > LIMITS.layers) throw new OptionError(`stack of ${value.length} cores is past the limit of ${LIMITS.layers}`);
  const used = new Set([names.embedding, names.core, names.head]);
  return Object.freeze(
    value.map((entry: unknown, i) => {
      const where = `stack[${i}].`;
      checkKeys(entry, [...CORE_FIELDS, 'name'], `stack[${i}]`);
      const { name = `${names.core}${i + 1}` } = entry as StackedCoreOptions;
      moduleName(name, `${where}name`);
      if (used.has(name)) throw new OptionError(`${where}name '${name}' is already another part's module name`);
      used.add(name);
      return Object.freeze(coreConfig(entry as CoreOptions, name, where));
    }),
  );
}

/** A seed of the 32-bit generator: an integer in [0, 2³²), never wrapped around. */
export function seed(value: unknown, name: string): number {
  const n = nonNegativeInt(value, name);
  if (n > 0xffffffff) throw new OptionError(`${name} must be below 2³² (the generator's state is 32 bits), got ${n}`);
  return n;
}

/** A size of a tensor dimension: a positive integer below the limit. */
function size(value: unknown, name: string): number {
  const n = positiveInt(value, name);
  if (n > LIMITS.size) throw new OptionError(`${name} ${n} is past the limit of ${LIMITS.size}`);
  return n;
}

function embeddingConfig(value: unknown): EmbeddingConfig | null {
  if (value === undefined || value === null) return null;
  checkKeys(value, ['numEmbeddings', 'embeddingDim', 'paddingIdx'], 'embedding');
  const e = value as EmbeddingOptions;
  const numEmbeddings = size(e.numEmbeddings, 'embedding.numEmbeddings');
  let paddingIdx: number | null = null;
  if (e.paddingIdx !== undefined && e.paddingIdx !== null) {
    const p: unknown = e.paddingIdx;
    if (!Number.isSafeInteger(p) || (p as number) < -numEmbeddings || (p as number) >= numEmbeddings) {
      throw new OptionError(`embedding.paddingIdx must be an id in [-${numEmbeddings}, ${numEmbeddings}), got ${show(p)}`);
    }
    paddingIdx = ((p as number) + numEmbeddings) % numEmbeddings; // PyTorch counts a negative padding_idx from the end
  }
  return { numEmbeddings, embeddingDim: size(e.embeddingDim, 'embedding.embeddingDim'), paddingIdx };
}

function partNames(value: unknown): PartNames {
  if (value === undefined) return DEFAULT_NAMES;
  checkKeys(value, ['embedding', 'core', 'head'], 'names');
  const names = { ...DEFAULT_NAMES, ...(value as Partial<PartNames>) };
  for (const part of ['embedding', 'core', 'head'] as const) moduleName(names[part], `names.${part}`);
  const used = [names.embedding, names.core, names.head];
  if (new Set(used).size < 3) throw new OptionError(`names: the parts need different names, got ${JSON.stringify(names)}`);
  return Object.freeze(names);
}

function moduleName(name: unknown, option: string): void {
  // A prefix is joined to the parameter names with '.', so it can be empty (bare PyTorch names) or dotted.
  if (typeof name !== 'string' || name.length > 200 || /^\.|\.$|\.\./.test(name)) {
    throw new OptionError(`${option} must be a module name such as 'rnn' or 'encoder.gru', got ${show(name)}`);
  }
}

/** What the options say together: each combination that cannot be meant is refused, naming both halves. */
function checkConsistent(c: ModelConfig): void {
  const layers = c.stack.reduce((n, core) => n + core.numLayers, c.numLayers);
  if (layers > LIMITS.layers)
    throw new OptionError(`${layers} layers in all (numLayers and the stack's) is past the limit of ${LIMITS.layers}`);
  if (c.dropout > 0 && c.numLayers === 1 && !c.stack.length) {
    throw new OptionError('dropout applies between stacked layers; with numLayers 1 it would do nothing');
  }
  if (c.embedding && c.inputSize !== c.embedding.embeddingDim) {
    throw new OptionError(
      `inputSize ${c.inputSize} differs from embedding.embeddingDim ${c.embedding.embeddingDim}, `
        + "which is the core's input; omit inputSize",
    );
  }
  if (c.headActivation !== 'linear' && !c.outputSize)
    throw new OptionError(`headActivation '${c.headActivation}' needs a head: give outputSize`);
  if (c.tieWeights) {
    const e = c.embedding;
    const width = featureSize(c);
    if (!e || c.outputSize !== e.numEmbeddings || width !== e.embeddingDim) {
      throw new OptionError(
        "tieWeights shares the embedding's [numEmbeddings, embeddingDim] weight with the head "
          + `[outputSize, D·H]: it needs an embedding, outputSize = numEmbeddings and D·H = embeddingDim; got `
          + `${e ? `[${e.numEmbeddings}, ${e.embeddingDim}]` : 'no embedding'} and [${c.outputSize}, ${width}]`,
      );
    }
  }
}

function threadsOption(value: unknown): number | 'auto' {
  if (value === undefined || value === 'auto') return value ?? 1;
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > MAX_THREADS) {
    throw new OptionError(`threads must be an integer from 1 to ${MAX_THREADS} or 'auto', got ${show(value)}`);
  }
  return value as number;
}

export const WASM_BUILDS = ['relaxed', 'simd', 'scalar', 'simd-threads', 'relaxed-threads'] as const satisfies readonly WasmBuild[];

function wasmSources(value: unknown): WasmSources {
  if (value === undefined) return {};
  if (typeof value === 'string' || value instanceof URL) {
    const folder = String(value);
    if (!folder.endsWith('/')) {
      throw new OptionError(`wasm: a folder URL must end with '/', got '${folder}'; to name each file, pass { relaxed, simd, scalar }`);
    }
    return Object.fromEntries(WASM_BUILDS.map((build) => [build, `${folder}rnn-${build}.wasm`]));
  }
  checkKeys(value, WASM_BUILDS, 'wasm');
  const sources: WasmSources = {};
  for (const build of WASM_BUILDS) {
    const source = (value as WasmSources)[build];
    if (source === undefined) continue;
    const isModule = typeof WebAssembly === 'object' && source instanceof WebAssembly.Module;
    if (!(typeof source === 'string' || source instanceof URL || source instanceof ArrayBuffer || ArrayBuffer.isView(source) || isModule)) {
      throw new OptionError(
        `wasm.${build} must be a URL (string or URL), bytes (ArrayBuffer or typed array) or a `
          + `WebAssembly.Module, got ${source === null ? 'null' : ((source as object).constructor?.name ?? typeof source)}`,
      );
    }
    sources[build] = source;
  }
  return sources;
}
