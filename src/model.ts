/**
 * The RNN class, the library's public face: it checks every input (inputs.ts, options.ts), calls the engine,
 * and copies results out. It owns nothing but its engine, so a call that fails its checks has changed nothing,
 * and the engine's own calls undo what they did when they fail.
 */
import type { BackendName } from './backend.js';
import { CELLS } from './cells.js';
import { DisposedError, OptionError } from './errors.js';
import { Engine } from './engine.js';
import { type GenerateOptions, type GenerateResult, generateSequence } from './generate.js';
import { checkBatch, checkOut, checkStateDict, checkStates, checkStepInput, checkTarget } from './inputs.js';
import { type LoadOptions, decodeCheckpoint, encodeCheckpoint } from './io/checkpoint.js';
import { configToJSON } from './io/format.js';
import { type ModelJSON, snapshotFromJSON, snapshotToJSON } from './io/model-json.js';
import { type FileSource, readSource } from './io/source.js';
import { type SafetensorsOptions, decodeWeights, encodeWeights } from './io/weights.js';
import { featureSize, outputWidth, stateCore, stateShape } from './layout.js';
import { checkOptimizerSnapshot } from './optimizers.js';
import { type RNNOptions, WHERE_IT_RUNS, modelConfig } from './options.js';
import { bool, checkKeys, nonNegativeInt } from './checks.js';
import { clipping, lossKind } from './step-options.js';
import { optimizerConfig } from './optimizers.js';
import { type Sample, type TrainHistory, type TrainOptions, trainLoop } from './train.js';
import type {
  CellOptions,
  CellResult,
  CellState,
  GradientsResult,
  LossOptions,
  ModelConfig,
  OptimizerSnapshot,
  Snapshot,
  StepOptions,
  StepResult,
  Tensor,
  TensorInput,
  UnrollOptions,
  UnrollResult,
} from './types.js';

/** The names `cell`'s errors give its states. */
const STATE_NAMES: [string, string] = ['h', 'c'];

/** A recurrent network (an optional embedding, a stack of RNN, LSTM or GRU layers, an optional linear head) with its weights, optimizer state and generator in one WebAssembly memory. Made by `RNN.create`, `RNN.load`, `RNN.fromJSON` or `RNN.fromSafetensors`; freed by `dispose()`. */
export class RNN {
  /** The configuration, every default filled in (frozen). */
  readonly config: ModelConfig;
  /**
   * Strings of yours that `save()` and `toJSON()` write with the model and `RNN.load` / `RNN.fromJSON` give back:
   * a vocabulary, a normalisation, a run's history (each as text, say JSON). Empty for a new model.
   */
  metadata: Record<string, string> = {};
  #engine: Engine | null;

  private constructor(engine: Engine) {
    this.config = Object.freeze({ ...engine.config });
    this.#engine = engine;
  }

  /** Creates a model with PyTorch's default initialisation drawn from a seeded generator. */
  static async create(options: RNNOptions): Promise<RNN> {
    const { config, backend } = modelConfig(options);
    return new RNN(await Engine.create(config, backend));
  }

  /** Which implementation runs this model's kernels. */
  get backend(): BackendName {
    return this.engine.backend;
  }

  /** Threads that run this model's kernels: the `threads` option where it could be met, else 1. */
  get threads(): number {
    return this.engine.heap.threads;
  }

  /** Number of trainable parameters (a tied weight counted once). */
  get numParameters(): number {
    return this.engine.layout.count;
  }

  /** Whether `dispose()` has been called. */
  get disposed(): boolean {
    return this.#engine === null;
  }

  // ---- inference -------------------------------------------------------------------------------------------

  /** Runs the model over whole sequences: [T, B, I] vectors, or [T, B] token ids with an embedding ([B, T, ·] with batchFirst). */
  unroll(input: TensorInput, options: UnrollOptions = {}): UnrollResult {
    checkKeys(options, ['h0', 'c0', 'lengths', 'training', 'out'], 'unroll');
    const engine = this.engine;
    const c = this.config;
    const batch = checkBatch(c, input, options.lengths);
    const { T, B } = batch;
    if (options.training !== undefined && typeof options.training !== 'boolean') {
      throw new OptionError(`unroll: training must be true or false, got ${String(options.training)}`);
    }
    const init = checkStates(c, options, B);
    const states = stateShape(c, B).reduce((a, b) => a * b);
    const yRows = c.headOn === 'final' ? B : T * B;
    const out = checkOut(options.out, 'unroll', {
      output: T * B * featureSize(c),
      y: yRows * outputWidth(c),
      hN: states,
      ...(CELLS[stateCore(c).cell].cellState && { cN: states }),
    });
    return engine.unroll(batch, init, options.training ?? false, out);
  }

