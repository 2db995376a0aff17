/**
 * The RNN class: the one object that owns a model's memory and the public API over it.
 *
 * It validates everything in TypeScript, writes inputs into its backend's heap, and drives the kernels; it
 * never does arithmetic on tensors itself, so both backends run exactly the same sequence of kernel calls.
 * Every call is all-or-nothing: inputs are checked before memory is touched, and parameters change only in
 * the last kernel of `step`, after the gradients were found finite.
 */
import type { BackendName, KernelInstance, Kernels } from './backend.js';
import { createInstance } from './backends/select.js';
import { type CellCall, CELLS } from './cells.js';
import { DisposedError, NonFiniteError, OptionError, ShapeError, StateDictError } from './errors.js';
import {
  type LayerParams,
  type ModelConfig,
  type PackedWeights,
  type ParamLayout,
  type Workspace,
  directions,
  featureSize,
  outputWidth,
  packedLayout,
  parameterLayout,
  workspaceLayout,
} from './layout.js';
import {
  type OptimizerConfig,
  type OptimizerOptions,
  applyUpdate,
  optimizerConfig,
  optimizerInitialState,
  optimizerStateTensors,
} from './optimizers.js';
import {
  type Clipping,
  type LossKind,
  type RNNOptions,
  checkKeys,
  clipping,
  lossKind,
  modelConfig,
  nonNegativeInt,
} from './options.js';
import { Random } from './random.js';
import {
  type Tensor,
  type TensorInput,
  checkFinite,
  firstNonFinite,
  flatten,
  formatShape,
  swapLeadingAxes,
  toFloatTensor,
  toIdTensor,
} from './tensor.js';
import { type GenerateOptions, type GenerateResult, generateSequence } from './generate.js';
import { type Sample, type TrainHistory, type TrainOptions, trainLoop } from './train.js';
import { type LoadOptions, loadCheckpoint, saveCheckpoint } from './io/checkpoint.js';
import { type ModelJSON, modelFromJSON, modelToJSON } from './io/model-json.js';
import { type FileSource, readSource } from './io/source.js';
import { type SafetensorsOptions, exportSafetensors, importSafetensors } from './io/weights.js';

export interface UnrollResult {
  /** The last layer's output at every step: [T, B, D·H] ([B, T, D·H] with batchFirst). */
  output: Tensor;
  /** The head's output at every step: [T, B, O] ([B, T, O] with batchFirst); equals `output` without a head. */
  y: Tensor;
  /** Final state of every layer and direction, [L·D, B, H], index layer·D + direction. */
  hN: Tensor;
  /** LSTM only: final cell state, [L·D, B, H]. */
  cN?: Tensor;
}

/** Initial states, each [L·D, B, H]; zeros when omitted. `c0` is the LSTM's cell state. */
export interface InitialState {
  h0?: TensorInput;
  c0?: TensorInput;
}

/** Options of a call over whole sequences. */
export interface SequenceOptions extends InitialState {
  /**
   * Valid steps of each batch column, [B] integers in 1…T, for a batch of sequences padded to T (PyTorch's
   * packed sequences): padded steps are skipped, their outputs are zeros, and losses count valid steps only.
   */
  lengths?: ArrayLike<number>;
}

/** The recurrent state between two `cell` calls: pass the previous result (or `{ h, c }`) back in. */
export interface CellState {
  h?: TensorInput;
  c?: TensorInput;
}

export interface CellResult {
  /** The last layer's new state: [B, H]. */
  output: Tensor;
  /** The head's output for this step: [B, O]. */
  y: Tensor;
  /** The new state of every layer, [L, B, H]. */
  h: Tensor;
  /** LSTM only: the new cell state of every layer, [L, B, H]. */
  c?: Tensor;
}

export interface UnrollOptions extends SequenceOptions {
  /**
   * Run as in training: with dropout, a fresh mask from the model's generator each call (Monte Carlo
   * dropout). Default false: inference, no dropout.
   */
  training?: boolean;
  /** Buffers of yours to write the results into instead of new arrays, each exactly the result's size. */
  out?: { output?: Float32Array; y?: Float32Array; hN?: Float32Array; cN?: Float32Array };
}

export interface CellOptions {
  /**
   * Buffers of yours to write the results into instead of new arrays, each exactly the result's size: with
   * all of them, a stream of `cell` calls allocates no arrays.
   */
  out?: { output?: Float32Array; y?: Float32Array; h?: Float32Array; c?: Float32Array };
}

export interface LossOptions extends SequenceOptions {
  /** 'mse' (default) or 'cross_entropy' over the head's logits. */
  loss?: LossKind;
}

export interface GradientsResult {
  loss: number;
  /** dloss/dparameter for every parameter, under its `stateDict` name. */
  grads: Record<string, Tensor>;
  /** dloss/dinput, shaped like the input. */
  input: Tensor;
  /** dloss/dh0 [L·D, B, H]. */
  h0: Tensor;
  /** LSTM only: dloss/dc0 [L·D, B, H]. */
  c0?: Tensor;
}

export interface StepOptions extends LossOptions {
  /** Default: Adam with lr 1e-3. Changing the kind resets the optimizer's state. */
  optimizer?: OptimizerOptions;
  /** Scale all gradients so that their global L2 norm is at most this. */
  clipGradNorm?: number;
  /** Clamp every gradient element to [-clipGradValue, clipGradValue] (before clipGradNorm, if both). */
  clipGradValue?: number;
}

export interface StepResult {
  loss: number;
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
  /** The state after the batch's last step (before the update), to carry into the next chunk of a stream. */
  hN: Tensor;
  /** LSTM only: the cell state likewise. */
  cN?: Tensor;
}

