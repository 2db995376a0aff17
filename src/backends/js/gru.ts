/**
 * The GRU, one direction of one layer, gates stacked in PyTorch's order r, z, n:
 * r, z = σ(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), n = tanh(x W_inᵀ + b_in + r⊙(h W_hnᵀ + b_hn)),
 * h[t] = (1 - z)⊙n + z⊙h[t-1]. The caches keep the activated gates and h W_hnᵀ + b_hn.
 */
import type { Kernels } from '../../backend.js';
import { sigmoid } from './activations.js';
import { at, type JsHeap } from './heap.js';
import { dot } from './packed.js';
import { inputBackward, previousRow, recurrentBackward, stepTime, zeroPadding } from './sequence.js';

export function gruKernels(heap: JsHeap): Pick<Kernels, 'gru_forward' | 'gru_backward'> {
  return {
    // gh is the WebAssembly build's scratch for a step's hidden-side product; the reference needs none.
    gru_forward(out, gates, hn, _gh, x, lengths, h0, w_ih, w_hh, b_ih, b_hh, T, B, I, H, ldo, reverse) {
      const m = heap.f32;
      const G = 3 * H;
      const bias = (ptr: number, r: number) => (ptr ? m[at(ptr) + r] : 0);
      for (let s = 0; s < T; s++) {
        for (let b = 0; b < B; b++) {
          const t = stepTime(heap, lengths, b, s, T, reverse);
          if (t < 0) continue;
          const xRow = at(x) + (t * B + b) * I;
          const hRow = previousRow(s, t, b, B, H, h0, out, ldo, reverse);
          const gRow = at(gates) + (t * B + b) * G;
          for (let j = 0; j < H; j++) {
            const [rr, zr, nr] = [j, H + j, 2 * H + j]; // this unit's row in each gate block
            const r = sigmoid(dot(heap, w_ih, rr, xRow, I) + bias(b_ih, rr) + dot(heap, w_hh, rr, hRow, H) + bias(b_hh, rr));
            const z = sigmoid(dot(heap, w_ih, zr, xRow, I) + bias(b_ih, zr) + dot(heap, w_hh, zr, hRow, H) + bias(b_hh, zr));
            const hidden = dot(heap, w_hh, nr, hRow, H) + bias(b_hh, nr); // b_hn stays inside the product with r
            const n = Math.tanh(dot(heap, w_ih, nr, xRow, I) + bias(b_ih, nr) + r * hidden);
            m[gRow + rr] = r;
            m[gRow + zr] = z;
            m[gRow + nr] = n;
            m[at(hn) + (t * B + b) * H + j] = hidden;
            m[at(out) + (t * B + b) * ldo + j] = (1 - z) * n + z * m[hRow + j];
          }
        }
      }
      zeroPadding(heap, out, ldo, H, lengths, T, B);
    },

    gru_backward(
      dx,
      dh0,
      dw_ih,
      dw_hh,
      db_ih,
      db_hh,
      dgi,
      dgh,
      dout,
      out,
      gates,
      hn,
      x,
      lengths,
      h0,
      w_ih,
      w_hh,
      T,
      B,
      I,
      H,
      ldo,
      reverse,
    ) {
      const m = heap.f32;
      const G = 3 * H;
      m.fill(0, at(dgi), at(dgi) + T * B * G);
      m.fill(0, at(dgh), at(dgh) + T * B * G);
      m.fill(0, at(dh0), at(dh0) + B * H);
      for (let s = T - 1; s >= 0; s--) {
        for (let b = 0; b < B; b++) {
          const t = stepTime(heap, lengths, b, s, T, reverse);
          if (t < 0) continue;
          const row = (t * B + b) * G;
          const hRow = previousRow(s, t, b, B, H, h0, out, ldo, reverse);
          const dhRow = at(dh0) + b * H;
          for (let j = 0; j < H; j++) {
            const [r, z, n] = [m[at(gates) + row + j], m[at(gates) + row + H + j], m[at(gates) + row + 2 * H + j]];
            const dh = m[at(dout) + (t * B + b) * ldo + j] + m[dhRow + j];
            const dan = dh * (1 - z) * (1 - n * n); // into n's pre-activation
            const dar = dan * m[at(hn) + (t * B + b) * H + j] * r * (1 - r); // r scales the hidden n rows
            const daz = dh * (m[hRow + j] - n) * z * (1 - z);
            m[at(dgi) + row + j] = dar;
            m[at(dgi) + row + H + j] = daz;
            m[at(dgi) + row + 2 * H + j] = dan;
            m[at(dgh) + row + j] = dar;
            m[at(dgh) + row + H + j] = daz;
            m[at(dgh) + row + 2 * H + j] = dan * r;
            m[dhRow + j] = dh * z; // the z⊙h path passes straight through
          }
          // The hidden side's bias gets dgh; the input side's gets dgi below.
          recurrentBackward(heap, at(dgh) + row, G, dhRow, hRow, w_hh, dw_hh, 0, db_hh, H);
        }
      }
      inputBackward(heap, dgi, G, x, w_ih, dw_ih, dx, T * B, I);
      if (db_ih) for (let n = 0; n < T * B; n++) for (let r = 0; r < G; r++) m[at(db_ih) + r] += m[at(dgi) + n * G + r];
    },
  };
}