  /**
   * One time step for a batch: input [B, I] (ids [B] with an embedding) and the previous state (`h`, and `c`
   * for an LSTM, each [L, B, H]; zeros when omitted). The result holds the new state, so `state = net.cell(x,
   * state)` streams a sequence with the same numbers as `unroll`.
   */
  cell(input: TensorInput, state: CellState = {}, options: CellOptions = {}): CellResult {
    const engine = this.engine;
    const c = this.config;
    if (c.bidirectional || c.goBackwards || c.reverse || c.stack.length) {
      const which = c.stack.length
        ? 'a model with a stack of cores'
        : c.bidirectional
          ? 'a bidirectional model'
          : 'a model reading backwards';
      throw new OptionError(`cell() steps forward in time, but ${which} needs the whole sequence: use unroll()`);
    }
    if (state === null || typeof state !== 'object') throw new OptionError('cell: the state must be an object { h, c }');
    checkKeys(options, ['out'], 'cell');
    const x = checkStepInput(c, input);
    const init = checkStates(c, { h0: state.h, c0: state.c }, x.B, 'h', 'c', false);
    const states = c.numLayers * x.B * c.hiddenSize;
    const out = checkOut(options.out, 'cell', {
      output: x.B * c.hiddenSize,
      y: x.B * outputWidth(c),
      h: states,
      ...(CELLS[c.cell].cellState && { c: states }),
    });
    return engine.cell(x.data, x.B, init, STATE_NAMES, out);
  }

  /**
   * One-to-many generation: runs the prompt, then feeds each prediction back. With an embedding, prompt and
   * result are token ids, each next id drawn from the head's logits (greedy at temperature 0, top-k, top-p);
   * otherwise each prediction is fed back as it is, or (`sample`) as the one-hot encoding of a drawn class.
   */
  generate(prompt: TensorInput, options: GenerateOptions): GenerateResult {
    return generateSequence(this.engine, prompt, options);
  }

  // ---- training --------------------------------------------------------------------------------------------

  /**
   * The loss and its gradient with respect to every parameter, the input and h0, by backpropagation through
   * time. The target's rank picks the sequence shape: MSE [T, B, O] or class ids [T, B] put the loss on every
   * step (many-to-many); MSE [B, O] or ids [B] on the last step only (many-to-one), or on the head's output
   * with `headOn: 'final'`.
   */
  gradients(input: TensorInput, target: TensorInput, options: LossOptions = {}): GradientsResult {
    checkKeys(options, ['loss', 'h0', 'c0', 'lengths'], 'gradients');
    const engine = this.engine;
    const x = checkBatch(this.config, input, options.lengths);
    const t = checkTarget(this.config, target, lossKind(options.loss), x.T, x.B);
    return engine.gradients(x, checkStates(this.config, options, x.B), t);
  }

  /**
   * The loss alone, in inference mode (no dropout, no gradients): for validation. With `withState: true`, also
   * the state after the batch (`hN`, `cN`), to carry into the next chunk of a long sequence as `h0`, `c0`.
   */
  evaluate(input: TensorInput, target: TensorInput, options?: LossOptions & { withState?: false | undefined }): number;
  evaluate(input: TensorInput, target: TensorInput, options: LossOptions & { withState: true }): EvaluateResult;
  evaluate(input: TensorInput, target: TensorInput, options: LossOptions & { withState?: boolean } = {}): number | EvaluateResult {
    checkKeys(options, ['loss', 'h0', 'c0', 'lengths', 'withState'], 'evaluate');
    const engine = this.engine;
    const c = this.config;
    const withState = bool(options.withState ?? false, 'evaluate.withState');
    const x = checkBatch(c, input, options.lengths);
    const t = checkTarget(c, target, lossKind(options.loss), x.T, x.B);
    const result = engine.evaluate(x, checkStates(c, options, x.B), t, withState);
    return withState ? (result as EvaluateResult) : result.loss;
  }