/** A batch of sequences, checked and time-major: x [T, B, I], and each column's length (null: all T). */
export interface Batch {
  x: Float32Array;
  T: number;
  B: number;
  lengths: Int32Array | null;
}

/** Initial states in the heap's order, checked; null means zeros. */
export interface States {
  h: Float32Array | null;
  c: Float32Array | null;
}

/** A loss target in time-major order, already checked against the model's shape. */
export type LossTarget =
  | { kind: 'mse'; data: Float32Array; lastStep: boolean }
  | { kind: 'cross_entropy'; ids: Int32Array; lastStep: boolean };

/** The optimizer's state as `optimizerState()` copies it out for a checkpoint. */
export interface OptimizerSnapshot {
  config: OptimizerConfig;
  step: number;
  tensors: Float32Array[];
}

interface OptimizerState {
  config: OptimizerConfig;
  /** Byte offset of the first state tensor (m or the momentum buffer). */
  offset: number;
  step: number;
}

export class RNN {
  readonly config: ModelConfig;
  private instance: KernelInstance | null;
  private readonly layout: ParamLayout;
  private readonly paramBase: number;
  private readonly gradBase: number;
  /** Each layer-direction's recurrent weights packed for the forward kernels, after the gradients. */
  private readonly packed: readonly PackedWeights[];
  /** Whether `packed` holds the current weights; every write to the parameters clears it. */
  private packedFresh = false;
  /** Where the optimizer state starts (after the packed weights), and the workspace when there is none. */
  private readonly stateBase: number;
  private optimizer: OptimizerState | null = null;
  /** Start of the activation caches: after the optimizer state, which is allocated on the first step. */
  private workspaceBase: number;
  private view = new Float32Array(0);
  /** The last call's workspace and its kernel calls, reused while the call's shape is the same (a stream of `cell` calls). */
  private last: {
    T: number; B: number; lengths: boolean; training: boolean; base: number; ws: Workspace; calls: CellCall[];
    views?: CellViews;
  } | null = null;
  private readonly random: Random;

  private constructor(config: ModelConfig, instance: KernelInstance) {
    this.config = Object.freeze({ ...config });
    this.instance = instance;
    this.layout = parameterLayout(config);
    this.paramBase = align16(instance.base);
    this.gradBase = align16(this.paramBase + this.layout.count * 4);
    const packed = packedLayout(config, this.layout.layers, instance.kernels.packed_size, this.gradBase + this.layout.count * 4);
    this.packed = packed.packed;
    this.stateBase = packed.end;
    this.workspaceBase = this.stateBase;
    this.random = new Random(config.seed);
    this.reserve(this.workspaceBase);
    this.initParameters(new Random(config.seed));
  }

  /** Creates a model with PyTorch's default initialisation drawn from a seeded generator. */
  static async create(options: RNNOptions): Promise<RNN> {
    const { config, backend } = modelConfig(options);
    return new RNN(config, await createInstance(backend));
  }

  /** Which implementation runs this model's kernels. */
  get backend(): BackendName {
    return this.alive().backend;
  }

  /** Number of trainable parameters. */
  get numParameters(): number {
    return this.layout.count;
  }

  // ---- inference -------------------------------------------------------------------------------------

  /** Runs the model over a whole sequence [T, B, I] ([B, T, I] with batchFirst). */
  unroll(input: TensorInput, options: UnrollOptions = {}): UnrollResult {
    checkKeys(options, ['h0', 'c0', 'lengths', 'training', 'out'], 'unroll');
    const c = this.config;
    const batch = this.batch(input, options.lengths);
    const { T, B } = batch;
    if (options.training !== undefined && typeof options.training !== 'boolean') {
      throw new OptionError(`unroll: training must be true or false, got ${String(options.training)}`);
    }
    const init = this.initialState(options, B);
    const states = c.numLayers * directions(c) * B * c.hiddenSize;
    const out = outBuffers(options.out, 'unroll', {
      output: T * B * featureSize(c), y: T * B * outputWidth(c), hN: states, ...(CELLS[c.cell].cellState && { cN: states }),
    });
    const ws = this.forward(batch, init, options.training ?? false);
    return {
      output: this.readSequence(ws.outputs[c.numLayers - 1], T, B, featureSize(c), out.output),
      y: this.readSequence(ws.y, T, B, outputWidth(c), out.y),
      ...this.finalState(ws, batch.lengths, 'hN', 'cN', out.hN, out.cN),
    };
  }

  /**
   * One time step for a batch: input [B, I] and the previous state (`h`, and `c` for an LSTM, each
   * [L, B, H]; zeros when omitted). The result holds the new state, so `state = net.cell(x, state)` streams
   * a sequence with the same numbers as `unroll`.
   */
  cell(input: TensorInput, state: CellState = {}, options: CellOptions = {}): CellResult {
    const c = this.config;
    if (c.bidirectional) {
      throw new OptionError('cell() steps forward in time, but a bidirectional model needs the whole sequence: use unroll()');
    }
    if (state === null || typeof state !== 'object') throw new OptionError('cell: the state must be an object { h, c }');
    checkKeys(options, ['out'], 'cell');
    // Finiteness is checked after the copy into the heap (checkLoaded): a vector pass instead of a JS loop.
    const x = toFloatTensor(input, 'input', [null, c.inputSize], false);
    const B = x.shape[0];
    const init = this.initialState({ h0: state.h, c0: state.c }, B, 'h', 'c', false);
    const states = c.numLayers * B * c.hiddenSize;
    const out = outBuffers(options.out, 'cell', {
      output: B * c.hiddenSize, y: B * outputWidth(c), h: states, ...(CELLS[c.cell].cellState && { c: states }),
    });
    const ws = this.load({ x: x.data, T: 1, B, lengths: null }, init, false);
    this.checkLoaded(ws, x.data, init, 'h', 'c');
    this.run(ws);
    const views = this.cellViews(ws);
    const shape = [c.numLayers, B, c.hiddenSize];
    const result: CellResult = {
      output: { data: copyOut(views.output, out.output), shape: [B, c.hiddenSize] },
      y: { data: copyOut(views.y, out.y), shape: [B, outputWidth(c)] },
      h: { data: stack(views.h, out.h), shape },
    };
    if (views.c) result.c = { data: stack(views.c, out.c), shape };
    return result;
  }

