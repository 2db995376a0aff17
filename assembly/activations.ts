// Nonlinearities, and their gradients expressed through the output h = f(a), which is what the forward pass
// keeps. tanh is a rational function, the same in every lane and in the plain loop, so the SIMD and scalar
// builds agree exactly; the logistic function is derived from it.

// @ts-ignore: decorator
@inline const F32 = 4;

// tanh(x) ≈ x·p(x²)/q(x²) with x clamped to ±7.9053 (where tanh rounds to ±1 in float32): the minimax
// rational function Eigen uses, within 3.2e-7 of tanh over all float32 inputs (libm's tanhf: 1.7e-7), and
// about a tenth of its cost.
// @ts-ignore: decorator
@inline const CLAMP: f32 = 7.90531110763549805;
// @ts-ignore: decorator
@inline const P13: f32 = -2.76076847742355e-16;
// @ts-ignore: decorator
@inline const P11: f32 = 2.00018790482477e-13;
// @ts-ignore: decorator
@inline const P9: f32 = -8.60467152213735e-11;
// @ts-ignore: decorator
@inline const P7: f32 = 5.12229709037114e-08;
// @ts-ignore: decorator
@inline const P5: f32 = 1.48572235717979e-05;
// @ts-ignore: decorator
@inline const P3: f32 = 6.37261928875436e-04;
// @ts-ignore: decorator
@inline const P1: f32 = 4.89352455891786e-03;
// @ts-ignore: decorator
@inline const Q6: f32 = 1.19825839466702e-06;
// @ts-ignore: decorator
@inline const Q4: f32 = 1.18534705686654e-04;
// @ts-ignore: decorator
@inline const Q2: f32 = 2.26843463243900e-03;
// @ts-ignore: decorator
@inline const Q0: f32 = 4.89352518554385e-03;

/** tanh(a), by the rational function above. */
// @ts-ignore: decorator
@inline export function tanh(a: f32): f32 {
  const x = a < -CLAMP ? -CLAMP : a > CLAMP ? CLAMP : a;
  const x2 = x * x;
  let p = P13 * x2 + P11;
  p = p * x2 + P9;
  p = p * x2 + P7;
  p = p * x2 + P5;
  p = p * x2 + P3;
  p = p * x2 + P1;
  let q = Q6 * x2 + Q4;
  q = q * x2 + Q2;
  q = q * x2 + Q0;
  return x * p / q;
}

/** The logistic function, σ(a) = (1 + tanh(a/2)) / 2: never overflows, and shares tanh's code. */
// @ts-ignore: decorator
@inline export function sigmoid(a: f32): f32 {
  return 0.5 + 0.5 * tanh(0.5 * a);
}

// The same constants splatted, as a table: V8 rebuilds a v128.const inside a loop on every pass, while a load
// from memory is one instruction (SIMD builds only).
const TANH4: usize = memory.data<f32>([
  CLAMP, CLAMP, CLAMP, CLAMP, -CLAMP, -CLAMP, -CLAMP, -CLAMP,
  P13, P13, P13, P13, P11, P11, P11, P11, P9, P9, P9, P9, P7, P7, P7, P7,
  P5, P5, P5, P5, P3, P3, P3, P3, P1, P1, P1, P1,
  Q6, Q6, Q6, Q6, Q4, Q4, Q4, Q4, Q2, Q2, Q2, Q2, Q0, Q0, Q0, Q0,
  0.5, 0.5, 0.5, 0.5,
], 16);

