// Where each batch column is in time. Columns may have their own lengths (PyTorch's packed sequences): column
// b runs len_b steps, the forward direction over t = 0 … len_b-1 and the reverse direction from its own last
// step t = len_b-1 down to 0; positions t ≥ len_b are padding that no kernel reads or writes as a step.

import { gemm_nn, gemm_tn } from './gemm';
import { hi, lo, share } from './parallel';
import { add_column_sums } from './vector';

// @ts-ignore: decorator
@inline const F32 = 4;

/** The number of valid steps of column b: lengths[b], or T when lengths is 0 (every column full). */
// @ts-ignore: decorator
@inline export function column_length(lengths: usize, b: i32, T: i32): i32 {
  return lengths ? load<i32>(lengths + <usize>b * 4) : T;
}

/** The time index column b is at in processing step s, or -1 once its sequence has ended. */
// @ts-ignore: decorator
@inline export function step_time(lengths: usize, b: i32, s: i32, T: i32, reverse: i32): i32 {
  const len = column_length(lengths, b, T);
  if (s >= len) return -1;
  return reverse ? len - 1 - s : s;
}

/**
 * The end (exclusive) of the run of columns b, b+1, … that are all at time t in processing step s. Their rows
 * of a [T, B, ·] sequence are consecutive, and so are their previous rows, so one product serves the run: the
 * whole batch without lengths, or when all lengths are equal; shorter runs for a ragged reverse direction.
 */
// @ts-ignore: decorator
@inline export function same_time_end(lengths: usize, b: i32, t: i32, s: i32, T: i32, B: i32, reverse: i32): i32 {
  if (!lengths) return B;
  let e = b + 1;
  while (e < B && step_time(lengths, e, s, T, reverse) == t) e++;
  return e;
}

/** Zeroes the padded rows t ≥ len_b of a [T, B, ld] sequence, `width` values each, as PyTorch pads. */
export function zero_padding(
  x: usize, ld: i32, width: i32, // [T, B, ld]
  lengths: usize, // [B] int32, or 0 for no padding
  T: i32, B: i32,
): void {
  if (!lengths) return;
  for (let b = 0; b < B; b++) {
    for (let t = column_length(lengths, b, T); t < T; t++) {
      memory.fill(x + <usize>((t * B + b) * ld) * F32, 0, <usize>width * F32);
    }
  }
}

/**
 * out[t, b] = inp[len_b - 1 - t, b] for t < len_b and zero rows for t ≥ len_b (len_b = lengths[b], or T without
 * lengths; the caller checks 0 ≤ len_b ≤ T): each column's valid steps in reverse order, its padding left in
 * place, as Keras's go_backwards and tf.reverse_sequence read a sequence. Applied twice it gives back the
 * valid steps, so the same call turns a gradient back. out and inp do not overlap.
 */
export function reverse_sequence(
  out: usize, // [T, B, W] written
  inp: usize, // [T, B, W]
  lengths: usize, // [B] int32, or 0 when every column runs T steps
  T: i32, B: i32, W: i32,
): void {
  const bytes = <usize>W * F32;
  for (let b = 0; b < B; b++) {
    const len = column_length(lengths, b, T);
    for (let t = 0; t < T; t++) {
      const dst = out + <usize>((t * B + b) * W) * F32;
      if (t < len) memory.copy(dst, inp + <usize>(((len - 1 - t) * B + b) * W) * F32, bytes);
      else memory.fill(dst, 0, bytes);
    }
  }
}

/**
 * Rows of a weight's gradient per share of a team: gemm_tn blocks its rows by 64 from the first, so shares
 * that start on those blocks' edges sum every element in the same order as the whole product does.
 */
// @ts-ignore: decorator
@inline const ROW_BLOCK = 64;

/**
 * C[M, N] += A[K, M]ᵀ · B[K, N], this thread's share of C's rows: weight gradients, split between the threads
 * of a team.
 */
export function gemm_tn_shared(c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32, M: i32, N: i32, K: i32): void {
  const rows = share(M, ROW_BLOCK);
  const m = lo(rows);
  if (hi(rows) > m) gemm_tn(c + <usize>(m * ldc) * F32, ldc, a + <usize>m * F32, lda, b, ldb, hi(rows) - m, N, K);
}