  /**
   * Views of a one-step workspace's results, kept with it: cutting them afresh on every call, as `read` and
   * `finalState` do, was about 0.4 µs of S1's 6.3. Made again when the heap was replaced (it grew) or the
   * workspace changed.
   */
  private cellViews(ws: Workspace): CellViews {
    const last = this.last!;
    const m = this.heap();
    if (last.views?.heap === m) return last.views;
    const c = this.config;
    const cell = CELLS[c.cell];
    const n = ws.B * c.hiddenSize;
    const at = (ptr: number, size: number) => m.subarray(ptr / 4, ptr / 4 + size);
    // One step in one direction: each layer's output [1, B, H] is its new state.
    last.views = {
      heap: m,
      output: at(ws.outputs[c.numLayers - 1], n),
      y: at(ws.y, ws.B * outputWidth(c)),
      h: ws.outputs.map((p) => at(p, n)),
      c: cell.cellState ? ws.caches.map((p) => at(cell.cellStates(p), n)) : null,
    };
    return last.views;
  }

  /**
   * One-to-many generation: runs the prompt [T, B, I], then feeds each prediction back as the next input
   * (or, with `sample`, the one-hot encoding of a class drawn from the softmax of the prediction).
   */
  generate(prompt: TensorInput, options: GenerateOptions): GenerateResult {
    this.alive();
    return generateSequence(this, prompt, options, this.random);
  }

  // ---- training --------------------------------------------------------------------------------------

  /**
   * The loss and its gradient with respect to every parameter, the input and h0, by backpropagation
   * through time. The target's rank picks the sequence shape: MSE [T, B, O] or class ids [T, B] put the
   * loss on every step (many-to-many); MSE [B, O] or ids [B] on the last step only (many-to-one).
   */
  gradients(input: TensorInput, target: TensorInput, options: LossOptions = {}): GradientsResult {
    checkKeys(options, ['loss', 'h0', 'c0', 'lengths'], 'gradients');
    const c = this.config;
    const x = this.batch(input, options.lengths);
    const t = this.lossTarget(target, lossKind(options.loss), x.T, x.B);
    const { loss, ws } = this.lossAndGradients(x, this.initialState(options, x.B), t, true);
    const m = this.heap();
    const grads: Record<string, Tensor> = {};
    for (const spec of this.layout.specs) {
      const from = this.gradBase / 4 + spec.offset;
      grads[spec.name] = { data: m.slice(from, from + spec.size), shape: [...spec.shape] };
    }
    const stateShape = [c.numLayers * directions(c), x.B, c.hiddenSize];
    return {
      loss,
      grads,
      input: this.readSequence(ws.dx, x.T, x.B, c.inputSize),
      h0: this.read(ws.dh0, stateShape),
      ...(CELLS[c.cell].cellState && { c0: this.read(ws.dc0, stateShape) }),
    };
  }

  /** The loss alone, in inference mode (no dropout, no gradients): for validation. */
  evaluate(input: TensorInput, target: TensorInput, options: LossOptions = {}): number {
    checkKeys(options, ['loss', 'h0', 'c0', 'lengths'], 'evaluate');
    const x = this.batch(input, options.lengths);
    return this.evaluateBatch(x, this.initialState(options, x.B), this.lossTarget(target, lossKind(options.loss), x.T, x.B));
  }

  /** `evaluate` on inputs already checked and time-major. */
  evaluateBatch(batch: Batch, init: States, target: LossTarget): number {
    return this.loss(this.forward(batch, init), target);
  }

  /**
   * One optimizer step on one batch: forward, loss, BPTT, optional clipping by global norm, update.
   * If the loss or a gradient is not finite, throws NonFiniteError and leaves the parameters unchanged.
   */
  step(input: TensorInput, target: TensorInput, options: StepOptions = {}): StepResult {
    checkKeys(options, ['loss', 'h0', 'c0', 'lengths', 'optimizer', 'clipGradNorm', 'clipGradValue'], 'step');
    const x = this.batch(input, options.lengths);
    const t = this.lossTarget(target, lossKind(options.loss), x.T, x.B);
    return this.stepBatch(x, this.initialState(options, x.B), t, optimizerConfig(options.optimizer), clipping(options));
  }

  /**
   * Epochs of mini-batch training over a dataset of sequences, each `{ input: [T, I], target }` with a
   * target of [T, O] / [O] (MSE) or [T] / one id (cross-entropy). Sequences of different lengths go into
   * different batches. Resolves to the loss history.
   */
  async train(data: readonly Sample[], options: TrainOptions = {}): Promise<TrainHistory> {
    this.alive();
    return trainLoop(this, data, options, this.random);
  }

  /** Forgets the optimizer's moments and step count; the next step starts afresh. */
  resetOptimizer(): void {
    this.alive();
    this.optimizer = null;
    this.workspaceBase = this.stateBase;
  }

