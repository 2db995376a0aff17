// The output head y = x Wᵀ + b, applied to every row (every step of every sequence) at once. On a team
// (parallel.ts) each thread takes a share that changes no sum: rows where every row is its own (y, dx), and
// for the sums over all rows (dW, db) columns, dW's on whole tiles, which gemm_tiles computes alike however
// many columns follow them.
import { gemm_nn, gemm_nt, gemm_tn, TILE } from './gemm';
import { hi, lo, share } from './parallel';
import { add_column_sums, bias_rows } from './vector';

// @ts-ignore: decorator
@inline const F32 = 4;

/** Rows of y per share: 16 floats, a cache line of y, when the head has one output. */
// @ts-ignore: decorator
@inline const ROW_GRANULE = 16;

export function linear_forward(
  y: usize, // [N, O] written
  x: usize, // [N, I]
  w: usize, // [O, I]
  b: usize, // [O]
  N: i32, I: i32, O: i32,
): void {
  const rows = share(N, ROW_GRANULE);
  const n0 = lo(rows), count = hi(rows) - n0;
  if (count <= 0) return;
  const yn = y + <usize>(n0 * O) * F32;
  bias_rows(yn, O, b, 0, count, O);
  gemm_nt(yn, O, x + <usize>(n0 * I) * F32, I, w, I, count, O, I);
}

export function linear_backward(
  dx: usize, // [N, I] written
  dw: usize, // [O, I] +=
  db: usize, // [O] +=
  dy: usize, // [N, O]
  x: usize, // [N, I]
  w: usize, // [O, I]
  N: i32, I: i32, O: i32,
): void {
  const outputs = share(O, 4);
  const o0 = lo(outputs);
  if (hi(outputs) > o0) add_column_sums(db + <usize>o0 * F32, dy + <usize>o0 * F32, O, N, hi(outputs) - o0);
  const columns = share(I, TILE);
  const i0 = lo(columns);
  // dW += dyᵀ x
  if (hi(columns) > i0) gemm_tn(dw + <usize>i0 * F32, I, dy, O, x + <usize>i0 * F32, I, O, hi(columns) - i0, N);
  // Pairs of rows, as gemm_tiles takes them (a lone row sums its products in another order).
  const rows = share(N, 2);
  const n0 = lo(rows), count = hi(rows) - n0;
  if (count <= 0) return;
  const dxn = dx + <usize>(n0 * I) * F32;
  memory.fill(dxn, 0, <usize>(count * I) * F32);
  gemm_nn(dxn, I, dy + <usize>(n0 * O) * F32, O, w, I, count, I, O); // dx = dy W
}
