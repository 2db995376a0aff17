/**
 * The GRU, one direction of one layer, gates stacked in PyTorch's order r, z, n:
 * r, z = σ(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), n = tanh(x W_inᵀ + b_in + r⊙(h W_hnᵀ + b_hn)),
 * h[t] = (1 - z)⊙n + z⊙h[t-1]. σ is the gate function of kind `gate`, tanh becomes relu with `relu`; with
 * reset_after 0, n = tanh(x W_inᵀ + b_in + (r⊙h) W_hnᵀ + b_hn). The caches keep the activated gates, and
 * h W_hnᵀ + b_hn (or r⊙h[t-1] with reset_after 0).
 */
import type { Kernels } from '../../backend.js';
import { gateFn, gateGrad, squash, squashGrad } from './activations.js';
import { at, type JsHeap } from './heap.js';
import { dot } from './packed.js';
import { inputBackward, previousRow, recurrentBackward, stepTime, zeroPadding } from './sequence.js';

export function gruKernels(heap: JsHeap): Pick<Kernels, 'gru_forward' | 'gru_backward'> {
  return {
    // gh is the WebAssembly build's scratch for a step's hidden-side product; the reference needs none.
    gru_forward(out, gates, hn, _gh, x, lengths, h0, w_ih, w_hh, b_ih, b_hh, T, B, I, H, ldo, reverse, gate, relu, reset_after) {
      const m = heap.f32;
      const G = 3 * H;
      const bias = (ptr: number, r: number) => (ptr ? m[at(ptr) + r] : 0);
      if (!reset_after) m.fill(0, at(hn), at(hn) + T * B * H); // r⊙h[t-1] at padded steps: zeros
      for (let s = 0; s < T; s++) {
        for (let b = 0; b < B; b++) {
          const t = stepTime(heap, lengths, b, s, T, reverse);
          if (t < 0) continue;
          const xRow = at(x) + (t * B + b) * I;
          const hRow = previousRow(s, t, b, B, H, h0, out, ldo, reverse);
          const gRow = at(gates) + (t * B + b) * G;
          const hnRow = at(hn) + (t * B + b) * H;
          const input = (r: number) => dot(heap, w_ih, r, xRow, I) + bias(b_ih, r);
          // r and z first: the reset-before n rows multiply r⊙h[t-1], kept in the hn cache.
          for (let j = 0; j < H; j++) {
            const [rr, zr] = [j, H + j]; // this unit's row in each gate block
            m[gRow + rr] = gateFn(input(rr) + dot(heap, w_hh, rr, hRow, H) + bias(b_hh, rr), gate);
            m[gRow + zr] = gateFn(input(zr) + dot(heap, w_hh, zr, hRow, H) + bias(b_hh, zr), gate);
            if (!reset_after) m[hnRow + j] = m[gRow + rr] * m[hRow + j];
          }
          for (let j = 0; j < H; j++) {
            const [r, z, nr] = [m[gRow + j], m[gRow + H + j], 2 * H + j];
            let n: number;
            if (reset_after) {
              const hidden = dot(heap, w_hh, nr, hRow, H) + bias(b_hh, nr); // b_hn stays inside the product with r
              n = squash(input(nr) + r * hidden, relu);
              m[hnRow + j] = hidden;
            } else n = squash(input(nr) + dot(heap, w_hh, nr, hnRow, H) + bias(b_hh, nr), relu);
            m[gRow + nr] = n;
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
      gate,
      relu,
      reset_after,
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
          const hnRow = at(hn) + (t * B + b) * H;
          const dhRow = at(dh0) + b * H;
          for (let j = 0; j < H; j++) {
            const [z, n] = [m[at(gates) + row + H + j], m[at(gates) + row + 2 * H + j]];
            const dh = m[at(dout) + (t * B + b) * ldo + j] + m[dhRow + j];
            const dan = squashGrad(dh * (1 - z), n, relu); // into n's pre-activation
            m[at(dgi) + row + H + j] = gateGrad(dh * (m[hRow + j] - n), z, gate);
            m[at(dgi) + row + 2 * H + j] = dan;
            if (reset_after) {
              const r = m[at(gates) + row + j];
              m[at(dgi) + row + j] = gateGrad(dan * m[hnRow + j], r, gate); // r scales the hidden n rows
              m[at(dgh) + row + j] = m[at(dgi) + row + j];
              m[at(dgh) + row + H + j] = m[at(dgi) + row + H + j];
              m[at(dgh) + row + 2 * H + j] = dan * r;
            }
            m[dhRow + j] = dh * z; // the z⊙h path passes straight through
          }
          if (reset_after) {
            // The hidden side's bias gets dgh; the input side's gets dgi below.
            recurrentBackward(heap, at(dgh) + row, G, dhRow, hRow, w_hh, dw_hh, 0, db_hh, H);
            continue;
          }
          // The n rows took r⊙h[t-1]: their gradient dq into it (dgh's first H, as scratch), then r's from dq.
          const dq = at(dgh);
          m.fill(0, dq, dq + H);
          const nRows = 2 * H * H * 4; // bytes to the n rows of w_hh and dw_hh
          recurrentBackward(heap, at(dgi) + row + 2 * H, H, dq, hnRow, w_hh + nRows, dw_hh + nRows, 0, db_hh && db_hh + 2 * H * 4, H);
          for (let j = 0; j < H; j++) {
            const r = m[at(gates) + row + j];
            m[at(dgi) + row + j] = gateGrad(m[dq + j] * m[hRow + j], r, gate);
            m[dhRow + j] += m[dq + j] * r;
          }
          recurrentBackward(heap, at(dgi) + row, 2 * H, dhRow, hRow, w_hh, dw_hh, 0, db_hh, H);
        }
      }
      inputBackward(heap, dgi, G, x, w_ih, dw_ih, dx, T * B, I);
      if (db_ih) for (let n = 0; n < T * B; n++) for (let r = 0; r < G; r++) m[at(db_ih) + r] += m[at(dgi) + n * G + r];
    },
  };
}