/**
 * dW_hh += Σ_t da[t]ᵀ h[t-1] for any cell, in two products: h[t-1] is the output row one step earlier in
 * the direction of travel (a zero padded row when that is past the column's end), except at each column's
 * first step, where it is h0.
 */
function recurrent_weight_grad(
  dw_hh: usize, // [rows, H] +=: the weight's first rows
  da: usize, ldda: i32, // [T, B, ldda] gate pre-activation gradients, zero at padded steps; their first rows
  out: usize, ldo: i32, // [T, B, ldo] forward output h
  h0: usize, // [B, H]
  lengths: usize, // [B] int32 or 0
  T: i32, B: i32, H: i32, reverse: i32, rows: i32,
): void {
  const stepA = <usize>(B * ldda) * F32;
  const stepOut = <usize>(B * ldo) * F32;
  if (T > 1) {
    if (reverse) gemm_tn_shared(dw_hh, H, da, ldda, out + stepOut, ldo, rows, H, (T - 1) * B);
    else gemm_tn_shared(dw_hh, H, da + stepA, ldda, out, ldo, rows, H, (T - 1) * B);
  }
  for (let b = 0; b < B; b++) {
    const first = reverse ? column_length(lengths, b, T) - 1 : 0;
    gemm_tn_shared(dw_hh, H, da + <usize>first * stepA + <usize>(b * ldda) * F32, ldda, h0 + <usize>(b * H) * F32, H, rows, H, 1);
  }
}

/**
 * Every weight gradient of one direction of one layer, once its gate pre-activation gradients are known for
 * all steps (zero at padded steps): dW_hh += Σ_t da[t]ᵀ h[t-1], dW_ih += Σ_t da_inᵀ x, the biases += column
 * sums, and dx += da_in W_ih (skipped when dx is 0). The input side's gradients da_in equal the hidden side's
 * da for the RNN and LSTM; the GRU's differ in the n rows, where r scales only the hidden side. The first
 * `recurrent` rows of dW_hh pair with h[t-1]: all G·H, except for the GRU with its reset gate before the
 * product, whose n rows pair with r⊙h[t-1] (its caller adds them).
 */
export function weight_grads(
  dx: usize, // [T, B, I] += or 0
  dw_ih: usize, // [G·H, I] +=
  dw_hh: usize, // [G·H, H] +=
  db_ih: usize, // [G·H] += or 0
  db_hh: usize, // [G·H] += or 0
  da_in: usize, // [T, B, G·H] input side's pre-activation gradients
  da: usize, // [T, B, G·H] hidden side's pre-activation gradients
  out: usize, ldo: i32, // [T, B, ldo] forward output h
  x: usize, // [T, B, I]
  h0: usize, // [B, H]
  w_ih: usize, // [G·H, I]
  lengths: usize, // [B] int32 or 0
  T: i32, B: i32, I: i32, H: i32, G: i32, reverse: i32, recurrent: i32,
): void {
  // Each thread of a team its share of every gradient's rows (of dx, its steps' rows) or, for the biases,
  // columns: none reads another's, so the team need not meet between them.
  recurrent_weight_grad(dw_hh, da, G, out, ldo, h0, lengths, T, B, H, reverse, recurrent);
  const columns = share(G, 4);
  const n = lo(columns), width = hi(columns) - n;
  const gn = <usize>n * F32;
  if (db_ih && width > 0) add_column_sums(db_ih + gn, da_in + gn, G, T * B, width);
  if (db_hh && width > 0) add_column_sums(db_hh + gn, da + gn, G, T * B, width);
  gemm_tn_shared(dw_ih, I, da_in, G, x, I, G, I, T * B);
  if (!dx) return;
  const steps = share(T * B, 2);
  const m = lo(steps);
  if (hi(steps) > m) gemm_nn(dx + <usize>(m * I) * F32, I, da_in + <usize>(m * G) * F32, G, w_ih, I, hi(steps) - m, I, G);
}
