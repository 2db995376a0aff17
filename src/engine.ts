/**
 * The engine: one model's backend instance, its memory plan and the kernel sequence (load, run, loss, backward,
 * update). Everything here takes inputs already checked (inputs.ts) and never does arithmetic on tensors itself,
 * so every backend runs exactly the same sequence of kernel calls.
 *
 * Memory, from the heap's base: parameters (one block, `state_dict` order), their gradients, what the parts keep
 * for the model's lifetime (the core's packed weights), the optimizer's state (allocated on the first step), then
 * the workspace of the largest call so far. Every call that throws leaves the model as it was: `step` restores
 * the generator and the optimizer's state when anything fails, and writes the parameters only in its last kernel.
 */
import type { BackendName } from './backend.js';
import { createInstance } from './backends/select.js';
import { CELLS } from './cells.js';
import { NonFiniteError } from './errors.js';
import { Heap, copyOut, stack } from './heap.js';
import type { Batch, LossTarget, States } from './inputs.js';
import { type ParamLayout, Slicer, align16, featureSize, outputWidth, stateCore, stateShape } from './layout.js';
import { OptimizerMemory } from './optimizer-memory.js';
import type { BackendRequest } from './options.js';
import type { Clipping } from './step-options.js';
import { type Parts, createParts } from './parts/index.js';
import type { Context, Stream } from './parts/part.js';
import { Random } from './random.js';
import { checkFinite } from './tensor.js';
import type { CellResult, GradientsResult, ModelConfig, OptimizerConfig, StepResult, Tensor, UnrollResult } from './types.js';

/** A call's workspace: the stream the parts share, plus what the engine itself keeps there. */
interface Workspace {
  /** The call shape it was laid out for: the same shape reuses it (a stream of `cell` calls does, every time). */
  lengths: boolean;
  base: number;
  s: Stream;
  /** The gradient into the input, taken whether or not a call wants it. */
  dx: number;
  /** The loss target: float32 rows for MSE, int32 class ids for cross-entropy. */
  target: number;
  /** Views of a one-step call's results, cut once per heap (see `cell`). */
  views?: { heap: Float32Array; output: Float32Array; y: Float32Array; h: Float32Array[]; c: Float32Array[] | null };
}

export class Engine {
  readonly config: ModelConfig;
  readonly heap: Heap;
  readonly layout: ParamLayout;
  /** The model's generator: initialisation, dropout masks, shuffling and sampling. */
  readonly random: Random;
  private readonly parts: Parts;
  private readonly paramBase: number;
  private readonly gradBase: number;
  private readonly optimizer: OptimizerMemory;
  private readonly ctx: Context;
  private ws: Workspace | null = null;
  private readonly stateSize: number; // L·D·H of the state core: the initial states' size per batch column

  private constructor(config: ModelConfig, heap: Heap) {
    this.config = config;
    this.heap = heap;
    this.stateSize = stateShape(config, 1).reduce((a, b) => a * b);
    this.parts = createParts(config);
    this.layout = this.parts.layout;
    this.paramBase = align16(heap.base);
    this.gradBase = align16(this.paramBase + this.layout.count * 4);
    const lasting = new Slicer(this.gradBase + this.layout.count * 4);
    for (const part of this.parts.chain) part.lasting?.(lasting.take, heap.kernels);
    this.optimizer = new OptimizerMemory(heap, this.layout.count, lasting.end);
    this.random = new Random(config.seed);
    this.ctx = {
      k: heap.kernels,
      heap,
      random: this.random,
      param: (offset) => (offset < 0 ? 0 : this.paramBase + offset * 4),
      grad: (offset) => (offset < 0 ? 0 : this.gradBase + offset * 4),
    };
    heap.reserve(this.optimizer.base);
    this.initParameters(new Random(config.seed));
  }

  static async create(config: ModelConfig, backend: BackendRequest): Promise<Engine> {
    return new Engine(config, new Heap(await createInstance(backend)));
  }

  get backend(): BackendName {
    return this.heap.backend;
  }

