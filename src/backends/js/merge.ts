/**
 * The merge of a bidirectional layer's two directions (Keras's merge_mode): each row of inp holds the forward
 * direction's H values, then the reverse direction's; mode 1 sums them, 2 takes their mean, 3 their product.
 */
import type { Kernels } from '../../backend.js';
import { at, type JsHeap } from './heap.js';

export function mergeKernels(heap: JsHeap): Pick<Kernels, 'merge_forward' | 'merge_backward'> {
  return {
    merge_forward(out, inp, rows, H, mode) {
      const m = heap.f32;
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < H; j++) {
          const [f, b] = [m[at(inp) + r * 2 * H + j], m[at(inp) + r * 2 * H + H + j]];
          m[at(out) + r * H + j] = mode === 3 ? f * b : mode === 2 ? (f + b) * 0.5 : f + b;
        }
      }
    },

    merge_backward(dinp, dout, inp, rows, H, mode) {
      const m = heap.f32;
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < H; j++) {
          const g = m[at(dout) + r * H + j];
          const [f, b] = [at(inp) + r * 2 * H + j, at(inp) + r * 2 * H + H + j];
          // The product's gradient into each half is dout times the other half; the sum's is dout, the mean's half.
          m[at(dinp) + r * 2 * H + j] = mode === 3 ? g * m[b] : mode === 2 ? g * 0.5 : g;
          m[at(dinp) + r * 2 * H + H + j] = mode === 3 ? g * m[f] : mode === 2 ? g * 0.5 : g;
        }
      }
    },
  };
}
