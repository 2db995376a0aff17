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
import { DisposedError, NonFiniteError, OptionError, ShapeError, StateDictError } from './errors.js';
import {
  type ModelConfig,
  type ParamLayout,
  type Workspace,
  directions,
  featureSize,
  outputWidth,
  parameterLayout,
  workspaceLayout,
} from './layout.js';
import {
  type LossKind,
  type OptimizerConfig,
  type OptimizerOptions,
  type RNNOptions,
  checkKeys,
  clipOption,
  lossKind,
  modelConfig,
  optimizerConfig,
  optimizerStateTensors,
} from './options.js';
import { Random } from './random.js';
import {
  type Tensor,
  type TensorInput,
  firstNonFinite,
  flatten,
  formatShape,
  swapLeadingAxes,
  toFloatTensor,
  toIdTensor,
} from './tensor.js';
import { type GenerateOptions, type GenerateResult, generateSequence } from './generate.js';
import { type Sample, type TrainHistory, type TrainOptions, trainLoop } from './train.js';

export interface UnrollResult {
  /** The last layer's output at every step: [T, B, D·H] ([B, T, D·H] with batchFirst). */
  output: Tensor;
  /** The head's output at every step: [T, B, O] ([B, T, O] with batchFirst); equals `output` without a head. */
  y: Tensor;
  /** Final state of every layer and direction, [L·D, B, H], index layer·D + direction. */
  hN: Tensor;
}

export interface CellResult {
  /** The last layer's new state: [B, H]. */
  output: Tensor;
  /** The head's output for this step: [B, O]. */
  y: Tensor;
  /** The new state of every layer, [L, B, H]: pass it back as `h` for the next step. */
  h: Tensor;
}

export interface LossOptions {
  /** 'mse' (default) or 'cross_entropy' over the head's logits. */
  loss?: LossKind;
  /** Initial state [L·D, B, H]; zeros when omitted. */
  h0?: TensorInput;
}

export interface GradientsResult {
  loss: number;
  /** dloss/dparameter for every parameter, under its `stateDict` name. */
  grads: Record<string, Tensor>;
  /** dloss/dinput, shaped like the input. */
  input: Tensor;
  /** dloss/dh0 [L·D, B, H]. */
  h0: Tensor;
}

export interface StepOptions extends LossOptions {
  /** Default: Adam with lr 1e-3. Changing the kind resets the optimizer's state. */
  optimizer?: OptimizerOptions;
  /** Scale all gradients so that their global L2 norm is at most this. */
  clipGradNorm?: number;
}

export interface StepResult {
  loss: number;
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
}

