// Nonlinearities applied in place to a row, and their gradients expressed through the output h = f(a),
// which is what the forward pass keeps.

// @ts-ignore: decorator
@inline const F32 = 4;

/** row[j] = f(row[j]) for j < n; f = relu when `relu`, else tanh. */
export function activate(row: usize, n: i32, relu: i32): void {
  for (let j = 0; j < n; j++) {
    const p = row + <usize>j * F32;
    const a = load<f32>(p);
    store<f32>(p, relu ? (a > 0 ? a : 0) : Mathf.tanh(a));
  }
}

/** da[j] = (dh[j] + dhnext[j]) · f'(a[j]), with f' from h: tanh' = 1 - h², relu' = h > 0 (so relu'(0) = 0). */
export function activation_grad(da: usize, dh: usize, dhnext: usize, h: usize, n: i32, relu: i32): void {
  for (let j = 0; j < n; j++) {
    const off = <usize>j * F32;
    const g = load<f32>(dh + off) + load<f32>(dhnext + off);
    const hj = load<f32>(h + off);
    store<f32>(da + off, relu ? (hj > 0 ? g : 0) : g * (1 - hj * hj));
  }
}

/** The logistic function, written so that exp never overflows. */
// @ts-ignore: decorator
@inline export function sigmoid(a: f32): f32 {
  if (a >= 0) return 1 / (1 + Mathf.exp(-a));
  const e = Mathf.exp(a);
  return e / (1 + e);
}