/** tanh in four lanes, operation for operation as `tanh`. pmin/pmax are one instruction each; min/max are not. */
// @ts-ignore: decorator
@inline export function tanh4(a: v128): v128 {
  const x = f32x4.pmax(f32x4.pmin(a, v128.load(TANH4)), v128.load(TANH4, 16));
  const x2 = f32x4.mul(x, x);
  let p = f32x4.add(f32x4.mul(v128.load(TANH4, 32), x2), v128.load(TANH4, 48));
  p = f32x4.add(f32x4.mul(p, x2), v128.load(TANH4, 64));
  p = f32x4.add(f32x4.mul(p, x2), v128.load(TANH4, 80));
  p = f32x4.add(f32x4.mul(p, x2), v128.load(TANH4, 96));
  p = f32x4.add(f32x4.mul(p, x2), v128.load(TANH4, 112));
  p = f32x4.add(f32x4.mul(p, x2), v128.load(TANH4, 128));
  let q = f32x4.add(f32x4.mul(v128.load(TANH4, 144), x2), v128.load(TANH4, 160));
  q = f32x4.add(f32x4.mul(q, x2), v128.load(TANH4, 176));
  q = f32x4.add(f32x4.mul(q, x2), v128.load(TANH4, 192));
  return f32x4.div(f32x4.mul(x, p), q);
}

/** σ in four lanes, operation for operation as `sigmoid`. */
// @ts-ignore: decorator
@inline export function sigmoid4(a: v128): v128 {
  const half = v128.load(TANH4, 208);
  return f32x4.add(half, f32x4.mul(half, tanh4(f32x4.mul(half, a))));
}

// ---- the gated cells' two nonlinearities, chosen per call -----------------------------------------------
// The gates' function (Keras's recurrent_activation), by kind: 0 the logistic function σ, 1 the hard sigmoid
// clip(0.2·a + 0.5, 0, 1) of tf.keras 2, tfjs and ONNX's HardSigmoid, 2 clip(a/6 + 0.5, 0, 1) of Keras 3 and
// PyTorch's nn.Hardsigmoid. The squashing function of the LSTM's candidate and cell output and the GRU's
// candidate (Keras's activation): tanh, or relu when `relu`. Each gradient is the function's own, from its
// output y: σ' = y(1-y); the hard sigmoid's slope where 0 < y < 1, else 0; tanh' = 1 - y²; relu' = y > 0.
// The gradient helpers take the incoming gradient g and return g·f'(y), multiplied in the order the cells
// always used (g·y·(1-y), g·(1-y²)), so that the default functions round exactly as before.

/** The gate kind of the logistic function, every cell's default. */
// @ts-ignore: decorator
@inline export const SIGMOID = 0;

/** The hard sigmoid's slope: 0.2 for kind 1, 1/6 for kind 2. */
// @ts-ignore: decorator
@inline function slope(kind: i32): f32 {
  return kind == 1 ? <f32>0.2 : <f32>(1.0 / 6.0);
}

/** The gate function of `kind` at a. clip as pmin/pmax clip in gate4, so that a NaN stays NaN in both. */
// @ts-ignore: decorator
@inline export function gate_fn(a: f32, kind: i32): f32 {
  if (kind == SIGMOID) return sigmoid(a);
  const y = slope(kind) * a + 0.5;
  const t = y > 1 ? <f32>1 : y;
  return t < 0 ? <f32>0 : t;
}

/** g · f'(a) for the gate function of `kind`, from its output y. */
// @ts-ignore: decorator
@inline export function gate_grad(g: f32, y: f32, kind: i32): f32 {
  if (kind == SIGMOID) return g * y * (1 - y);
  return y > 0 && y < 1 ? g * slope(kind) : 0;
}

/** tanh(a), or relu(a) when `relu` (a NaN stays NaN). */
// @ts-ignore: decorator
@inline export function squash(a: f32, relu: i32): f32 {
  return relu ? (a < 0 ? <f32>0 : a) : tanh(a);
}

/** g · f'(a) for `squash`, from its output y: 1 - y², or y > 0 (so relu'(0) = 0). */
// @ts-ignore: decorator
@inline export function squash_grad(g: f32, y: f32, relu: i32): f32 {
  return relu ? (y > 0 ? g : 0) : g * (1 - y * y);
}