  // ---- calls ---------------------------------------------------------------------------------------------------

  /** The whole sequence, into the caller's buffers where given (already checked to have the results' sizes). */
  unroll(
    batch: Batch,
    init: States,
    training: boolean,
    out: { output?: Float32Array; y?: Float32Array; hN?: Float32Array; cN?: Float32Array },
  ): UnrollResult {
    const c = this.config;
    const { T, B } = batch;
    const ws = this.forward(batch, init, training);
    const output = this.heap.readSequence(ws.s.features, T, B, featureSize(c), c.batchFirst, out.output);
    return { output, y: this.readY(ws, out.y, output), ...this.finalState(ws, batch.lengths, out.hN, out.cN) };
  }

  /**
   * One step of a unidirectional model: x [B, I] (or ids [B]) and the previous states, neither checked for NaN
   * yet: that is one vector pass over their copies in the heap, and only when it finds one, the JS pass that
   * names it. The results' views are kept with the workspace, as cutting them afresh cost about 0.4 µs of 6.3.
   */
  cell(
    x: Float32Array | Int32Array,
    B: number,
    init: States,
    names: [string, string],
    out: { output?: Float32Array; y?: Float32Array; h?: Float32Array; c?: Float32Array },
  ): CellResult {
    const c = this.config;
    const ws = this.load({ data: x, T: 1, B, lengths: null }, init, false);
    const k = this.heap.kernels;
    const s = ws.s;
    const states = c.numLayers * B * c.hiddenSize;
    if (
      (x instanceof Float32Array ? k.non_finite(s.x, x.length) : 0)
      | (init.h ? k.non_finite(s.h0, states) : 0)
      | (init.c ? k.non_finite(s.c0, states) : 0)
    ) {
      if (x instanceof Float32Array) checkFinite(x, 'input');
      if (init.h) checkFinite(init.h, names[0]);
      if (init.c) checkFinite(init.c, names[1]);
    }
    this.run(ws);
    const views = this.stepViews(ws);
    const shape = [c.numLayers, B, c.hiddenSize];
    const output = copyOut(views.output, out.output);
    const result: CellResult = {
      output: { data: output, shape: [B, c.hiddenSize] },
      y: { data: copyOut(s.y === s.features ? output : views.y, out.y), shape: [B, outputWidth(c)] },
      h: { data: stack(views.h, out.h), shape },
    };
    if (views.c) result.c = { data: stack(views.c, out.c), shape };
    return result;
  }

  /** The loss and every gradient by backpropagation through time (the input's unless it is token ids). */
  gradients(batch: Batch, init: States, target: LossTarget): GradientsResult {
    const c = this.config;
    const generator = this.random.state;
    const { loss, ws } = this.lossAndGradients(batch, init, target, true);
    if (!Number.isFinite(loss) || this.heap.kernels.non_finite(this.gradBase, this.layout.count)) {
      this.random.state = generator; // the dropout masks drawn for nothing are undrawn
      throw new NonFiniteError(`gradients: the loss (${loss}) or a gradient is not finite (the inputs or weights overflow float32)`);
    }
    const grads: Record<string, Tensor> = {};
    for (const spec of this.layout.specs) grads[spec.name] = this.heap.read(this.gradBase + spec.offset * 4, spec.shape);
    for (const [name, of] of this.layout.aliases) grads[name] = copy(grads[of]);
    const shape = stateShape(c, batch.B);
    return {
      loss,
      grads: ordered(grads, this.layout.names),
      ...(!c.embedding && { input: this.heap.readSequence(ws.dx, batch.T, batch.B, c.inputSize, c.batchFirst) }),
      h0: this.heap.read(ws.s.dh0, shape),
      ...(CELLS[stateCore(c).cell].cellState && { c0: this.heap.read(ws.s.dc0, shape) }),
    };
  }

  /** The loss alone, in inference mode (no dropout, no gradients); with `withState` the final state too. */
  evaluate(batch: Batch, init: States, target: LossTarget, withState = false): { loss: number; hN?: Tensor; cN?: Tensor } {
    const ws = this.forward(batch, init, false);
    const loss = this.loss(ws, target);
    return withState ? { loss, ...this.finalState(ws, batch.lengths) } : { loss };
  }

