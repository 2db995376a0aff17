/** Elementwise operations. */
import type { Kernels } from '../../backend.js';
import { at, type JsHeap } from './heap.js';

export function vectorKernels(heap: JsHeap): Pick<Kernels, 'multiply' | 'non_finite'> {
  return {
    multiply(out, a, b, n) {
      const m = heap.f32;
      for (let i = 0; i < n; i++) m[at(out) + i] = m[at(a) + i] * m[at(b) + i];
    },

    non_finite(x, n) {
      const m = heap.f32;
      for (let i = 0; i < n; i++) if (!Number.isFinite(m[at(x) + i])) return 1;
      return 0;
    },
  };
}