  /**
   * A copy of the optimizer's state, for checkpoints: its configuration, step count and state tensors
   * (each `numParameters` long, in parameter order), or null before the first step.
   */
  optimizerState(): OptimizerSnapshot | null {
    const m = this.heap();
    const o = this.optimizer;
    if (!o) return null;
    const tensors = this.stateTensors(o).map((ptr) => m.slice(ptr / 4, ptr / 4 + this.layout.count));
    return { config: { ...o.config }, step: o.step, tensors };
  }

  /** Restores what `optimizerState()` returned (null forgets the state). Checked in full before anything is written. */
  loadOptimizerState(snapshot: OptimizerSnapshot | null): void {
    this.alive();
    if (snapshot === null) return this.resetOptimizer();
    checkKeys(snapshot, ['config', 'step', 'tensors'], 'loadOptimizerState');
    const config = optimizerConfig(snapshot.config as OptimizerOptions);
    const step = nonNegativeInt(snapshot.step, 'loadOptimizerState: step');
    const want = optimizerStateTensors(config);
    const tensors = snapshot.tensors;
    if (!Array.isArray(tensors) || tensors.length !== want) {
      throw new StateDictError(`loadOptimizerState: ${config.kind} keeps ${want} state tensors, got ${Array.isArray(tensors) ? tensors.length : typeof tensors}`);
    }
    tensors.forEach((t, i) => {
      if (!(t instanceof Float32Array) || t.length !== this.layout.count) {
        throw new ShapeError(`loadOptimizerState: state tensor ${i} must be a Float32Array of ${this.layout.count} values`);
      }
      const bad = firstNonFinite(t);
      if (bad >= 0) throw new NonFiniteError(`loadOptimizerState: state tensor ${i} element ${bad} is ${t[bad]}`);
    });
    this.optimizer = null;
    const state = this.ensureOptimizer(config);
    state.step = step;
    const m = this.heap();
    this.stateTensors(state).forEach((ptr, i) => m.set(tensors[i], ptr / 4));
  }

  /** The state of the model's generator (shuffling, sampling), so that a resumed run draws the same numbers. */
  get generatorState(): number {
    this.alive();
    return this.random.state;
  }

  set generatorState(state: number) {
    this.alive();
    this.random.state = nonNegativeInt(state, 'generatorState') >>> 0;
  }

  // ---- weights -----------------------------------------------------------------------------------------

  /** Every parameter under its PyTorch name (`rnn.weight_ih_l0`, …, `head.weight`, `head.bias`), copied. */
  stateDict(): Record<string, Tensor> {
    const m = this.heap();
    const dict: Record<string, Tensor> = {};
    for (const spec of this.layout.specs) {
      const from = this.paramBase / 4 + spec.offset;
      dict[spec.name] = { data: m.slice(from, from + spec.size), shape: [...spec.shape] };
    }
    return dict;
  }

  /**
   * Replaces every parameter. Names may carry the `rnn.` prefix or not (`weight_ih_l0`); every parameter
   * must be present with its exact shape and finite values, or nothing is written.
   */
  loadStateDict(dict: Readonly<Record<string, TensorInput>>): void {
    this.alive();
    if (dict === null || typeof dict !== 'object') throw new StateDictError('loadStateDict: expected an object of tensors');
    const byName = new Map(this.layout.specs.map((s) => [s.name, s]));
    const values = new Map<string, Float32Array>();
    for (const [key, value] of Object.entries(dict)) {
      const name = byName.has(key) ? key : `rnn.${key}`;
      const spec = byName.get(name);
      if (!spec) throw new StateDictError(`loadStateDict: unknown parameter '${key}' (this model has ${[...byName.keys()].join(', ')})`);
      if (values.has(name)) throw new StateDictError(`loadStateDict: '${name}' is given twice (with and without the 'rnn.' prefix)`);
      const { data, shape } = flatten(value, key);
      if (shape.length !== spec.shape.length || shape.some((d, i) => d !== spec.shape[i])) {
        throw new ShapeError(`loadStateDict: '${key}' should have shape ${formatShape(spec.shape)}, got ${formatShape(shape)}`);
      }
      const f32 = Float32Array.from(data);
      const bad = firstNonFinite(f32);
      if (bad >= 0) throw new NonFiniteError(`loadStateDict: '${key}' element ${bad} is ${f32[bad]}`);
      values.set(name, f32);
    }
    const missing = this.layout.specs.filter((s) => !values.has(s.name)).map((s) => s.name);
    if (missing.length) throw new StateDictError(`loadStateDict: missing ${missing.join(', ')}`);
    const m = this.heap();
    for (const spec of this.layout.specs) m.set(values.get(spec.name)!, this.paramBase / 4 + spec.offset);
    this.packedFresh = false;
  }

  /** Frees the model's memory. Any later call throws DisposedError. */
  dispose(): void {
    this.instance = null;
    this.view = new Float32Array(0);
    this.optimizer = null;
  }

  get disposed(): boolean {
    return this.instance === null;
  }

  // ---- internals shared with the training loop ---------------------------------------------------------

  /** Checks a sequence input (and its columns' lengths) against the model and returns it time-major. */
  batch(input: TensorInput, lengths?: ArrayLike<number>, name = 'input'): Batch {
    const c = this.config;
    const x = toFloatTensor(input, name, [null, null, c.inputSize]);
    const [d0, d1] = x.shape;
    const [T, B] = c.batchFirst ? [d1, d0] : [d0, d1];
    return {
      x: c.batchFirst ? swapLeadingAxes(x.data, d0, d1, c.inputSize) : x.data,
      T,
      B,
      lengths: lengths === undefined ? null : checkLengths(lengths, T, B),
    };
  }