/** gate_fn in four lanes. */
// @ts-ignore: decorator
@inline export function gate_fn4(a: v128, kind: i32): v128 {
  if (kind == SIGMOID) return sigmoid4(a);
  const y = f32x4.add(f32x4.mul(f32x4.splat(slope(kind)), a), v128.load(TANH4, 208));
  return f32x4.pmax(f32x4.pmin(y, f32x4.splat(1)), f32x4.splat(0));
}

/** gate_grad in four lanes. */
// @ts-ignore: decorator
@inline export function gate_grad4(g: v128, y: v128, kind: i32): v128 {
  const one = f32x4.splat(1);
  if (kind == SIGMOID) return f32x4.mul(f32x4.mul(g, y), f32x4.sub(one, y));
  const inside = v128.and(f32x4.gt(y, f32x4.splat(0)), f32x4.lt(y, one));
  return v128.and(f32x4.mul(g, f32x4.splat(slope(kind))), inside);
}

/** squash in four lanes. */
// @ts-ignore: decorator
@inline export function squash4(a: v128, relu: i32): v128 {
  return relu ? f32x4.pmax(a, f32x4.splat(0)) : tanh4(a);
}

/** squash_grad in four lanes. */
// @ts-ignore: decorator
@inline export function squash_grad4(g: v128, y: v128, relu: i32): v128 {
  return relu ? v128.and(g, f32x4.gt(y, f32x4.splat(0))) : f32x4.mul(g, f32x4.sub(f32x4.splat(1), f32x4.mul(y, y)));
}

// ---- the Elman RNN's nonlinearity ---------------------------------------------------------------------------

/** row[j] = f(row[j]) for j < n; f = relu when `relu`, else tanh. */
export function activate(row: usize, n: i32, relu: i32): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    // pmax(a, 0) is a < 0 ? 0 : a exactly, as the plain loop: a NaN stays NaN, as in PyTorch, rather than becoming 0.
    if (relu) for (; j + 4 <= n; j += 4) v128.store(row + <usize>j * F32, f32x4.pmax(v128.load(row + <usize>j * F32), zero));
    else for (; j + 4 <= n; j += 4) v128.store(row + <usize>j * F32, tanh4(v128.load(row + <usize>j * F32)));
  }
  for (; j < n; j++) {
    const p = row + <usize>j * F32;
    const a = load<f32>(p);
    store<f32>(p, relu ? (a < 0 ? 0 : a) : tanh(a));
  }
}

/** da[j] = (dh[j] + dhnext[j]) · f'(a[j]), with f' from h: tanh' = 1 - h², relu' = h > 0 (so relu'(0) = 0). */
export function activation_grad(da: usize, dh: usize, dhnext: usize, h: usize, n: i32, relu: i32): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0), one = f32x4.splat(1);
    for (; j + 4 <= n; j += 4) {
      const off = <usize>j * F32;
      const g = f32x4.add(v128.load(dh + off), v128.load(dhnext + off));
      const hj = v128.load(h + off);
      v128.store(da + off, relu ? v128.and(g, f32x4.gt(hj, zero)) : f32x4.mul(g, f32x4.sub(one, f32x4.mul(hj, hj))));
    }
  }
  for (; j < n; j++) {
    const off = <usize>j * F32;
    const g = load<f32>(dh + off) + load<f32>(dhnext + off);
    const hj = load<f32>(h + off);
    store<f32>(da + off, relu ? (hj > 0 ? g : 0) : g * (1 - hj * hj));
  }
}

// ---- activation layers: a nonlinearity over a block of rows, by kind ------------------------------------
// kind 0 linear (a copy), 1 relu, 2 tanh, 3 σ (the cells' own functions), 4 softmax over each row of `width`.

/** The element-wise kinds 1–3 at a (kind 0 passes a through). */
// @ts-ignore: decorator
@inline function unit(a: f32, kind: i32): f32 {
  return kind == 1 ? (a < 0 ? <f32>0 : a) : kind == 2 ? tanh(a) : kind == 3 ? sigmoid(a) : a;
}