  /**
   * One optimizer step: forward, loss, BPTT, clipping, update. A non-finite loss or gradient, or an update that
   * would write a non-finite parameter or optimizer state, throws NonFiniteError with everything as it was.
   */
  step(batch: Batch, init: States, target: LossTarget, optimizer: OptimizerConfig, clip: Clipping): StepResult {
    const generator = this.random.state;
    const undo = this.optimizer.prepare(optimizer);
    try {
      const { loss, ws } = this.lossAndGradients(batch, init, target, false);
      const k = this.heap.kernels;
      const n = this.layout.count;
      const gradNorm = Math.sqrt(k.sum_squares(this.gradBase, n));
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        throw new NonFiniteError(
          `step: the loss (${loss}) or gradient norm (${gradNorm}) is not finite; parameters left `
            + 'unchanged (lower the learning rate or clip gradients)',
        );
      }
      if (clip.value !== undefined) k.clamp(this.gradBase, n, clip.value);
      if (clip.norm !== undefined) {
        const norm = clip.value === undefined ? gradNorm : Math.sqrt(k.sum_squares(this.gradBase, n));
        k.scale(this.gradBase, n, Math.min(1, clip.norm / (norm + 1e-6)));
      }
      this.optimizer.update(k, this.paramBase, this.gradBase);
      this.parametersChanged();
      return { loss, gradNorm, ...this.finalState(ws, batch.lengths) };
    } catch (error) {
      this.random.state = generator;
      undo();
      throw error;
    }
  }

  // ---- weights and state ---------------------------------------------------------------------------------------

  /** Every parameter, copied, under its names (a tied weight under both). */
  stateDict(): Record<string, Tensor> {
    const dict: Record<string, Tensor> = {};
    for (const spec of this.layout.specs) dict[spec.name] = this.heap.read(this.paramBase + spec.offset * 4, spec.shape);
    for (const [name, of] of this.layout.aliases) dict[name] = copy(dict[of]);
    return ordered(dict, this.layout.names);
  }

  /** Writes every parameter (each already checked: present once, its shape, finite). */
  writeParameters(values: ReadonlyMap<string, Float32Array>): void {
    const m = this.heap.f32;
    for (const spec of this.layout.specs) m.set(values.get(spec.name)!, this.paramBase / 4 + spec.offset);
    this.parametersChanged();
  }

  /** Every parameter by the name it is stored under, copied (for the best epoch's weights, say). */
  parameters(): Map<string, Float32Array> {
    return new Map(
      this.layout.specs.map((spec) => [
        spec.name,
        this.heap.f32.slice(this.paramBase / 4 + spec.offset, this.paramBase / 4 + spec.offset + spec.size),
      ]),
    );
  }

  /** What puts back the parameters, the optimizer's state and the generator as they are now: a long call's undo. */
  mark(): () => void {
    const parameters = this.heap.f32.slice(this.paramBase / 4, this.paramBase / 4 + this.layout.count);
    const optimizer = this.optimizer.snapshot();
    const generator = this.random.state;
    return () => {
      if (this.heap.disposed) return;
      this.heap.f32.set(parameters, this.paramBase / 4);
      this.parametersChanged();
      this.optimizer.load(optimizer);
      this.random.state = generator;
    };
  }

  get optimizerMemory(): OptimizerMemory {
    return this.optimizer;
  }

  dispose(): void {
    this.heap.dispose();
    this.ws = null;
    this.optimizer.forget();
  }

  // ---- the kernel sequence -------------------------------------------------------------------------------------

  private forward(batch: Batch, init: States, training: boolean): Workspace {
    return this.run(this.load(batch, init, training));
  }

  private lossAndGradients(batch: Batch, init: States, target: LossTarget, inputGradient: boolean): { loss: number; ws: Workspace } {
    const ws = this.forward(batch, init, true);
    const loss = this.loss(ws, target);
    this.backward(ws, inputGradient);
    return { loss, ws };
  }

  /** Lays out the workspace for the batch and copies the input and the initial states into it. */
  private load(batch: Batch, init: States, training: boolean): Workspace {
    const ws = this.workspace(batch.T, batch.B, batch.lengths !== null, training);
    const s = ws.s;
    if (batch.data instanceof Int32Array) this.heap.i32.set(batch.data, s.ids / 4);
    else this.heap.f32.set(batch.data, s.x / 4);
    if (batch.lengths) this.heap.i32.set(batch.lengths, s.lengths / 4);
    this.place(s.h0, init.h, this.stateSize * batch.B);
    if (s.c0) this.place(s.c0, init.c, this.stateSize * batch.B);
    return ws;
  }

  /** An initial state into the heap, or zeros (a method, not a closure: `cell` comes here on every step). */
  private place(ptr: number, value: Float32Array | null, n: number): void {
    if (value) this.heap.f32.set(value, ptr / 4);
    else this.heap.fill(ptr, n);
  }

  private run(ws: Workspace): Workspace {
    for (const part of this.parts.chain) part.forward(this.ctx, ws.s);
    return ws;
  }

  /** Writes dloss/dy and returns the loss: over every step, each column's last step, or the head's one row per column. */
  private loss(ws: Workspace, target: LossTarget): number {
    const { T, B } = ws.s;
    const s = ws.s;
    const O = outputWidth(this.config);
    const k = this.heap.kernels;
    const rows = target.kind === 'mse' ? target.data : target.ids;
    const width = target.kind === 'mse' ? O : 1;
    const view = target.kind === 'mse' ? this.heap.f32 : this.heap.i32;
    const lossKernel = target.kind === 'mse' ? k.mse_loss : k.cross_entropy_loss;
    // Cross-entropy takes logits: a softmax head's are its linear layer's output, the softmax is the loss's own.
    s.lossOnLogits = target.kind === 'cross_entropy';
    const y = s.lossOnLogits ? s.logits : s.y;
    if (this.config.headOn === 'final') {
      view.set(rows, ws.target / 4);
      return lossKernel(s.dy, y, ws.target, 0, 1, B, O, 0);
    }
    if (!target.lastStep) view.set(rows, ws.target / 4);
    else {
      // A many-to-one target [B, ·] goes to each column's last valid step; the kernel reads only those rows.
      for (let b = 0; b < B; b++) {
        const last = (s.lengths ? this.heap.i32[s.lengths / 4 + b] : T) - 1;
        view.set(rows.subarray(b * width, (b + 1) * width), ws.target / 4 + (last * B + b) * width);
      }
    }
    return lossKernel(s.dy, y, ws.target, s.lengths, T, B, O, target.lastStep ? 1 : 0);
  }

  /** Backpropagation through every part, from dy to every gradient; the input's only when it is wanted. */
  private backward(ws: Workspace, inputGradient: boolean): void {
    this.heap.fill(this.gradBase, this.layout.count);
    ws.s.dx = inputGradient || this.config.embedding ? ws.dx : 0;
    const chain = this.parts.chain;
    for (let i = chain.length - 1; i >= 0; i--) chain[i].backward(this.ctx, ws.s);
  }

  /**
   * The workspace for (T, B), growing the heap if this is the largest call so far; `lengths` false when every
   * column is full, and no dropout outside training. The same call shape reuses the last layout.
   */
  private workspace(T: number, B: number, lengths: boolean, training: boolean): Workspace {
    const base = this.optimizer.end;
    const last = this.ws;
    if (last && last.s.T === T && last.s.B === B && last.lengths === lengths && last.s.training === training && last.base === base) {
      return last;
    }
    const c = this.config;
    const slices = new Slicer(base);
    const take = slices.take;
    const states = this.stateSize * B;
    const cellState = CELLS[stateCore(c).cell].cellState;
    const yRows = c.headOn === 'final' ? B : T * B;
    const s: Stream = {
      T,
      B,
      training,
      x: take(T * B * c.inputSize),
      ids: 0,
      lengths: lengths ? take(B) : 0,
      h0: take(states),
      c0: cellState ? take(states) : 0,
      dh0: take(states),
      dc0: cellState ? take(states) : 0,
      dy: take(yRows * outputWidth(c)),
      dx: 0,
      features: 0,
      dFeatures: 0,
      final: 0,
      dFinal: 0,
      y: 0,
      logits: 0,
      lossOnLogits: false,
    };
    const dx = take(T * B * c.inputSize);
    const target = take(yRows * outputWidth(c));
    for (const part of this.parts.chain) part.plan(this.ctx, s, take);
    this.heap.reserve(slices.end);
    this.ws = { lengths, base, s, dx, target };
    return this.ws;
  }

  private parametersChanged(): void {
    for (const part of this.parts.chain) part.parametersChanged?.();
  }

  private initParameters(random: Random): void {
    const m = this.heap.f32;
    for (const spec of this.layout.specs) {
      const from = this.paramBase / 4 + spec.offset;
      const { init } = spec;
      if (init.kind === 'uniform') for (let i = 0; i < spec.size; i++) m[from + i] = random.uniform(-init.bound, init.bound);
      else {
        for (let i = 0; i < spec.size; i++) m[from + i] = random.normal();
        const width = spec.shape[1];
        if (init.zeroRow !== null) m.fill(0, from + init.zeroRow * width, from + (init.zeroRow + 1) * width);
      }
    }
    this.parametersChanged();
  }

  // ---- results out of the heap ---------------------------------------------------------------------------------

  /**
   * y, into the caller's buffer where given. Without a head it is the output, copied from `output`: a threaded
   * model's heap is shared memory, which V8 copies out of at a third of the speed (3,200 floats: 0.56 µs, 0.19).
   */
  private readY(ws: Workspace, into: Float32Array | undefined, output: Tensor): Tensor {
    const c = this.config;
    const { T, B } = ws.s;
    if (ws.s.y === ws.s.features) return { data: copyOut(output.data, into), shape: output.shape };
    if (c.headOn === 'final') return this.heap.read(ws.s.y, [B, outputWidth(c)], into);
    return this.heap.readSequence(ws.s.y, T, B, outputWidth(c), c.batchFirst, into);
  }

  /** hN (and cN for an LSTM) [L·D, B, H] after the call, into the caller's buffers where given. */
  private finalState(ws: Workspace, lengths: Int32Array | null, hInto?: Float32Array, cInto?: Float32Array): { hN: Tensor; cN?: Tensor } {
    const c = this.config;
    const shape = stateShape(c, ws.s.B);
    const n = shape[0] * shape[1] * shape[2];
    const h = hInto ?? new Float32Array(n);
    const cs = CELLS[stateCore(c).cell].cellState ? (cInto ?? new Float32Array(n)) : null;
    this.parts.core.finalState(this.ctx, ws.s, lengths, h, cs);
    return cs ? { hN: { data: h, shape }, cN: { data: cs, shape } } : { hN: { data: h, shape } };
  }

  private stepViews(ws: Workspace): NonNullable<Workspace['views']> {
    const m = this.heap.f32;
    if (ws.views?.heap === m) return ws.views;
    const c = this.config;
    const n = ws.s.B * c.hiddenSize;
    const states = this.parts.core.stepStates();
    // One step in one direction: each layer's output [1, B, H] is its new state.
    ws.views = {
      heap: m,
      output: this.heap.view(ws.s.features, n),
      y: this.heap.view(ws.s.y, ws.s.B * outputWidth(c)),
      h: states.h.map((p) => this.heap.view(p, n)),
      c: states.c?.map((p) => this.heap.view(p, n)) ?? null,
    };
    return ws.views;
  }
}

const copy = (t: Tensor): Tensor => ({ data: t.data.slice(), shape: [...t.shape] });

/** The same entries in the given order of names. */
function ordered(dict: Record<string, Tensor>, names: readonly string[]): Record<string, Tensor> {
  return Object.fromEntries(names.map((name) => [name, dict[name]]));
}