  /** Checks a loss target for a sequence of T steps and B columns; its rank picks every step or the last. */
  lossTarget(target: TensorInput, kind: LossKind, T: number, B: number): LossTarget {
    const c = this.config;
    const O = outputWidth(c);
    const rank = flatten(target, 'target').shape.length;
    const seq = (a: number | null, b: number | null) => (c.batchFirst ? [b, a] : [a, b]);
    if (kind === 'mse') {
      if (rank === 2) return { kind, data: toFloatTensor(target, 'target', [B, O]).data, lastStep: true };
      const t = toFloatTensor(target, 'target', [...seq(T, B), O]);
      return { kind, data: c.batchFirst ? swapLeadingAxes(t.data, B, T, O) : t.data, lastStep: false };
    }
    if (rank === 1) return { kind, ids: toIdTensor(target, 'target', [B], O).data, lastStep: true };
    const t = toIdTensor(target, 'target', seq(T, B), O);
    return { kind, ids: c.batchFirst ? swapLeadingAxes(t.data, B, T, 1) : t.data, lastStep: false };
  }

  /** `step` on inputs already checked and time-major. */
  stepBatch(batch: Batch, init: States, target: LossTarget, optimizer: OptimizerConfig, clip: Clipping): StepResult {
    const state = this.ensureOptimizer(optimizer);
    const { loss, ws } = this.lossAndGradients(batch, init, target, false);
    const k = this.kernels();
    const n = this.layout.count;
    const gradNorm = Math.sqrt(k.sum_squares(this.gradBase, n));
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      throw new NonFiniteError(`step: the loss (${loss}) or gradient norm (${gradNorm}) is not finite; parameters left unchanged (lower the learning rate or clip gradients)`);
    }
    if (clip.value !== undefined) k.clamp(this.gradBase, n, clip.value);
    if (clip.norm !== undefined) {
      const norm = clip.value === undefined ? gradNorm : Math.sqrt(k.sum_squares(this.gradBase, n));
      k.scale(this.gradBase, n, Math.min(1, clip.norm / (norm + 1e-6)));
    }
    state.step += 1;
    applyUpdate(k, state.config, { p: this.paramBase, g: this.gradBase, state: this.stateTensors(state), n, step: state.step }, 1);
    this.packedFresh = false;
    return { loss, gradNorm, ...this.finalState(ws, batch.lengths, 'hN', 'cN') };
  }

  // ---- the kernel sequence -------------------------------------------------------------------------------

  /**
   * Runs every layer and the head. The workspace it returns describes this call: `lengths` is 0 when every
   * column is full, and `dropped` is empty unless dropout is on (training with `dropout` > 0).
   */
  private forward(batch: Batch, init: States, training = false): Workspace {
    return this.run(this.load(batch, init, training));
  }

  /** Lays out the workspace for the batch and copies the input and the initial states into it. */
  private load(batch: Batch, init: States, training: boolean): Workspace {
    const c = this.config;
    const { T, B } = batch;
    const ws = this.workspace(T, B, batch.lengths !== null, training);
    const m = this.heap();
    m.set(batch.x, ws.x / 4);
    if (batch.lengths) new Int32Array(m.buffer).set(batch.lengths, ws.lengths / 4);
    const states = c.numLayers * directions(c) * B * c.hiddenSize;
    const place = (ptr: number, value: Float32Array | null) => {
      if (value) m.set(value, ptr / 4);
      else m.fill(0, ptr / 4, ptr / 4 + states);
    };
    place(ws.h0, init.h);
    if (ws.c0) place(ws.c0, init.c);
    return ws;
  }

  /**
   * For inputs taken without the finite check: one vector pass over each copy in the heap, and only when one
   * holds a NaN or infinity, the JS pass over the caller's arrays that names it.
   */
  private checkLoaded(ws: Workspace, x: Float32Array, init: States, hName: string, cName: string): void {
    const k = this.kernels();
    if (k.non_finite(ws.x, x.length) | (init.h ? k.non_finite(ws.h0, init.h.length) : 0)
      | (init.c ? k.non_finite(ws.c0, init.c.length) : 0)) {
      checkFinite(x, 'input');
      if (init.h) checkFinite(init.h, hName);
      if (init.c) checkFinite(init.c, cName);
    }
  }

  /** Every layer and the head over the workspace `load` filled. */
  private run(ws: Workspace): Workspace {
    const c = this.config;
    const { T, B } = ws;
    const k = this.kernels();
    if (!this.packedFresh) this.packWeights();
    const cell = CELLS[c.cell];
    for (const p of this.layout.layers) {
      cell.forward(k, this.last!.calls[p.layer * directions(c) + p.direction]);
      const lastDirection = p.direction === directions(c) - 1;
      if (lastDirection && p.layer < ws.dropped.length) this.dropout(ws, p.layer);
    }
    if (c.outputSize) {
      k.linear_forward(ws.y, ws.outputs[c.numLayers - 1], this.param(this.layout.headWeight),
        this.param(this.layout.headBias), T * B, featureSize(c), c.outputSize);
    }
    return ws;
  }

  /** Packs every recurrent weight as the forward kernels read it: once, and again after the weights change. */
  private packWeights(): void {
    const k = this.kernels();
    const rows = CELLS[this.config.cell].gates * this.config.hiddenSize;
    this.layout.layers.forEach((p, i) => {
      k.pack_weights(this.packed[i].ih, this.param(p.weightIh), rows, p.inputSize);
      k.pack_weights(this.packed[i].hh, this.param(p.weightHh), rows, this.config.hiddenSize);
    });
    this.packedFresh = true;
  }

  /** Draws a fresh dropout mask for layer k's output and applies it: the input of layer k+1. */
  private dropout(ws: Workspace, layer: number): void {
    const n = ws.T * ws.B * featureSize(this.config);
    const p = this.config.dropout;
    const m = this.heap();
    const mask = ws.masks[layer] / 4;
    for (let i = 0; i < n; i++) m[mask + i] = this.random.next() < p ? 0 : 1 / (1 - p);
    this.kernels().multiply(ws.dropped[layer], ws.outputs[layer], ws.masks[layer], n);
  }

  /** The input of a layer: the sequence, or the layer below's output (after dropout when it is on). */
  private layerInput(ws: Workspace, layer: number): number {
    if (layer === 0) return ws.x;
    return layer - 1 < ws.dropped.length ? ws.dropped[layer - 1] : ws.outputs[layer - 1];
  }

  /** The pointers and sizes of one direction of one layer, as the cell kernels take them. */
  private cellCall(ws: Workspace, p: LayerParams): CellCall {
    const c = this.config;
    const H = c.hiddenSize;
    return {
      out: ws.outputs[p.layer] + p.direction * H * 4,
      cache: ws.caches[p.layer * directions(c) + p.direction],
      scratch: ws.scratch,
      x: this.layerInput(ws, p.layer),
      lengths: ws.lengths,
      h0: this.stateAt(ws.h0, p, ws.B),
      c0: ws.c0 && this.stateAt(ws.c0, p, ws.B),
      w_ih: this.param(p.weightIh),
      w_hh: this.param(p.weightHh),
      pw_ih: this.packed[p.layer * directions(c) + p.direction].ih,
      pw_hh: this.packed[p.layer * directions(c) + p.direction].hh,
      b_ih: this.param(p.biasIh),
      b_hh: this.param(p.biasHh),
      T: ws.T,
      B: ws.B,
      I: p.inputSize,
      H,
      ldo: featureSize(c),
      reverse: p.direction,
      relu: c.nonlinearity === 'relu' ? 1 : 0,
    };
  }

  /** With `inputGradient` false (a training step) the gradient into the input sequence is not computed. */
  private lossAndGradients(batch: Batch, init: States, target: LossTarget, inputGradient: boolean): { loss: number; ws: Workspace } {
    const ws = this.forward(batch, init, true);
    const loss = this.loss(ws, target);
    this.backward(ws, inputGradient);
    return { loss, ws };
  }

  /** Writes dloss/dy into ws.dy and returns the loss. */
  private loss(ws: Workspace, target: LossTarget): number {
    const { T, B } = ws;
    const O = outputWidth(this.config);
    const k = this.kernels();
    const last = target.lastStep ? 1 : 0;
    // A many-to-one target [B, ·] goes to each column's last valid step; the kernel reads only those rows.
    const lastRow = (b: number) => ((ws.lengths ? this.heapI32()[ws.lengths / 4 + b] : T) - 1) * B + b;
    if (target.kind === 'mse') {
      const m = this.heap();
      if (!last) m.set(target.data, ws.target / 4);
      else for (let b = 0; b < B; b++) m.set(target.data.subarray(b * O, (b + 1) * O), ws.target / 4 + lastRow(b) * O);
      return k.mse_loss(ws.dy, ws.y, ws.target, ws.lengths, T, B, O, last);
    }
    const ids = this.heapI32();
    if (!last) ids.set(target.ids, ws.target / 4);
    else for (let b = 0; b < B; b++) ids[ws.target / 4 + lastRow(b)] = target.ids[b];
    return k.cross_entropy_loss(ws.dy, ws.y, ws.target, ws.lengths, T, B, O, last);
  }

  /** Backpropagation through the head and every layer, from ws.dy to every gradient. */
  private backward(ws: Workspace, inputGradient: boolean): void {
    const c = this.config;
    const { T, B } = ws;
    const H = c.hiddenSize;
    const DH = featureSize(c);
    const m = this.heap();
    const k = this.kernels();
    const zero = (ptr: number, n: number) => m.fill(0, ptr / 4, ptr / 4 + n);
    zero(this.gradBase, this.layout.count);
    let dTop = ws.dy;
    let free = 0;
    if (c.outputSize) {
      dTop = ws.dOutputs[free];
      free ^= 1;
      zero(dTop, T * B * DH);
      k.linear_backward(dTop, this.grad(this.layout.headWeight), this.grad(this.layout.headBias), ws.dy,
        ws.outputs[c.numLayers - 1], this.param(this.layout.headWeight), T * B, DH, c.outputSize);
    }
    const cell = CELLS[c.cell];
    for (let layer = c.numLayers - 1; layer >= 0; layer--) {
      // Both directions of a layer read the same input, so their input gradients add up in one buffer.
      const dInput = layer > 0 ? ws.dOutputs[free] : inputGradient ? ws.dx : 0;
      if (dInput) zero(dInput, T * B * (layer === 0 ? c.inputSize : DH));
      for (const p of this.layout.layers.slice(layer * directions(c), (layer + 1) * directions(c))) {
        cell.backward(k, this.last!.calls[p.layer * directions(c) + p.direction], {
          dx: dInput,
          dh0: this.stateAt(ws.dh0, p, B),
          dc0: ws.dc0 && this.stateAt(ws.dc0, p, B),
          dw_ih: this.grad(p.weightIh),
          dw_hh: this.grad(p.weightHh),
          db_ih: this.grad(p.biasIh),
          db_hh: this.grad(p.biasHh),
          dout: dTop + p.direction * H * 4,
        });
      }
      // Back through the dropout between this layer and the one below: the same mask scales the gradient.
      if (layer > 0 && layer - 1 < ws.dropped.length) k.multiply(dInput, dInput, ws.masks[layer - 1], T * B * DH);
      dTop = dInput;
      free ^= 1;
    }
  }

  // ---- memory --------------------------------------------------------------------------------------------

  private alive(): KernelInstance {
    if (!this.instance) throw new DisposedError('this model was disposed; create a new one');
    return this.instance;
  }

  private kernels(): Kernels {
    return this.alive().kernels;
  }

  /**
   * Makes the heap at least `bytes` long. Growing detaches the old buffer, so the float32 view is re-created
   * here, the one place the heap grows, and `heap()` needs no check on every call.
   */
  private reserve(bytes: number): void {
    const instance = this.alive();
    instance.reserve(bytes);
    if (this.view.buffer !== instance.buffer) this.view = new Float32Array(instance.buffer);
  }

  /** The heap as float32. */
  private heap(): Float32Array {
    this.alive();
    return this.view;
  }

  /** The heap as int32, for lengths and class ids. */
  private heapI32(): Int32Array {
    return new Int32Array(this.heap().buffer);
  }

  /**
   * Lays out the activation caches for (T, B), growing the heap if this is the largest call so far; `lengths`
   * 0 when every column is full, and no dropout outside training. The same call shape reuses the last layout.
   */
  private workspace(T: number, B: number, lengths: boolean, training: boolean): Workspace {
    const base = this.workspaceBase;
    const last = this.last;
    if (last && last.T === T && last.B === B && last.lengths === lengths && last.training === training && last.base === base) return last.ws;
    const layout = workspaceLayout(this.config, T, B, base);
    this.reserve(layout.end);
    const ws = { ...layout, lengths: lengths ? layout.lengths : 0, dropped: training ? layout.dropped : [] };
    this.last = { T, B, lengths, training, base, ws, calls: this.layout.layers.map((p) => this.cellCall(ws, p)) };
    return ws;
  }

  /** The optimizer's state, allocated (zeroed) on first use and again when its kind changes. */
  private ensureOptimizer(config: OptimizerConfig): OptimizerState {
    const tensors = optimizerStateTensors(config);
    const current = this.optimizer;
    if (current && current.config.kind === config.kind && optimizerStateTensors(current.config) === tensors) {
      current.config = config;
      return current;
    }
    const offset = this.stateBase;
    const bytes = tensors * align16(this.layout.count * 4);
    this.reserve(offset + bytes);
    this.heap().fill(optimizerInitialState(config), offset / 4, (offset + bytes) / 4);
    this.workspaceBase = align16(offset + bytes);
    this.optimizer = { config, offset, step: 0 };
    return this.optimizer;
  }

  /** Byte offsets of the optimizer's state tensors, one parameter block each. */
  private stateTensors(o: OptimizerState): number[] {
    return Array.from({ length: optimizerStateTensors(o.config) }, (_, i) => o.offset + i * align16(this.layout.count * 4));
  }

  private param(offset: number): number {
    return offset < 0 ? 0 : this.paramBase + offset * 4;
  }

  private grad(offset: number): number {
    return offset < 0 ? 0 : this.gradBase + offset * 4;
  }

  /** Byte offset of one layer-direction's [B, H] slice of a [L·D, B, H] state tensor. */
  private stateAt(base: number, p: { layer: number; direction: number }, B: number): number {
    return base + (p.layer * directions(this.config) + p.direction) * B * this.config.hiddenSize * 4;
  }

  private initParameters(random: Random): void {
    const m = this.heap();
    for (const spec of this.layout.specs) {
      const from = this.paramBase / 4 + spec.offset;
      for (let i = 0; i < spec.size; i++) m[from + i] = random.uniform(-spec.initBound, spec.initBound);
    }
    this.packedFresh = false;
  }

  /** Initial states checked as [L·D, B, H] each; null for zeros. `c0` only for cells with a cell state. */
  initialState(value: InitialState, B: number, hName = 'h0', cName = 'c0', finite = true): States {
    const c = this.config;
    const shape = [c.numLayers * directions(c), B, c.hiddenSize];
    if (value.c0 !== undefined && !CELLS[c.cell].cellState) {
      throw new OptionError(`${cName}: a '${c.cell}' cell has no cell state; only an LSTM takes ${cName}`);
    }
    return {
      h: value.h0 === undefined ? null : toFloatTensor(value.h0, hName, shape, finite).data,
      c: value.c0 === undefined ? null : toFloatTensor(value.c0, cName, shape, finite).data,
    };
  }

  /**
   * The state after the last step, [L·D, B, H]: each forward direction's after its column's last step,
   * each reverse direction's after t = 0; and the cell state likewise for an LSTM.
   */
  private finalState<H extends string, C extends string>(ws: Workspace, lengths: Int32Array | null, hName: H,
    cName: C, hInto?: Float32Array, cInto?: Float32Array): Record<H, Tensor> & Partial<Record<C, Tensor>> {
    const c = this.config;
    const { T, B } = ws;
    const H = c.hiddenSize;
    const cell = CELLS[c.cell];
    const m = this.heap();
    const shape = [c.numLayers * directions(c), B, H];
    const h = hInto ?? new Float32Array(shape[0] * B * H);
    const cs = cell.cellState ? cInto ?? new Float32Array(shape[0] * B * H) : null;
    for (const p of this.layout.layers) {
      const to = this.stateAt(0, p, B) / 4;
      const cellStates = cell.cellStates(ws.caches[p.layer * directions(c) + p.direction]) / 4;
      for (let b = 0; b < B; b++) {
        const t = p.direction === 1 ? 0 : (lengths ? lengths[b] : T) - 1;
        const from = ws.outputs[p.layer] / 4 + (t * B + b) * featureSize(c) + p.direction * H;
        h.set(m.subarray(from, from + H), to + b * H);
        if (cs) cs.set(m.subarray(cellStates + (t * B + b) * H, cellStates + (t * B + b + 1) * H), to + b * H);
      }
    }
    const result = { [hName]: { data: h, shape } } as Record<H, Tensor> & Partial<Record<C, Tensor>>;
    if (cs) (result as Record<C, Tensor>)[cName] = { data: cs, shape };
    return result;
  }

  /** Copies a tensor out of the heap, into `into` when given (already checked to have its size). */
  private read(ptr: number, shape: number[], into?: Float32Array): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    const m = this.heap();
    if (!into) return { data: m.slice(ptr / 4, ptr / 4 + n), shape };
    into.set(m.subarray(ptr / 4, ptr / 4 + n));
    return { data: into, shape };
  }

  /** Copies a time-major [T, B, F] tensor out of the heap, in the user's axis order. */
  private readSequence(ptr: number, T: number, B: number, F: number, into?: Float32Array): Tensor {
    if (!this.config.batchFirst) return this.read(ptr, [T, B, F], into);
    if (!into) return { data: swapLeadingAxes(this.read(ptr, [T, B, F]).data, T, B, F), shape: [B, T, F] };
    const m = this.heap();
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) into.set(m.subarray(ptr / 4 + (t * B + b) * F, ptr / 4 + (t * B + b + 1) * F), (b * T + t) * F);
    }
    return { data: into, shape: [B, T, F] };
  }

  // ---- files ----

  /**
   * A model from PyTorch weights in a `.safetensors` file (its bytes, or its path in Node). Cell, sizes,
   * layers, directions, biases and head come from the tensors' names and shapes; nonlinearity, batchFirst,
   * dropout and seed from `options`, else from the file's metadata when this library wrote it.
   */
  static async fromSafetensors(source: FileSource, options: SafetensorsOptions = {}): Promise<RNN> {
    return importSafetensors(await readSource(source, 'RNN.fromSafetensors'), options, (o) => RNN.create(o));
  }

  /** The weights as safetensors in PyTorch's `state_dict` layout, with the configuration in `__metadata__`. */
  toSafetensors(): Uint8Array {
    return exportSafetensors(this);
  }

  /** A checkpoint (safetensors): configuration, weights, optimizer state and generator state, bit for bit. */
  save(): Uint8Array {
    return saveCheckpoint(this);
  }

  /** A model from `save()`'s bytes (or, in Node, a path): training resumed from it continues exactly. */
  static async load(source: FileSource, options: LoadOptions = {}): Promise<RNN> {
    return loadCheckpoint(await readSource(source, 'RNN.load'), options, (o) => RNN.create(o));
  }

  /** The checkpoint as a plain object, so that `JSON.stringify(net)` writes it; `RNN.fromJSON` reads it back. */
  toJSON(): ModelJSON {
    return modelToJSON(this);
  }

  /** A model from `toJSON()`'s object or its JSON text, bit for bit like `load`. */
  static async fromJSON(json: string | ModelJSON, options: LoadOptions = {}): Promise<RNN> {
    return modelFromJSON(json, options, (o) => RNN.create(o));
  }
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;

