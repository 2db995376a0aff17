/**
 * The Elman RNN, one direction of one layer: h[t] = f(x[t] W_ihᵀ + b_ih + h[t-1] W_hhᵀ + b_hh), f = tanh or
 * relu. The output rows double as the activation cache: f' is recovered from h itself (1 - h² or h > 0).
 */
import type { Kernels } from '../../backend.js';
import * as activations from './activations.js';
import { at, type JsHeap } from './heap.js';
import { dot } from './packed.js';
import { inputBackward, previousRow, recurrentBackward, stepTime, zeroPadding } from './sequence.js';

export function rnnKernels(heap: JsHeap): Pick<Kernels, 'rnn_forward' | 'rnn_backward'> {
  return {
    rnn_forward(out, x, lengths, h0, w_ih, w_hh, b_ih, b_hh, T, B, I, H, ldo, reverse, relu) {
      const m = heap.f32;
      const f = relu ? activations.relu : Math.tanh;
      for (let s = 0; s < T; s++) {
        for (let b = 0; b < B; b++) {
          const t = stepTime(heap, lengths, b, s, T, reverse);
          if (t < 0) continue;
          const xRow = at(x) + (t * B + b) * I;
          const hRow = previousRow(s, t, b, B, H, h0, out, ldo, reverse);
          for (let j = 0; j < H; j++) {
            const a =
              (b_ih ? m[at(b_ih) + j] : 0) + (b_hh ? m[at(b_hh) + j] : 0) + dot(heap, w_ih, j, xRow, I) + dot(heap, w_hh, j, hRow, H);
            m[at(out) + (t * B + b) * ldo + j] = f(a);
          }
        }
      }
      zeroPadding(heap, out, ldo, H, lengths, T, B);
    },

    rnn_backward(dx, dh0, dw_ih, dw_hh, db_ih, db_hh, dpre, dout, out, x, lengths, h0, w_ih, w_hh, T, B, I, H, ldo, reverse, relu) {
      const m = heap.f32;
      // Padded steps contribute nothing: their pre-activation gradients stay zero.
      m.fill(0, at(dpre), at(dpre) + T * B * H);
      // dh0 doubles as the running gradient flowing into each column's previous state.
      m.fill(0, at(dh0), at(dh0) + B * H);
      for (let s = T - 1; s >= 0; s--) {
        for (let b = 0; b < B; b++) {
          const t = stepTime(heap, lengths, b, s, T, reverse);
          if (t < 0) continue;
          const dpreRow = at(dpre) + (t * B + b) * H;
          const dhRow = at(dh0) + b * H;
          for (let j = 0; j < H; j++) {
            const dh = m[at(dout) + (t * B + b) * ldo + j] + m[dhRow + j]; // from the output and from step t+1
            const h = m[at(out) + (t * B + b) * ldo + j];
            m[dpreRow + j] = dh * (relu ? (h > 0 ? 1 : 0) : 1 - h * h); // through f; relu'(0) = 0
          }
          m.fill(0, dhRow, dhRow + H);
          recurrentBackward(heap, dpreRow, H, dhRow, previousRow(s, t, b, B, H, h0, out, ldo, reverse), w_hh, dw_hh, db_ih, db_hh, H);
        }
      }
      inputBackward(heap, dpre, H, x, w_ih, dw_ih, dx, T * B, I);
    },
  };
}
