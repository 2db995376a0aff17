/** The output head y = x Wᵀ + b, applied to every row (every step of every sequence) at once. */
import type { Kernels } from '../../backend.js';
import { at, type JsHeap } from './heap.js';

export function linearKernels(heap: JsHeap): Pick<Kernels, 'linear_forward' | 'linear_backward'> {
  return {
    linear_forward(y, x, w, b, N, I, O) {
      const m = heap.f32;
      for (let n = 0; n < N; n++) {
        for (let o = 0; o < O; o++) {
          let a = m[at(b) + o];
          for (let k = 0; k < I; k++) a += m[at(w) + o * I + k] * m[at(x) + n * I + k];
          m[at(y) + n * O + o] = a;
        }
      }
    },

    linear_backward(dx, dw, db, dy, x, w, N, I, O) {
      const m = heap.f32;
      m.fill(0, at(dx), at(dx) + N * I);
      for (let n = 0; n < N; n++) {
        for (let o = 0; o < O; o++) {
          const g = m[at(dy) + n * O + o];
          m[at(db) + o] += g;
          for (let k = 0; k < I; k++) {
            m[at(dw) + o * I + k] += g * m[at(x) + n * I + k];
            m[at(dx) + n * I + k] += g * m[at(w) + o * I + k];
          }
        }
      }
    },
  };
}