  /**
   * One optimizer step on one batch: forward, loss, BPTT, optional clipping, update. If the loss, a gradient
   * or the update would not be finite, throws NonFiniteError and leaves the model exactly as it was.
   */
  step(input: TensorInput, target: TensorInput, options: StepOptions = {}): StepResult {
    checkKeys(options, ['loss', 'h0', 'c0', 'lengths', 'optimizer', 'clipGradNorm', 'clipGradValue'], 'step');
    const engine = this.engine;
    const c = this.config;
    const x = checkBatch(c, input, options.lengths);
    const t = checkTarget(c, target, lossKind(options.loss), x.T, x.B);
    return engine.step(x, checkStates(c, options, x.B), t, optimizerConfig(options.optimizer), clipping(options));
  }

  /**
   * Epochs of mini-batch training over a dataset of sequences, each `{ input, target }`: input [T, I] (token ids
   * [T] with an embedding), target [T, O] / [O] (MSE) or [T] / one id (cross-entropy). Sequences of different
   * lengths go into different batches. Resolves to the loss history; if it throws, the model is as it was before.
   */
  async train(data: readonly Sample[], options: TrainOptions = {}): Promise<TrainHistory> {
    return trainLoop(this.engine, data, options);
  }

  /** Forgets the optimizer's moments and step count; the next step starts afresh. */
  resetOptimizer(): void {
    this.engine.optimizerMemory.forget();
  }

  /**
   * A copy of the optimizer's state, for checkpoints: its configuration, step count and state tensors (each
   * `numParameters` long, in parameter order), or null before the first step.
   */
  optimizerState(): OptimizerSnapshot | null {
    return this.engine.optimizerMemory.snapshot();
  }

  /** Restores what `optimizerState()` returned (null forgets the state). Checked in full before anything is written. */
  loadOptimizerState(snapshot: OptimizerSnapshot | null): void {
    const engine = this.engine;
    engine.optimizerMemory.load(snapshot === null ? null : checkOptimizerSnapshot(snapshot, engine.layout.count, 'loadOptimizerState'));
  }

  /** The state of the model's generator (shuffling, sampling, dropout), so that a resumed run draws the same numbers. */
  get generatorState(): number {
    return this.engine.random.state;
  }

  /** Restores a state that `generatorState` returned (an integer below 2³²). */
  set generatorState(state: number) {
    const engine = this.engine;
    const value = nonNegativeInt(state, 'generatorState');
    if (value > 0xffffffff) throw new OptionError(`generatorState must be below 2³², got ${value}`);
    engine.random.state = value;
  }

  // ---- weights ---------------------------------------------------------------------------------------------

  /** Every parameter under its PyTorch name (`rnn.weight_ih_l0`, …), copied; a tied weight under both of its names. */
  stateDict(): Record<string, Tensor> {
    return this.engine.stateDict();
  }

  /**
   * Replaces every parameter, from PyTorch's `state_dict` under this model's names (the core's may be left off:
   * `weight_ih_l0`; a tied weight under either name or both). Every parameter must be present with its exact
   * shape and finite values, or nothing is written.
   */
  loadStateDict(dict: Readonly<Record<string, TensorInput>>): void {
    const engine = this.engine;
    engine.writeParameters(checkStateDict(engine.layout, this.config.names.core, dict, 'loadStateDict'));
  }

  /** Frees the model's memory. Any later call throws DisposedError. */
  dispose(): void {
    this.#engine?.dispose();
    this.#engine = null;
  }

  // ---- files -----------------------------------------------------------------------------------------------

  /**
   * A model from PyTorch weights in a `.safetensors` file (its bytes, or its path in Node). The parts and their
   * sizes come from the tensors' names and shapes (`names` when the structure is ambiguous); what tensors cannot
   * tell (nonlinearity, headOn, batchFirst, paddingIdx, dropout, seed) from `options`, else from the file's
   * metadata when this library wrote it.
   */
  static async fromSafetensors(source: FileSource, options: SafetensorsOptions = {}): Promise<RNN> {
    const bytes = await readSource(source, 'RNN.fromSafetensors');
    const { snapshot, load } = decodeWeights(bytes, options);
    return RNN.fromSnapshot(snapshot, load);
  }

