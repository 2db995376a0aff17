// Where each batch column is in time. Columns may have their own lengths (PyTorch's packed sequences): column
// b runs len_b steps, the forward direction over t = 0 … len_b-1 and the reverse direction from its own last
// step t = len_b-1 down to 0; positions t ≥ len_b are padding that no kernel reads or writes as a step.

import { gemm_tn } from './linalg';

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
 * dW_hh += Σ_t da[t]ᵀ h[t-1] for any cell, in two products: h[t-1] is the output row one step earlier in
 * the direction of travel (a zero padded row when that is past the column's end), except at each column's
 * first step, where it is h0.
 */
export function recurrent_weight_grad(
  dw_hh: usize, // [G·H, H] +=
  da: usize, ldda: i32, // [T, B, G·H] gate pre-activation gradients, zero at padded steps
  out: usize, ldo: i32, // [T, B, ldo] forward output h
  h0: usize, // [B, H]
  lengths: usize, // [B] int32 or 0
  T: i32, B: i32, H: i32, reverse: i32,
): void {
  const G = ldda;
  const stepA = <usize>(B * ldda) * F32;
  const stepOut = <usize>(B * ldo) * F32;
  if (T > 1) {
    if (reverse) gemm_tn(dw_hh, H, da, ldda, out + stepOut, ldo, G, H, (T - 1) * B);
    else gemm_tn(dw_hh, H, da + stepA, ldda, out, ldo, G, H, (T - 1) * B);
  }
  for (let b = 0; b < B; b++) {
    const first = reverse ? column_length(lengths, b, T) - 1 : 0;
    gemm_tn(dw_hh, H, da + <usize>first * stepA + <usize>(b * ldda) * F32, ldda, h0 + <usize>(b * H) * F32, H, G, H, 1);
  }
}
