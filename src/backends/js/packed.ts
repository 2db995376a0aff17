/**
 * The reference's packed layout is PyTorch's: its forward kernels read rows of w as they are, so packing is
 * a copy and a product is a row's dot product.
 */
import type { Kernels } from '../../backend.js';
import { at, type JsHeap } from './heap.js';

export function packedKernels(heap: JsHeap): Pick<Kernels, 'pack_weights' | 'packed_size'> {
  return {
    pack_weights(dst, w, R, K) {
      heap.f32.copyWithin(at(dst), at(w), at(w) + R * K);
    },

    packed_size: (R, K) => R * K,
  };
}

/** Σ_k w[r, k] v[k] for one row r of a [rows, n] weight (a byte pointer) and v an element index. */
export function dot(heap: JsHeap, w: number, r: number, v: number, n: number): number {
  const m = heap.f32;
  let a = 0;
  for (let k = 0; k < n; k++) a += m[at(w) + r * n + k] * m[v + k];
  return a;
}