  /** The weights as safetensors in PyTorch's `state_dict` layout (a tied weight once), with the configuration in `__metadata__`. */
  toSafetensors(): Uint8Array {
    return encodeWeights(this.snapshot());
  }

  /**
   * A checkpoint (safetensors): configuration, weights, optimizer state and generator state, bit for bit, and
   * `metadata` (default: the model's own `metadata`), which `RNN.load` gives back as the model's.
   */
  save(options: { metadata?: Readonly<Record<string, string>> | undefined } = {}): Uint8Array {
    checkKeys(options, ['metadata'], 'save');
    return encodeCheckpoint({ ...this.snapshot(), metadata: checkMetadata(options.metadata ?? this.metadata) });
  }

  /** A model from `save()`'s bytes (or, in Node, a path): training resumed from it continues exactly. */
  static async load(source: FileSource, options: LoadOptions = {}): Promise<RNN> {
    checkKeys(options, WHERE_IT_RUNS, 'RNN.load');
    return RNN.fromSnapshot(decodeCheckpoint(await readSource(source, 'RNN.load')), options);
  }

  /** The checkpoint as a plain object, so that `JSON.stringify(net)` writes it; `RNN.fromJSON` reads it back. */
  toJSON(): ModelJSON {
    return snapshotToJSON(this.snapshot());
  }

  /** A model from `toJSON()`'s object or its JSON text, bit for bit like `load`. */
  static async fromJSON(json: string | ModelJSON, options: LoadOptions = {}): Promise<RNN> {
    checkKeys(options, WHERE_IT_RUNS, 'RNN.fromJSON');
    return RNN.fromSnapshot(snapshotFromJSON(json), options);
  }

  /** Everything `save()` writes, copied out of the engine. @internal */
  private snapshot(): Snapshot {
    const engine = this.engine;
    const values = engine.stateDict();
    const parameters = new Map(engine.layout.specs.map((spec) => [spec.name, values[spec.name]]));
    return {
      config: this.config,
      parameters,
      optimizer: engine.optimizerMemory.snapshot(),
      generator: engine.random.state,
      metadata: checkMetadata(this.metadata),
    };
  }

  /** A model made from a snapshot the codec has checked whole; nothing is left behind when that fails. @internal */
  private static async fromSnapshot(snapshot: Snapshot, options: LoadOptions): Promise<RNN> {
    const net = await RNN.create({ ...configToJSON(snapshot.config), ...options });
    try {
      const engine = net.engine;
      engine.writeParameters(new Map([...snapshot.parameters].map(([name, t]) => [name, t.data])));
      engine.optimizerMemory.load(snapshot.optimizer);
      engine.random.state = snapshot.generator;
      net.metadata = { ...snapshot.metadata };
      return net;
    } catch (error) {
      net.dispose();
      throw error;
    }
  }

  /** The live engine, or DisposedError. @internal */
  private get engine(): Engine {
    if (!this.#engine) throw new DisposedError('this model was disposed; create a new one');
    return this.#engine;
  }
}

/** The state after an `evaluate` call with `withState: true`. */
export interface EvaluateResult {
  /** The mean loss over the batch. */
  loss: number;
  /** The state after the batch, [L·D, B, H]. */
  hN: Tensor;
  /** LSTM only: the cell state likewise. */
  cN?: Tensor | undefined;
}

/** The user's metadata: an object of strings (copied, so that later changes to it do not reach a file). */
function checkMetadata(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new OptionError(`metadata must be an object of strings, got ${value === null ? 'null' : typeof value}`);
  }
  const entries = Object.entries(value);
  for (const [key, v] of entries) {
    if (typeof v !== 'string') throw new OptionError(`metadata.${key} must be a string, got ${typeof v}`);
  }
  if (entries.length > 4096) throw new OptionError(`metadata has ${entries.length} entries; at most 4096 are kept`);
  return Object.fromEntries(entries) as Record<string, string>;
}
