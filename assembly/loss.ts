// Losses over the head's output, returning the loss and writing its gradient. Sums run in f64: a loss is a
// mean over up to millions of terms, and float32 accumulation would drift.

// @ts-ignore: decorator
@inline const F32 = 4;

/** Σ (y - target)² / count over n elements; dy = 2 (y - target) / count. */
export function mse_loss(
  dy: usize, // [n]
  y: usize, // [n]
  target: usize, // [n]
  n: i32, count: i32,
): f64 {
  let loss: f64 = 0;
  const scale = 2 / <f64>count;
  for (let i = 0; i < n; i++) {
    const off = <usize>i * F32;
    const e = <f64>load<f32>(y + off) - <f64>load<f32>(target + off);
    loss += e * e;
    store<f32>(dy + off, <f32>(scale * e));
  }
  return loss / <f64>count;
}

/**
 * Softmax cross-entropy over N rows of C logits: Σ_n (logsumexp(logits_n) - logits_n[target_n]) / count;
 * dlogits = (softmax(logits) - onehot(target)) / count.
 */
export function cross_entropy_loss(
  dlogits: usize, // [N, C]
  logits: usize, // [N, C]
  targets: usize, // [N] int32 class ids
  N: i32, C: i32, count: i32,
): f64 {
  let loss: f64 = 0;
  for (let n = 0; n < N; n++) {
    const row = logits + <usize>(n * C) * F32;
    const drow = dlogits + <usize>(n * C) * F32;
    const target = load<i32>(targets + <usize>n * 4);
    // Subtracting the row's max keeps exp from overflowing without changing the softmax.
    let max: f64 = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, <f64>load<f32>(row + <usize>c * F32));
    let sum: f64 = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(<f64>load<f32>(row + <usize>c * F32) - max);
    loss += max + Math.log(sum) - <f64>load<f32>(row + <usize>target * F32);
    for (let c = 0; c < C; c++) {
      const p = Math.exp(<f64>load<f32>(row + <usize>c * F32) - max) / sum;
      store<f32>(drow + <usize>c * F32, <f32>((p - (c == target ? 1 : 0)) / <f64>count));
    }
  }
  return loss / <f64>count;
}
