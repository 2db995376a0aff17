/**
 * Where each batch column is in time, and the gradient pieces every cell shares. Columns may have their own
 * lengths (PyTorch's packed sequences): column b runs len_b steps, the forward direction over t = 0 … len_b-1
 * and the reverse direction from its own last step down to 0; positions t ≥ len_b are padding.
 */
import type { Kernels } from '../../backend.js';
import { at, type JsHeap } from './heap.js';

/** Valid steps of column b: lengths[b], or T when lengths is 0 (every column full). */
export function columnLength(heap: JsHeap, lengths: number, b: number, T: number): number {
  return lengths ? heap.i32[at(lengths) + b] : T;
}

/**
 * The time index column b is at in processing step s, or -1 once its sequence has ended: the forward
 * direction runs t = 0 … len-1, the reverse direction from the column's own last step down to 0.
 */
export function stepTime(heap: JsHeap, lengths: number, b: number, s: number, T: number, reverse: number): number {
  const len = columnLength(heap, lengths, b, T);
  if (s >= len) return -1;
  return reverse ? len - 1 - s : s;
}

/** Element index of h[t-1] for column b at time t: the previous output row, or h0 at the first step. */
export function previousRow(
  s: number,
  t: number,
  b: number,
  B: number,
  H: number,
  h0: number,
  out: number,
  ldo: number,
  reverse: number,
): number {
  return s === 0 ? at(h0) + b * H : at(out) + ((reverse ? t + 1 : t - 1) * B + b) * ldo;
}

/** Padded positions t ≥ len_b of a [T, B, ld] sequence are zeros, as PyTorch pads. */
export function zeroPadding(heap: JsHeap, x: number, ld: number, width: number, lengths: number, T: number, B: number): void {
  for (let b = 0; b < B; b++) {
    for (let t = columnLength(heap, lengths, b, T); t < T; t++)
      heap.f32.fill(0, at(x) + (t * B + b) * ld, at(x) + (t * B + b) * ld + width);
  }
}

export function sequenceKernels(heap: JsHeap): Pick<Kernels, 'reverse_sequence'> {
  return {
    // Each column's valid steps in reverse order, its padding zeros at the end: its own inverse on the valid steps.
    reverse_sequence(out, inp, lengths, T, B, W) {
      const m = heap.f32;
      for (let b = 0; b < B; b++) {
        const len = columnLength(heap, lengths, b, T);
        for (let t = 0; t < T; t++) {
          const dst = at(out) + (t * B + b) * W;
          if (t < len) m.copyWithin(dst, at(inp) + ((len - 1 - t) * B + b) * W, at(inp) + ((len - 1 - t) * B + b) * W + W);
          else m.fill(0, dst, dst + W);
        }
      }
    },
  };
}

/**
 * A step's gradients through the recurrent weights, for one column, from its gate pre-activation
 * gradients da [G]: dh[t-1] += da W_hh, dW_hh += da ⊗ h[t-1], and both biases += da.
 */
export function recurrentBackward(
  heap: JsHeap,
  daRow: number,
  G: number,
  dhRow: number,
  hRow: number,
  w_hh: number,
  dw_hh: number,
  db_ih: number,
  db_hh: number,
  H: number,
): void {
  const m = heap.f32;
  for (let k = 0; k < H; k++) {
    let a = 0;
    for (let r = 0; r < G; r++) a += m[daRow + r] * m[at(w_hh) + r * H + k];
    m[dhRow + k] += a;
  }
  for (let r = 0; r < G; r++) {
    const g = m[daRow + r];
    for (let k = 0; k < H; k++) m[at(dw_hh) + r * H + k] += g * m[hRow + k];
    if (db_ih) m[at(db_ih) + r] += g;
    if (db_hh) m[at(db_hh) + r] += g;
  }
}

/** dW_ih += daᵀ x and dx += da W_ih (unless dx is 0) over all N = T·B rows: the input enters every step the same way. */
export function inputBackward(
  heap: JsHeap,
  da: number,
  G: number,
  x: number,
  w_ih: number,
  dw_ih: number,
  dx: number,
  N: number,
  I: number,
): void {
  const m = heap.f32;
  for (let n = 0; n < N; n++) {
    for (let r = 0; r < G; r++) {
      const g = m[at(da) + n * G + r];
      for (let k = 0; k < I; k++) {
        m[at(dw_ih) + r * I + k] += g * m[at(x) + n * I + k];
        if (dx) m[at(dx) + n * I + k] += g * m[at(w_ih) + r * I + k];
      }
    }
  }
}
