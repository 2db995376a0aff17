// The Elman RNN, one direction of one layer over a whole sequence:
//   h[t] = f(x[t] W_ihᵀ + b_ih + h[t-1] W_hhᵀ + b_hh),  f = tanh or relu.
// The output rows double as the activation cache: f' is recovered from h itself (1 - h² or h > 0).
import { add_column_sums, axpy, fill_rows, gemm_nn, gemm_nt, gemm_tn } from './linalg';
import { activate, activation_grad } from './activations';

// @ts-ignore: decorator
@inline const F32 = 4;

export function rnn_forward(
  out: usize, // [T, B, ldo]: this direction's H columns of the layer output
  x: usize, // [T, B, I]
  h0: usize, // [B, H]
  w_ih: usize, // [H, I]
  w_hh: usize, // [H, H]
  b_ih: usize, // [H] or 0
  b_hh: usize, // [H] or 0
  T: i32, B: i32, I: i32, H: i32, ldo: i32, reverse: i32, relu: i32,
): void {
  const rows = T * B;
  // The input does not depend on the state, so its projection is one product over all steps.
  fill_rows(out, ldo, b_ih, rows, H);
  if (b_hh) for (let r = 0; r < rows; r++) axpy(out + <usize>(r * ldo) * F32, b_hh, 1, H);
  gemm_nt(out, ldo, x, I, w_ih, I, rows, H, I);
  const step = <usize>(B * ldo) * F32;
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const outT = out + <usize>t * step;
    if (s == 0) gemm_nt(outT, ldo, h0, H, w_hh, H, B, H, H);
    else gemm_nt(outT, ldo, reverse ? outT + step : outT - step, ldo, w_hh, H, B, H, H);
    for (let b = 0; b < B; b++) activate(outT + <usize>(b * ldo) * F32, H, relu);
  }
}

export function rnn_backward(
  dx: usize, // [T, B, I] +=
  dh0: usize, // [B, H] written; also the running gradient into the previous state
  dw_ih: usize, // [H, I] +=
  dw_hh: usize, // [H, H] +=
  db_ih: usize, // [H] += or 0
  db_hh: usize, // [H] += or 0
  dpre: usize, // [T, B, H] scratch: gradients of the pre-activations
  dout: usize, // [T, B, ldo] gradient on this direction's output
  out: usize, // [T, B, ldo] forward output
  x: usize, // [T, B, I]
  h0: usize, // [B, H]
  w_ih: usize, // [H, I]
  w_hh: usize, // [H, H]
  T: i32, B: i32, I: i32, H: i32, ldo: i32, reverse: i32, relu: i32,
): void {
  const bh = <usize>(B * H) * F32;
  const step = <usize>(B * ldo) * F32;
  memory.fill(dh0, 0, bh);
  for (let s = T - 1; s >= 0; s--) {
    const t = reverse ? T - 1 - s : s;
    const dpreT = dpre + <usize>t * bh;
    for (let b = 0; b < B; b++) {
      const o = <usize>(t * B + b) * <usize>ldo * F32;
      // dh = dout + dhnext: from this step's output and from step t+1; then back through f.
      activation_grad(dpreT + <usize>(b * H) * F32, dout + o, dh0 + <usize>(b * H) * F32, out + o, H, relu);
    }
    memory.fill(dh0, 0, bh);
    gemm_nn(dh0, H, dpreT, H, w_hh, H, B, H, H); // dhnext = dpre[t] W_hh
  }
  // Weight gradients once over all steps. h[t-1] of step t is the output row one step earlier in the
  // direction of travel, except for the first step processed, whose h[t-1] is h0.
  const first = reverse ? T - 1 : 0;
  gemm_tn(dw_hh, H, dpre + <usize>first * bh, H, h0, H, H, H, B);
  if (T > 1) {
    if (reverse) gemm_tn(dw_hh, H, dpre, H, out + step, ldo, H, H, (T - 1) * B);
    else gemm_tn(dw_hh, H, dpre + bh, H, out, ldo, H, H, (T - 1) * B);
  }
  if (db_ih) add_column_sums(db_ih, dpre, H, T * B, H);
  if (db_hh) add_column_sums(db_hh, dpre, H, T * B, H);
  gemm_tn(dw_ih, I, dpre, H, x, I, H, I, T * B); // dW_ih += dpreᵀ x
  gemm_nn(dx, I, dpre, H, w_ih, I, T * B, I, H); // dx += dpre W_ih
}