/** Where `cell` finds its results in the heap: see `cellViews`. */
interface CellViews {
  /** The heap view these were cut from. */
  heap: Float32Array;
  output: Float32Array;
  y: Float32Array;
  /** Each layer's new state [B, H]. */
  h: Float32Array[];
  /** Each layer's new cell state [B, H] (LSTM), else null. */
  c: Float32Array[] | null;
}

/** A copy of `from`: into the caller's buffer when given (already checked to have its size). */
function copyOut(from: Float32Array, into: Float32Array | undefined): Float32Array {
  if (!into) return from.slice();
  into.set(from);
  return into;
}

/** The parts laid end to end, into the caller's buffer when given. */
function stack(parts: readonly Float32Array[], into: Float32Array | undefined): Float32Array {
  const n = parts[0].length;
  const data = into ?? new Float32Array(parts.length * n);
  for (let i = 0; i < parts.length; i++) data.set(parts[i], i * n);
  return data;
}

/**
 * The caller's result buffers, checked before anything runs: only the names in `sizes`, each a Float32Array
 * of exactly its size. (No allocation on the way through: a stream of calls passes here every time.)
 */
function outBuffers<K extends string>(out: Partial<Record<K, Float32Array>> | undefined, where: string,
  sizes: Partial<Record<K, number>>): Partial<Record<K, Float32Array>> {
  if (out === undefined) return NO_BUFFERS;
  if (out === null || typeof out !== 'object') checkKeys(out, Object.keys(sizes), `${where}: out`);
  for (const name in out) {
    const size = sizes[name];
    if (size === undefined) checkKeys(out, Object.keys(sizes), `${where}: out`); // throws, naming the known keys
    const buffer: unknown = out[name];
    if (!(buffer instanceof Float32Array) || buffer.length !== size) {
      const got = buffer instanceof Float32Array ? `${buffer.length} floats` : String(buffer);
      throw new ShapeError(`${where}: out.${name} must be a Float32Array of ${size} floats, got ${got}`);
    }
  }
  return out;
}

const NO_BUFFERS = Object.freeze({});

/** Column lengths checked against the batch: B integers in 1…T. */
function checkLengths(lengths: ArrayLike<number>, T: number, B: number): Int32Array {
  if (typeof lengths !== 'object' || lengths === null || typeof lengths.length !== 'number') {
    throw new ShapeError(`lengths: expected an array of ${B} integers, got ${typeof lengths}`);
  }
  if (lengths.length !== B) throw new ShapeError(`lengths: expected one length per batch column (${B}), got ${lengths.length}`);
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const len = lengths[b];
    if (!Number.isInteger(len) || len < 1 || len > T) {
      throw new ShapeError(`lengths[${b}] is ${len}; each length must be an integer in 1…${T} (the padded length T)`);
    }
    out[b] = len;
  }
  return out;
}