// @ts-ignore: decorator
@inline function unit4(a: v128, kind: i32): v128 {
  return kind == 1 ? f32x4.pmax(a, f32x4.splat(0)) : kind == 2 ? tanh4(a) : kind == 3 ? sigmoid4(a) : a;
}

/** g · f'(z) for the element-wise kinds, from the output y. */
// @ts-ignore: decorator
@inline function unit_grad(g: f32, y: f32, kind: i32): f32 {
  return kind == 1 ? (y > 0 ? g : 0) : kind == 2 ? g * (1 - y * y) : kind == 3 ? g * y * (1 - y) : g;
}

// @ts-ignore: decorator
@inline function unit_grad4(g: v128, y: v128, kind: i32): v128 {
  const one = f32x4.splat(1);
  if (kind == 1) return v128.and(g, f32x4.gt(y, f32x4.splat(0)));
  if (kind == 2) return f32x4.mul(g, f32x4.sub(one, f32x4.mul(y, y)));
  if (kind == 3) return f32x4.mul(f32x4.mul(g, y), f32x4.sub(one, y));
  return g;
}

export function activation_forward(
  y: usize, // [rows, width] written; may be z
  z: usize, // [rows, width]
  rows: i32, width: i32, kind: i32,
): void {
  if (kind == 4) {
    for (let r = 0; r < rows; r++) softmax_row(y + <usize>(r * width) * F32, z + <usize>(r * width) * F32, width);
    return;
  }
  const n = rows * width;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= n; j += 4) v128.store(y + <usize>j * F32, unit4(v128.load(z + <usize>j * F32), kind));
  }
  for (; j < n; j++) store<f32>(y + <usize>j * F32, unit(load<f32>(z + <usize>j * F32), kind));
}

/**
 * y = softmax(z) over one row of n, in place when y is z: exp(z - max) so that no exp overflows, the sum in
 * f64 as the losses sum. A row holding a NaN comes out all NaN.
 */
function softmax_row(y: usize, z: usize, n: i32): void {
  let max: f32 = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = load<f32>(z + <usize>j * F32);
    if (v > max) max = v;
  }
  let sum: f64 = 0;
  for (let j = 0; j < n; j++) {
    const e = Math.exp(<f64>(load<f32>(z + <usize>j * F32) - max));
    sum += e;
    store<f32>(y + <usize>j * F32, <f32>e);
  }
  for (let j = 0; j < n; j++) store<f32>(y + <usize>j * F32, <f32>(<f64>load<f32>(y + <usize>j * F32) / sum));
}

export function activation_backward(
  dz: usize, // [rows, width] written; may be dy
  dy: usize, // [rows, width]
  y: usize, // [rows, width] the forward output
  rows: i32, width: i32, kind: i32,
): void {
  if (kind == 4) {
    // The softmax's Jacobian is diag(y) - y yᵀ: dz = y ⊙ (dy - Σ_j dy_j y_j), row by row.
    for (let r = 0; r < rows; r++) {
      const row = <usize>(r * width) * F32;
      let s: f64 = 0;
      for (let j = 0; j < width; j++) s += <f64>load<f32>(dy + row + <usize>j * F32) * <f64>load<f32>(y + row + <usize>j * F32);
      for (let j = 0; j < width; j++) {
        const off = row + <usize>j * F32;
        store<f32>(dz + off, <f32>(<f64>load<f32>(y + off) * (<f64>load<f32>(dy + off) - s)));
      }
    }
    return;
  }
  const n = rows * width;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= n; j += 4) {
      const off = <usize>j * F32;
      v128.store(dz + off, unit_grad4(v128.load(dy + off), v128.load(y + off), kind));
    }
  }
  for (; j < n; j++) {
    const off = <usize>j * F32;
    store<f32>(dz + off, unit_grad(load<f32>(dy + off), load<f32>(y + off), kind));
  }
}
