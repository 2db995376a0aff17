/**
 * The JS backend's memory: one growable buffer viewed as float32 and int32, addressed like the WebAssembly
 * build's by byte offsets. Every kernel reads `heap.f32` / `heap.i32` when it runs, never earlier: growing
 * replaces both views.
 */
import { MemoryLimitError } from '../../errors.js';

/** The largest heap a model may reserve: 4 GiB, like wasm32's address space. */
const MAX_HEAP_BYTES = 2 ** 32;

export class JsHeap {
  f32: Float32Array = new Float32Array(0);
  i32: Int32Array = new Int32Array(0);

  get buffer(): ArrayBuffer {
    return this.f32.buffer as ArrayBuffer;
  }

  reserve(bytes: number): void {
    if (bytes <= this.f32.byteLength) return;
    if (bytes > MAX_HEAP_BYTES) {
      throw new MemoryLimitError(`the model needs ${bytes} bytes; the JS backend can address at most ${MAX_HEAP_BYTES}`);
    }
    // Grow geometrically, like WebAssembly memory, so repeated small increases stay cheap.
    const size = Math.min(MAX_HEAP_BYTES, Math.max(bytes, 2 * this.f32.byteLength, 1 << 16));
    let next: Float32Array;
    try {
      next = new Float32Array(Math.ceil(size / 4));
    } catch {
      throw new MemoryLimitError(`could not allocate ${size} bytes for the JS backend's heap`);
    }
    next.set(this.f32);
    this.f32 = next;
    this.i32 = new Int32Array(next.buffer);
  }
}

/** Pointers arrive in bytes; the heap is indexed in 4-byte elements. */
export const at = (ptr: number): number => ptr >> 2;
