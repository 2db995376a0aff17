/**
 * The optimizer's state in the heap: its configuration, step count and state tensors (moments, momentum
 * buffers), each one parameter block long, laid out from `base` on the first step and again when the kind
 * changes. A step prepares it, and gets back the way to undo that preparation if the step fails; an update that
 * would write NaN or infinity anywhere is refused before anything is written.
 */
import type { Kernels } from './backend.js';
import { NonFiniteError } from './errors.js';
import type { Heap } from './heap.js';
import { align16 } from './layout.js';
import { applyUpdate, optimizerInitialState, optimizerStateTensors } from './optimizers.js';
import type { OptimizerConfig, OptimizerSnapshot } from './types.js';

interface State {
  config: OptimizerConfig;
  step: number;
}

export class OptimizerMemory {
  private state: State | null = null;

  constructor(
    private readonly heap: Heap,
    /** Parameters per state tensor. */
    private readonly count: number,
    /** Byte offset of the first state tensor. */
    readonly base: number,
  ) {}

  /** The first byte after the state tensors: where the workspace begins. */
  get end(): number {
    return this.state ? this.base + this.tensorBytes * optimizerStateTensors(this.state.config) : this.base;
  }

  get current(): Readonly<State> | null {
    return this.state;
  }

  /**
   * Makes the state ready for a step with `config`: kept when the kind and its tensors are the same (the new
   * hyperparameters apply from this step on), else laid out afresh. Returns what puts everything back.
   */
  prepare(config: OptimizerConfig): () => void {
    const previous = this.state && { ...this.state };
    if (
      this.state
      && this.state.config.kind === config.kind
      && optimizerStateTensors(this.state.config) === optimizerStateTensors(config)
    ) {
      this.state.config = config;
      return () => {
        this.state = previous;
      };
    }
    // Replaced: the old tensors are kept in JS (a rare event: a change of kind) until the step has succeeded.
    const saved = previous && this.tensors();
    this.allocate(config, 0);
    return () => {
      this.state = previous;
      if (saved) this.place(saved);
    };
  }

  /** The update with the gradients at `g`: checked in full first (writing nothing), then applied. */
  update(k: Kernels, p: number, g: number): void {
    const state = this.state!;
    const call = { p, g, state: this.offsets(), n: this.count, step: state.step + 1 };
    if (applyUpdate(k, state.config, call, 0)) {
      throw new NonFiniteError(
        `step: the ${state.config.kind} update would write NaN or infinity into the parameters or `
          + `the optimizer's state (lr ${state.config.lr}); parameters left unchanged`,
      );
    }
    applyUpdate(k, state.config, call, 1);
    state.step += 1;
  }

  /** A copy for checkpoints, or null before the first step. */
  snapshot(): OptimizerSnapshot | null {
    if (!this.state) return null;
    return { config: { ...this.state.config }, step: this.state.step, tensors: this.tensors() };
  }

  /** Restores a snapshot already checked against this model (null forgets the state). */
  load(snapshot: OptimizerSnapshot | null): void {
    if (!snapshot) {
      this.forget();
      return;
    }
    this.allocate(snapshot.config, snapshot.step);
    this.place(snapshot.tensors);
  }

  forget(): void {
    this.state = null;
  }

  private get tensorBytes(): number {
    return align16(this.count * 4);
  }

  private offsets(): number[] {
    return Array.from({ length: optimizerStateTensors(this.state!.config) }, (_, i) => this.base + i * this.tensorBytes);
  }

  private tensors(): Float32Array[] {
    return this.offsets().map((ptr) => this.heap.f32.slice(ptr / 4, ptr / 4 + this.count));
  }

  private place(tensors: readonly Float32Array[]): void {
    this.heap.reserve(this.end);
    this.offsets().forEach((ptr, i) => this.heap.f32.set(tensors[i], ptr / 4));
  }

  /** Lays the state out for `config`; the heap grows first, so a MemoryLimitError leaves the old state in place. */
  private allocate(config: OptimizerConfig, step: number): void {
    const bytes = this.tensorBytes * optimizerStateTensors(config);
    this.heap.reserve(this.base + bytes);
    this.state = { config, step };
    this.heap.fill(this.base, bytes / 4, optimizerInitialState(config));
  }
}
