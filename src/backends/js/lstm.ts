/**
 * The LSTM, one direction of one layer, gates stacked in PyTorch's order i, f, g, o:
 * a = x W_ihᵀ + b_ih + h[t-1] W_hhᵀ + b_hh; i, f, o = σ(a_i, a_f, a_o), g = tanh(a_g);
 * c[t] = f⊙c[t-1] + i⊙g, h[t] = o⊙tanh(c[t]). σ is the gate function of kind `gate`, and tanh becomes relu
 * with `relu`. The caches keep every step's activated gates and cell state.
 */
import type { Kernels } from '../../backend.js';
import { gateFn, gateGrad, squash, squashGrad } from './activations.js';
import { at, type JsHeap } from './heap.js';
import { dot } from './packed.js';
import { inputBackward, previousRow, recurrentBackward, stepTime, zeroPadding } from './sequence.js';

export function lstmKernels(heap: JsHeap): Pick<Kernels, 'lstm_forward' | 'lstm_backward'> {
  return {
    lstm_forward(out, cells, gates, x, lengths, h0, c0, w_ih, w_hh, b_ih, b_hh, T, B, I, H, ldo, reverse, gate, relu) {
      const m = heap.f32;
      const G = 4 * H;
      for (let s = 0; s < T; s++) {
        for (let b = 0; b < B; b++) {
          const t = stepTime(heap, lengths, b, s, T, reverse);
          if (t < 0) continue;
          const xRow = at(x) + (t * B + b) * I;
          const hRow = previousRow(s, t, b, B, H, h0, out, ldo, reverse);
          const cPrevRow = previousRow(s, t, b, B, H, c0, cells, H, reverse);
          const gRow = at(gates) + (t * B + b) * G;
          // All four gates' pre-activations, rows i, f, g, o of the stacked weights.
          for (let r = 0; r < G; r++) {
            const a =
              (b_ih ? m[at(b_ih) + r] : 0) + (b_hh ? m[at(b_hh) + r] : 0) + dot(heap, w_ih, r, xRow, I) + dot(heap, w_hh, r, hRow, H);
            m[gRow + r] = r >= 2 * H && r < 3 * H ? squash(a, relu) : gateFn(a, gate);
          }
          for (let j = 0; j < H; j++) {
            const [i, f, g, o] = [m[gRow + j], m[gRow + H + j], m[gRow + 2 * H + j], m[gRow + 3 * H + j]];
            const cRow = at(cells) + (t * B + b) * H;
            m[cRow + j] = f * m[cPrevRow + j] + i * g;
            m[at(out) + (t * B + b) * ldo + j] = o * squash(m[cRow + j], relu);
          }
        }
      }
      zeroPadding(heap, out, ldo, H, lengths, T, B);
    },

    lstm_backward(
      dx,
      dh0,
      dc0,
      dw_ih,
      dw_hh,
      db_ih,
      db_hh,
      dgates,
      dout,
      out,
      cells,
      gates,
      x,
      lengths,
      h0,
      c0,
      w_ih,
      w_hh,
      T,
      B,
      I,
      H,
      ldo,
      reverse,
      gate,
      relu,
    ) {
      const m = heap.f32;
      const G = 4 * H;
      m.fill(0, at(dgates), at(dgates) + T * B * G);
      // dh0 and dc0 double as the running gradients into each column's previous h and c.
      m.fill(0, at(dh0), at(dh0) + B * H);
      m.fill(0, at(dc0), at(dc0) + B * H);
      for (let s = T - 1; s >= 0; s--) {
        for (let b = 0; b < B; b++) {
          const t = stepTime(heap, lengths, b, s, T, reverse);
          if (t < 0) continue;
          const gRow = at(gates) + (t * B + b) * G;
          const dRow = at(dgates) + (t * B + b) * G;
          const cPrevRow = previousRow(s, t, b, B, H, c0, cells, H, reverse);
          const dhRow = at(dh0) + b * H;
          const dcRow = at(dc0) + b * H;
          for (let j = 0; j < H; j++) {
            const [i, f, g, o] = [m[gRow + j], m[gRow + H + j], m[gRow + 2 * H + j], m[gRow + 3 * H + j]];
            const tc = squash(m[at(cells) + (t * B + b) * H + j], relu);
            const dh = m[at(dout) + (t * B + b) * ldo + j] + m[dhRow + j];
            const dc = m[dcRow + j] + squashGrad(dh * o, tc, relu); // through h = o tanh(c), plus from c[t+1]
            m[dcRow + j] = dc * f; // into c[t-1]
            m[dRow + j] = gateGrad(dc * g, i, gate);
            m[dRow + H + j] = gateGrad(dc * m[cPrevRow + j], f, gate);
            m[dRow + 2 * H + j] = squashGrad(dc * i, g, relu);
            m[dRow + 3 * H + j] = gateGrad(dh * tc, o, gate);
          }
          m.fill(0, dhRow, dhRow + H);
          recurrentBackward(heap, dRow, G, dhRow, previousRow(s, t, b, B, H, h0, out, ldo, reverse), w_hh, dw_hh, db_ih, db_hh, H);
        }
      }
      inputBackward(heap, dgates, G, x, w_ih, dw_ih, dx, T * B, I);
    },
  };
}
