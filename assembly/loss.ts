// Losses over the head's output y [T, B, C], returning the loss and writing its gradient. A row (t, b) enters
// the loss when it is a valid step of column b (t < len_b), or with `last` only at the column's last valid
// step (many-to-one); every other row gets a zero gradient. Sums run in f64: a loss is a mean over up to
// millions of terms, and float32 accumulation would drift.
import { column_length } from './sequence';

// @ts-ignore: decorator
@inline const F32 = 4;

/** Whether row (t, b) enters the loss. */
// @ts-ignore: decorator
@inline function counts(lengths: usize, t: i32, b: i32, T: i32, last: i32): bool {
  const len = column_length(lengths, b, T);
  return last ? t == len - 1 : t < len;
}

/** How many rows enter the loss: one per column with `last`, else every valid step. */
function counted_rows(lengths: usize, T: i32, B: i32, last: i32): i32 {
  if (last) return B;
  let n = 0;
  for (let b = 0; b < B; b++) n += column_length(lengths, b, T);
  return n;
}

/** Σ (y - target)² / (rows·C) over the counted rows; dy = 2 (y - target) / (rows·C) there, 0 elsewhere. */
export function mse_loss(
  dy: usize, // [T, B, C]
  y: usize, // [T, B, C]
  target: usize, // [T, B, C]; only counted rows are read
  lengths: usize, // [B] int32, or 0 when every column runs T steps
  T: i32, B: i32, C: i32, last: i32,
): f64 {
  const count = <f64>counted_rows(lengths, T, B, last) * <f64>C;
  const scale = 2 / count;
  let loss: f64 = 0;
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const row = <usize>((t * B + b) * C) * F32;
      if (!counts(lengths, t, b, T, last)) {
        memory.fill(dy + row, 0, <usize>C * F32);
        continue;
      }
      for (let c = 0; c < C; c++) {
        const off = row + <usize>c * F32;
        const e = <f64>load<f32>(y + off) - <f64>load<f32>(target + off);
        loss += e * e;
        store<f32>(dy + off, <f32>(scale * e));
      }
    }
  }
  return loss / count;
}

/**
 * Softmax cross-entropy over the counted rows of C logits: Σ (logsumexp(logits) - logits[target]) / rows;
 * dlogits = (softmax(logits) - onehot(target)) / rows there, 0 elsewhere.
 */
export function cross_entropy_loss(
  dlogits: usize, // [T, B, C]
  logits: usize, // [T, B, C]
  targets: usize, // [T, B] int32 class ids; only counted rows are read
  lengths: usize, // [B] int32, or 0 when every column runs T steps
  T: i32, B: i32, C: i32, last: i32,
): f64 {
  const count = <f64>counted_rows(lengths, T, B, last);
  let loss: f64 = 0;
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const n = t * B + b;
      const row = logits + <usize>(n * C) * F32;
      const drow = dlogits + <usize>(n * C) * F32;
      if (!counts(lengths, t, b, T, last)) {
        memory.fill(drow, 0, <usize>C * F32);
        continue;
      }
      const target = load<i32>(targets + <usize>n * 4);
      // Subtracting the row's max keeps exp from overflowing without changing the softmax.
      let max: f64 = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, <f64>load<f32>(row + <usize>c * F32));
      let sum: f64 = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(<f64>load<f32>(row + <usize>c * F32) - max);
      loss += max + Math.log(sum) - <f64>load<f32>(row + <usize>target * F32);
      for (let c = 0; c < C; c++) {
        const p = Math.exp(<f64>load<f32>(row + <usize>c * F32) - max) / sum;
        store<f32>(drow + <usize>c * F32, <f32>((p - (c == target ? 1 : 0)) / count));
      }
    }
  }
  return loss / count;
}
