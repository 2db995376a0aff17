// The output head y = x Wᵀ + b, applied to every row (every step of every sequence) at once.
import { gemm_nn, gemm_nt, gemm_tn } from './gemm';
import { add_column_sums, bias_rows } from './vector';

export function linear_forward(
  y: usize, // [N, O]
  x: usize, // [N, I]
  w: usize, // [O, I]
  b: usize, // [O]
  N: i32, I: i32, O: i32,
): void {
  bias_rows(y, O, b, 0, N, O);
  gemm_nt(y, O, x, I, w, I, N, O, I);
}

export function linear_backward(
  dx: usize, // [N, I] +=
  dw: usize, // [O, I] +=
  db: usize, // [O] +=
  dy: usize, // [N, O]
  x: usize, // [N, I]
  w: usize, // [O, I]
  N: i32, I: i32, O: i32,
): void {
  add_column_sums(db, dy, O, N, O);
  gemm_tn(dw, I, dy, O, x, I, O, I, N); // dW += dyᵀ x
  gemm_nn(dx, I, dy, O, w, I, N, I, O); // dx += dy W
}
