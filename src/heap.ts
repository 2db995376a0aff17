/**
 * A model's backend instance and its heap, seen from TypeScript: typed views re-created in the one place the
 * heap grows, and the copies in and out of it. Growing detaches the old buffer, so nothing keeps a view across
 * `reserve`; after `dispose` every view is dropped and any use throws DisposedError.
 */
import type { BackendName, KernelInstance, Kernels } from './backend.js';
import { DisposedError } from './errors.js';
import { swapLeadingAxes } from './tensor.js';
import type { Tensor } from './types.js';

export class Heap {
  private instance: KernelInstance | null;
  private f32View = new Float32Array(0);
  private i32View = new Int32Array(0);

  constructor(instance: KernelInstance) {
    this.instance = instance;
  }

  get backend(): BackendName {
    return this.alive().backend;
  }

  get kernels(): Kernels {
    return this.alive().kernels;
  }

  /** The first byte a model may use. */
  get base(): number {
    return this.alive().base;
  }

  /** Threads that run the kernels. */
  get threads(): number {
    return this.alive().threads ?? 1;
  }

  get disposed(): boolean {
    return this.instance === null;
  }

  /** Makes the heap at least `bytes` long, and the views views of the heap as it is now. */
  reserve(bytes: number): void {
    const instance = this.alive();
    instance.reserve(bytes);
    if (this.f32View.buffer !== instance.buffer) {
      this.f32View = new Float32Array(instance.buffer);
      this.i32View = new Int32Array(instance.buffer);
    }
  }

  /** The heap as float32; valid until the next `reserve`. */
  get f32(): Float32Array {
    this.alive();
    return this.f32View;
  }

  /** The heap as int32, for lengths and ids. */
  get i32(): Int32Array {
    this.alive();
    return this.i32View;
  }

  /** n floats from `ptr` as a view (not a copy). */
  view(ptr: number, n: number): Float32Array {
    return this.f32.subarray(ptr / 4, ptr / 4 + n);
  }

  fill(ptr: number, n: number, value = 0): void {
    this.f32.fill(value, ptr / 4, ptr / 4 + n);
  }

  /** Copies a tensor out of the heap, into `into` when given (already checked to have its size). */
  read(ptr: number, shape: readonly number[], into?: Float32Array): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    if (!into) return { data: this.f32.slice(ptr / 4, ptr / 4 + n), shape: [...shape] };
    into.set(this.view(ptr, n));
    return { data: into, shape: [...shape] };
  }

  /** Copies a time-major [T, B, F] tensor out of the heap, as [B, T, F] when `batchFirst`. */
  readSequence(ptr: number, T: number, B: number, F: number, batchFirst: boolean, into?: Float32Array): Tensor {
    if (!batchFirst) return this.read(ptr, [T, B, F], into);
    if (!into) return { data: swapLeadingAxes(this.read(ptr, [T, B, F]).data, T, B, F), shape: [B, T, F] };
    const m = this.f32;
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) into.set(m.subarray(ptr / 4 + (t * B + b) * F, ptr / 4 + (t * B + b + 1) * F), (b * T + t) * F);
    }
    return { data: into, shape: [B, T, F] };
  }

  /** Drops the instance and every view, so that the memory can be collected while this object is still referenced. */
  dispose(): void {
    this.instance?.release?.();
    this.instance = null;
    this.f32View = new Float32Array(0);
    this.i32View = new Int32Array(0);
  }

  private alive(): KernelInstance {
    if (!this.instance) throw new DisposedError('this model was disposed; create a new one');
    return this.instance;
  }
}

/** A copy of `from`: into the caller's buffer when given (already checked to have its size). */
export function copyOut(from: Float32Array, into: Float32Array | undefined): Float32Array {
  if (!into) return from.slice();
  into.set(from);
  return into;
}

/** The parts laid end to end, into the caller's buffer when given. */
export function stack(parts: readonly Float32Array[], into: Float32Array | undefined): Float32Array {
  const n = parts[0].length;
  const data = into ?? new Float32Array(parts.length * n);
  for (let i = 0; i < parts.length; i++) data.set(parts[i], i * n);
  return data;
}
