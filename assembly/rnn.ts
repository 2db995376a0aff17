// The Elman RNN, one direction of one layer over a whole sequence:
//   h[t] = f(x[t] W_ihᵀ + b_ih + h[t-1] W_hhᵀ + b_hh),  f = tanh or relu.
// The output rows double as the activation cache: f' is recovered from h itself (1 - h² or h > 0).
import { gemm_nn } from './gemm';
import { gemm_packed, gemm_packed_rows, project, staged_row_product, stages } from './packed';
import { arrivals, arrive, barrier, hi, lo, share, solo, splits, team_index, touch, whole } from './parallel';
import { activate, activation_grad } from './activations';
import { same_time_end, step_time, weight_grads, zero_padding } from './sequence';

// @ts-ignore: decorator
@inline const F32 = 4;

/**
 * Hidden units per share when a team splits them: a multiple of 8 keeps every share on whole groups of the
 * one-row product and whole vectors of the activation, so each unit is computed exactly as on one thread.
 */
// @ts-ignore: decorator
@inline export const UNIT_GRANULE = 8;

export function rnn_forward(
  out: usize, // [T, B, ldo]: this direction's H columns of the layer output
  x: usize, // [T, B, I]
  lengths: usize, // [B] int32 valid steps per column, or 0 when all run T steps
  h0: usize, // [B, H]
  w_ih: usize, // [H, I] packed by pack_weights
  w_hh: usize, // [H, H] packed by pack_weights
  b_ih: usize, // [H] or 0
  b_hh: usize, // [H] or 0
  T: i32, B: i32, I: i32, H: i32, ldo: i32, reverse: i32, relu: i32,
): void {
  // Columns never meet, so a team splits a batch of them between its threads. One column, or a ragged batch
  // (whose runs must stay whole), splits the hidden units instead, and the team meets after every step.
  const byColumns = !lengths && splits(B, 2);
  const byUnits = !byColumns && splits(H, UNIT_GRANULE);
  const columns = byColumns ? share(B, 2) : byUnits ? whole(B) : solo(B);
  const units = byUnits ? share(H, UNIT_GRANULE) : whole(H);
  // The input does not depend on the state, so its projection is one product over all steps.
  project(out, ldo, b_ih, b_hh, x, I, w_ih, T, B, H, I, byColumns ? columns : whole(B));
  const end = hi(columns), u0 = lo(units), width = hi(units) - u0;
  const step = <usize>(B * ldo) * F32;
  // Split by units, a step reads all of the step before: after a barrier, or staged (packed.ts's stages).
  const staged = stages(byUnits, B, H, 1), meet = byUnits && !staged, base = arrivals();
  for (let s = 0; s < T; s++) {
    if (meet && s > 0) barrier();
    for (let b = lo(columns); b < end;) {
      const t = step_time(lengths, b, s, T, reverse);
      if (t < 0) {
        b++;
        continue;
      }
      const e = same_time_end(lengths, b, t, s, T, end, reverse);
      const row = out + <usize>((t * B + b) * ldo) * F32;
      // h[t-1] is the row one step earlier in the direction of travel, or h0 at the columns' first step.
      const prev = s == 0 ? h0 + <usize>(b * H) * F32 : reverse ? row + step : row - step;
      const ldp = s == 0 ? H : ldo, backwards = (s & 1) != 0; // as in lstm_forward: W_hh from where it ended
      if (meet) touch(prev, e - b, ldp, H);
      if (width == H) gemm_packed(row, ldo, prev, ldp, w_hh, e - b, H, H, backwards);
      else if (staged) staged_row_product(row, prev, w_hh, 1, H, u0, u0 + width, UNIT_GRANULE, base + s);
      else if (width > 0) gemm_packed_rows(row + <usize>u0 * F32, ldo, prev, ldp, w_hh, e - b, H, H, u0, u0 + width, backwards);
      for (; b < e; b++) activate(out + <usize>((t * B + b) * ldo + u0) * F32, width, relu);
    }
    if (staged) arrive(); // this thread's units of step s are written
  }
  if (team_index() == 0) zero_padding(out, ldo, H, lengths, T, B);
}

export function rnn_backward(
  dx: usize, // [T, B, I] +=, or 0: not wanted
  dh0: usize, // [B, H] written; also the running gradient into the previous state
  dw_ih: usize, // [H, I] +=
  dw_hh: usize, // [H, H] +=
  db_ih: usize, // [H] += or 0
  db_hh: usize, // [H] += or 0
  dpre: usize, // [T, B, H] scratch: gradients of the pre-activations
  dout: usize, // [T, B, ldo] gradient on this direction's output
  out: usize, // [T, B, ldo] forward output
  x: usize, // [T, B, I]
  lengths: usize, // [B] int32 or 0
  h0: usize, // [B, H]
  w_ih: usize, // [H, I]
  w_hh: usize, // [H, H]
  T: i32, B: i32, I: i32, H: i32, ldo: i32, reverse: i32, relu: i32,
): void {
  const bh = <usize>(B * H) * F32;
  // Padded steps pass nothing back: their rows of dpre stay zero through the products below.
  const columns = lengths ? solo(B) : share(B, 2);
  const start = lo(columns), end = hi(columns);
  if (lengths && start < end) memory.fill(dpre, 0, <usize>T * bh);
  memory.fill(dh0 + <usize>(start * H) * F32, 0, <usize>((end - start) * H) * F32);
  for (let s = T - 1; s >= 0; s--) {
    for (let b = start; b < end;) {
      const t = step_time(lengths, b, s, T, reverse);
      if (t < 0) {
        b++;
        continue;
      }
      const e = same_time_end(lengths, b, t, s, T, end, reverse);
      const dpreRows = dpre + <usize>((t * B + b) * H) * F32;
      const dhNext = dh0 + <usize>(b * H) * F32; // one row per column of the run
      for (let r = 0; r < e - b; r++) {
        const o = <usize>((t * B + b + r) * ldo) * F32;
        // dh = dout + dhnext: from this step's output and from step t+1; then back through f.
        activation_grad(dpreRows + <usize>(r * H) * F32, dout + o, dhNext + <usize>(r * H) * F32, out + o, H, relu);
      }
      memory.fill(dhNext, 0, <usize>((e - b) * H) * F32);
      gemm_nn(dhNext, H, dpreRows, H, w_hh, H, e - b, H, H); // dhnext = dpre[t] W_hh, the run's columns at once
      b = e;
    }
  }
  barrier();
  weight_grads(dx, dw_ih, dw_hh, db_ih, db_hh, dpre, dpre, out, ldo, x, h0, w_ih, lengths, T, B, I, H, H, reverse, H);
}