/** A loss target in time-major order, already checked against the model's shape. */
export type LossTarget =
  | { kind: 'mse'; data: Float32Array; lastStep: boolean }
  | { kind: 'cross_entropy'; ids: Int32Array; lastStep: boolean };

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
  private optimizer: OptimizerState | null = null;
  /** Start of the activation caches: after the optimizer state, which is allocated on the first step. */
  private workspaceBase: number;
  private view = new Float32Array(0);
  private readonly random: Random;

  private constructor(config: ModelConfig, instance: KernelInstance) {
    this.config = Object.freeze({ ...config });
    this.instance = instance;
    this.layout = parameterLayout(config);
    this.paramBase = align16(instance.base);
    this.gradBase = align16(this.paramBase + this.layout.count * 4);
    this.workspaceBase = align16(this.gradBase + this.layout.count * 4);
    this.random = new Random(config.seed);
    instance.reserve(this.workspaceBase);
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
  unroll(input: TensorInput, options: { h0?: TensorInput } = {}): UnrollResult {
    checkKeys(options, ['h0'], 'unroll');
    const x = this.sequenceInput(input);
    const h0 = this.initialState(options.h0, x.B);
    const ws = this.forward(x.data, x.T, x.B, h0);
    return {
      output: this.readSequence(ws.outputs[this.config.numLayers - 1], x.T, x.B, featureSize(this.config)),
      y: this.readSequence(ws.y, x.T, x.B, outputWidth(this.config)),
      hN: this.finalState(ws),
    };
  }

  /**
   * One time step for a batch: input [B, I] and the previous state `h` [L, B, H] (zeros when omitted).
   * Streams a sequence step by step with the same numbers as `unroll`.
   */
  cell(input: TensorInput, h?: TensorInput): CellResult {
    const c = this.config;
    if (c.bidirectional) {
      throw new OptionError('cell() steps forward in time, but a bidirectional model needs the whole sequence: use unroll()');
    }
    const x = toFloatTensor(input, 'input', [null, c.inputSize]);
    const B = x.shape[0];
    const ws = this.forward(x.data, 1, B, this.initialState(h, B, 'h'));
    const H = c.hiddenSize;
    return {
      output: this.read(ws.outputs[c.numLayers - 1], [B, H]),
      y: this.read(ws.y, [B, outputWidth(c)]),
      h: this.finalState(ws),
    };
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
    checkKeys(options, ['loss', 'h0'], 'gradients');
    const c = this.config;
    const x = this.sequenceInput(input);
    const t = this.lossTarget(target, lossKind(options.loss), x.T, x.B);
    const h0 = this.initialState(options.h0, x.B);
    const { loss, ws } = this.lossAndGradients(x.data, x.T, x.B, h0, t);
    const m = this.heap();
    const grads: Record<string, Tensor> = {};
    for (const spec of this.layout.specs) {
      const from = this.gradBase / 4 + spec.offset;
      grads[spec.name] = { data: m.slice(from, from + spec.size), shape: [...spec.shape] };
    }
    const states = c.numLayers * directions(c);
    return {
      loss,
      grads,
      input: this.readSequence(ws.dx, x.T, x.B, c.inputSize),
      h0: this.read(ws.dh0, [states, x.B, c.hiddenSize]),
    };
  }

  /**
   * One optimizer step on one batch: forward, loss, BPTT, optional clipping by global norm, update.
   * If the loss or a gradient is not finite, throws NonFiniteError and leaves the parameters unchanged.
   */
  step(input: TensorInput, target: TensorInput, options: StepOptions = {}): StepResult {
    checkKeys(options, ['loss', 'h0', 'optimizer', 'clipGradNorm'], 'step');
    const x = this.sequenceInput(input);
    const t = this.lossTarget(target, lossKind(options.loss), x.T, x.B);
    const h0 = this.initialState(options.h0, x.B);
    return this.stepTimeMajor(x.data, x.T, x.B, h0, t, optimizerConfig(options.optimizer), clipOption(options.clipGradNorm));
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
    this.workspaceBase = align16(this.gradBase + this.layout.count * 4);
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

  /** Checks a sequence input against the model and returns it time-major. */
  sequenceInput(input: TensorInput, name = 'input'): { data: Float32Array; T: number; B: number } {
    const c = this.config;
    const x = toFloatTensor(input, name, [null, null, c.inputSize]);
    const [d0, d1] = x.shape;
    if (c.batchFirst) return { data: swapLeadingAxes(x.data, d0, d1, c.inputSize), T: d1, B: d0 };
    return { data: x.data, T: d0, B: d1 };
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
  stepTimeMajor(x: Float32Array, T: number, B: number, h0: Float32Array | null, target: LossTarget,
    optimizer: OptimizerConfig, clip: number | undefined): StepResult {
    const state = this.optimizerState(optimizer);
    const { loss } = this.lossAndGradients(x, T, B, h0, target);
    const k = this.kernels();
    const n = this.layout.count;
    const gradNorm = Math.sqrt(k.sum_squares(this.gradBase, n));
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      throw new NonFiniteError(`step: the loss (${loss}) or gradient norm (${gradNorm}) is not finite; parameters left unchanged (lower the learning rate or clip gradients)`);
    }
    if (clip !== undefined) k.scale(this.gradBase, n, Math.min(1, clip / (gradNorm + 1e-6)));
    state.step += 1;
    const o = state.config;
    if (o.kind === 'sgd') {
      k.sgd_update(this.paramBase, this.gradBase, state.offset, n, o.lr, o.momentum, o.dampening,
        o.nesterov ? 1 : 0, o.weightDecay, state.step === 1 ? 1 : 0);
    } else {
      const v = state.offset + align16(n * 4);
      k.adam_update(this.paramBase, this.gradBase, state.offset, v, n, o.lr, o.betas[0], o.betas[1], o.eps,
        o.weightDecay, o.kind === 'adamw' ? 1 : 0, state.step);
    }
    return { loss, gradNorm };
  }

  // ---- the kernel sequence -------------------------------------------------------------------------------

  private forward(x: Float32Array, T: number, B: number, h0: Float32Array | null): Workspace {
    const c = this.config;
    const ws = this.workspace(T, B);
    const m = this.heap();
    m.set(x, ws.x / 4);
    if (h0) m.set(h0, ws.h0 / 4);
    else m.fill(0, ws.h0 / 4, ws.h0 / 4 + c.numLayers * directions(c) * B * c.hiddenSize);
    const k = this.kernels();
    const H = c.hiddenSize;
    const relu = c.nonlinearity === 'relu' ? 1 : 0;
    for (const p of this.layout.layers) {
      const input = p.layer === 0 ? ws.x : ws.outputs[p.layer - 1];
      k.rnn_forward(ws.outputs[p.layer] + p.direction * H * 4, input, this.stateAt(ws.h0, p, B),
        this.param(p.weightIh), this.param(p.weightHh), this.param(p.biasIh), this.param(p.biasHh),
        T, B, p.inputSize, H, featureSize(c), p.direction, relu);
    }
    if (c.outputSize) {
      k.linear_forward(ws.y, ws.outputs[c.numLayers - 1], this.param(this.layout.headWeight),
        this.param(this.layout.headBias), T * B, featureSize(c), c.outputSize);
    }
    return ws;
  }

  private lossAndGradients(x: Float32Array, T: number, B: number, h0: Float32Array | null,
    target: LossTarget): { loss: number; ws: Workspace } {
    const ws = this.forward(x, T, B, h0);
    const loss = this.loss(ws, target);
    this.backward(ws);
    return { loss, ws };
  }

  /** Writes dloss/dy into ws.dy and returns the loss. */
  private loss(ws: Workspace, target: LossTarget): number {
    const { T, B } = ws;
    const O = outputWidth(this.config);
    const m = this.heap();
    // Many-to-one: only the last step's rows enter the loss; every other step gets a zero gradient.
    const first = target.lastStep ? (T - 1) * B : 0;
    const rows = T * B - first;
    if (target.lastStep) m.fill(0, ws.dy / 4, ws.dy / 4 + first * O);
    const k = this.kernels();
    if (target.kind === 'mse') {
      m.set(target.data, ws.target / 4 + first * O);
      const at = first * O * 4;
      return k.mse_loss(ws.dy + at, ws.y + at, ws.target + at, rows * O, rows * O);
    }
    new Int32Array(m.buffer).set(target.ids, ws.target / 4);
    return k.cross_entropy_loss(ws.dy + first * O * 4, ws.y + first * O * 4, ws.target, rows, O, rows);
  }

  /** Backpropagation through the head and every layer, from ws.dy to every gradient. */
  private backward(ws: Workspace): void {
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
    const relu = c.nonlinearity === 'relu' ? 1 : 0;
    for (let layer = c.numLayers - 1; layer >= 0; layer--) {
      // Both directions of a layer read the same input, so their input gradients add up in one buffer.
      const dInput = layer === 0 ? ws.dx : ws.dOutputs[free];
      const inputSize = layer === 0 ? c.inputSize : DH;
      zero(dInput, T * B * inputSize);
      for (const p of this.layout.layers.filter((l) => l.layer === layer)) {
        k.rnn_backward(dInput, this.stateAt(ws.dh0, p, B), this.grad(p.weightIh), this.grad(p.weightHh),
          this.grad(p.biasIh), this.grad(p.biasHh), ws.dpre, dTop + p.direction * H * 4,
          ws.outputs[layer] + p.direction * H * 4, layer === 0 ? ws.x : ws.outputs[layer - 1],
          this.stateAt(ws.h0, p, B), this.param(p.weightIh), this.param(p.weightHh),
          T, B, inputSize, H, DH, p.direction, relu);
      }
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

  /** The heap as float32, re-created here and only here after the memory grew (growth detaches views). */
  private heap(): Float32Array {
    const buffer = this.alive().buffer;
    if (this.view.buffer !== buffer) this.view = new Float32Array(buffer);
    return this.view;
  }

  /** Lays out the activation caches for (T, B), growing the heap if this is the largest call so far. */
  private workspace(T: number, B: number): Workspace {
    const ws = workspaceLayout(this.config, T, B, this.workspaceBase);
    this.alive().reserve(ws.end);
    return ws;
  }

  /** The optimizer's state, allocated (zeroed) on first use and again when its kind changes. */
  private optimizerState(config: OptimizerConfig): OptimizerState {
    const tensors = optimizerStateTensors(config);
    const current = this.optimizer;
    if (current && current.config.kind === config.kind && optimizerStateTensors(current.config) === tensors) {
      current.config = config;
      return current;
    }
    const offset = align16(this.gradBase + this.layout.count * 4);
    const bytes = tensors * align16(this.layout.count * 4);
    this.alive().reserve(offset + bytes);
    this.heap().fill(0, offset / 4, (offset + bytes) / 4);
    this.workspaceBase = align16(offset + bytes);
    this.optimizer = { config, offset, step: 0 };
    return this.optimizer;
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
  }

  /** h0 checked as [L·D, B, H], or null for zeros. */
  initialState(value: TensorInput | undefined, B: number, name = 'h0'): Float32Array | null {
    if (value === undefined) return null;
    const c = this.config;
    return toFloatTensor(value, name, [c.numLayers * directions(c), B, c.hiddenSize]).data;
  }

  /** h_n: each forward direction's state after its last step t = T-1, each reverse direction's after t = 0. */
  private finalState(ws: Workspace): Tensor {
    const c = this.config;
    const { T, B } = ws;
    const H = c.hiddenSize;
    const DH = featureSize(c);
    const m = this.heap();
    const out = new Float32Array(c.numLayers * directions(c) * B * H);
    for (const p of this.layout.layers) {
      const t = p.direction === 1 ? 0 : T - 1;
      const to = (this.stateAt(0, p, B)) / 4;
      for (let b = 0; b < B; b++) {
        const from = ws.outputs[p.layer] / 4 + (t * B + b) * DH + p.direction * H;
        out.set(m.subarray(from, from + H), to + b * H);
      }
    }
    return { data: out, shape: [c.numLayers * directions(c), B, H] };
  }

  private read(ptr: number, shape: number[]): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    return { data: this.heap().slice(ptr / 4, ptr / 4 + n), shape };
  }

  /** Copies a time-major [T, B, F] tensor out of the heap, in the user's axis order. */
  private readSequence(ptr: number, T: number, B: number, F: number): Tensor {
    const t = this.read(ptr, [T, B, F]);
    return this.config.batchFirst ? { data: swapLeadingAxes(t.data, T, B, F), shape: [B, T, F] } : t;
  }
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;
