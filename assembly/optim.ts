// Optimizers over the flat parameter block, elementwise with PyTorch's update rules, plus the global norm
// and scaling used for gradient clipping.

import { hi, lo, share, team_flag } from './parallel';

// @ts-ignore: decorator
@inline const F32 = 4;
// @ts-ignore: decorator
@inline const ELEMENTS_PER_LINE = 16; // a team's shares of an update are a cache line's worth of elements or more

/** Σ x² over n elements, in f64 so that millions of squares do not lose the small ones. */
export function sum_squares(x: usize, n: i32): f64 {
  let s: f64 = 0;
  for (let i = 0; i < n; i++) {
    const v = <f64>load<f32>(x + <usize>i * F32);
    s += v * v;
  }
  return s;
}

/** x *= s over n elements. */
export function scale(x: usize, n: i32, s: f32): void {
  for (let i = 0; i < n; i++) {
    const p = x + <usize>i * F32;
    store<f32>(p, load<f32>(p) * s);
  }
}

// Each update kernel ends in `commit`: with 1 it writes the new parameters and state, with 0 it writes nothing
// and only answers whether it would write something non-finite. Either way it returns 1 when any value it
// writes (or would write) is NaN or ±Infinity, after rounding to f32, else 0: a finite gradient can still
// overflow (g = 1e30 squares past f32's range in a second moment, a huge lr throws p past it, eps 0 divides
// 0 by 0), and a model that refuses such a step must know before any of it lands. The per-element update is
// one @inline function, called with a constant `commit` from two loops, so the math is written once and each
// loop compiles to its own branch-free body: the commit 1 loop stores exactly what the update always stored.
// The check is (x - x): +0 for a finite x, NaN for NaN or ±Infinity; a sum of them is NaN when any is.
// On a team (parallel.ts) each thread updates its share of the elements, and team_flag gathers the flags: every
// update is elementwise, so the split changes no value.

/** 1 when `bad`, a sum of (x - x) over the values written, is NaN, else 0. */
// @ts-ignore: decorator
@inline function flag(bad: f32): i32 {
  return <i32>(bad != 0);
}

/**
 * SGD: g += wd·p; with momentum μ the buffer is g on the first step, μ·buf + (1 - dampening)·g after;
 * the direction is g + μ·buf with Nesterov, buf without; p -= lr·direction.
 */
export function sgd_update(
  p: usize, // [n]
  g: usize, // [n]
  buf: usize, // [n] momentum buffer (unused without momentum)
  n: i32, lr: f64, momentum: f64, dampening: f64, nesterov: i32, weight_decay: f64, first: i32,
  commit: i32, // 1: write; 0: write nothing, only return the flag
): i32 {
  const r = share(n, ELEMENTS_PER_LINE);
  let bad: f32 = 0;
  if (commit) {
    for (let i = lo(r); i < hi(r); i++) bad += sgd_element(<usize>i * F32, p, g, buf, lr, momentum, dampening, nesterov, weight_decay, first, true);
  } else {
    for (let i = lo(r); i < hi(r); i++) bad += sgd_element(<usize>i * F32, p, g, buf, lr, momentum, dampening, nesterov, weight_decay, first, false);
  }
  return team_flag(flag(bad));
}

/** One element of sgd_update at byte offset `off`: stores when `commit`; returns the sum of (x - x) over what it writes. */
// @ts-ignore: decorator
@inline function sgd_element(
  off: usize, p: usize, g: usize, buf: usize,
  lr: f64, momentum: f64, dampening: f64, nesterov: i32, weight_decay: f64, first: i32, commit: bool,
): f32 {
  const w = <f64>load<f32>(p + off);
  let d = <f64>load<f32>(g + off) + weight_decay * w;
  let bad: f32 = 0;
  if (momentum != 0) {
    const v = first ? d : momentum * <f64>load<f32>(buf + off) + (1 - dampening) * d;
    const bv = <f32>v;
    if (commit) store<f32>(buf + off, bv);
    bad = bv - bv;
    d = nesterov ? d + momentum * v : v;
  }
  const pw = <f32>(w - lr * d);
  if (commit) store<f32>(p + off, pw);
  return bad + (pw - pw);
}

/**
 * Adam at step ≥ 1 (AdamW when `decoupled`): m = β1 m + (1-β1) g, v = β2 v + (1-β2) g²,
 * p -= lr / (1-β1^step) · m / (√v̂ / √(1-β2^step) + eps), where v̂ = v, or with `amsgrad` the running
 * maximum of v kept in vmax. eps is added after the bias correction, as in PyTorch.
 */
export function adam_update(
  p: usize, // [n]
  g: usize, // [n]
  m: usize, // [n] first moment
  v: usize, // [n] second moment
  vmax: usize, // [n] largest second moment so far (amsgrad only)
  n: i32, lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, decoupled: i32, amsgrad: i32, step: i32,
  commit: i32, // 1: write; 0: write nothing, only return the flag
): i32 {
  // In f64 per element: with β2 rounded to f32, 1 - β2 would be off by 5e-5 relative.
  const stepSize = lr / (1 - Math.pow(beta1, step));
  const vCorrection = Math.sqrt(1 - Math.pow(beta2, step));
  const decay = 1 - lr * weight_decay;
  const r = share(n, ELEMENTS_PER_LINE);
  let bad: f32 = 0;
  if (commit) {
    for (let i = lo(r); i < hi(r); i++) {
      bad += adam_element(<usize>i * F32, p, g, m, v, vmax, beta1, beta2, eps, weight_decay, decoupled, amsgrad, stepSize, vCorrection, decay, true);
    }
  } else {
    for (let i = lo(r); i < hi(r); i++) {
      bad += adam_element(<usize>i * F32, p, g, m, v, vmax, beta1, beta2, eps, weight_decay, decoupled, amsgrad, stepSize, vCorrection, decay, false);
    }
  }
  return team_flag(flag(bad));
}

/** One element of adam_update, as sgd_element. */
// @ts-ignore: decorator
@inline function adam_element(
  off: usize, p: usize, g: usize, m: usize, v: usize, vmax: usize,
  beta1: f64, beta2: f64, eps: f64, weight_decay: f64, decoupled: i32, amsgrad: i32,
  stepSize: f64, vCorrection: f64, decay: f64, commit: bool,
): f32 {
  let grad = <f64>load<f32>(g + off);
  let w = <f64>load<f32>(p + off);
  if (decoupled) w *= decay; // AdamW decays the weight, not the gradient
  else grad += weight_decay * w; // Adam folds an L2 penalty into the gradient
  const mi = beta1 * <f64>load<f32>(m + off) + (1 - beta1) * grad;
  let vi = beta2 * <f64>load<f32>(v + off) + (1 - beta2) * grad * grad;
  const mf = <f32>mi, vf = <f32>vi;
  if (commit) {
    store<f32>(m + off, mf);
    store<f32>(v + off, vf);
  }
  let bad = (mf - mf) + (vf - vf);
  if (amsgrad) {
    vi = Math.max(vi, <f64>load<f32>(vmax + off));
    const xf = <f32>vi;
    if (commit) store<f32>(vmax + off, xf);
    bad += xf - xf;
  }
  const pw = <f32>(w - stepSize * mi / (Math.sqrt(vi) / vCorrection + eps));
  if (commit) store<f32>(p + off, pw);
  return bad + (pw - pw);
}

/**
 * RMSprop: sq = α sq + (1-α) g²; avg = √sq + eps, or √(sq - ga²) + eps when `centered`, with
 * ga = α ga + (1-α) g; with momentum μ, buf = μ buf + g / avg and p -= lr·buf, else p -= lr·g / avg.
 * No bias correction, as in PyTorch.
 */
export function rmsprop_update(
  p: usize, // [n]
  g: usize, // [n]
  sq: usize, // [n] running mean of g²
  ga: usize, // [n] running mean of g (centered only)
  buf: usize, // [n] momentum buffer (momentum > 0 only)
  n: i32, lr: f64, alpha: f64, eps: f64, weight_decay: f64, momentum: f64, centered: i32,
  commit: i32, // 1: write; 0: write nothing, only return the flag
): i32 {
  const r = share(n, ELEMENTS_PER_LINE);
  let bad: f32 = 0;
  if (commit) {
    for (let i = lo(r); i < hi(r); i++) bad += rmsprop_element(<usize>i * F32, p, g, sq, ga, buf, lr, alpha, eps, weight_decay, momentum, centered, true);
  } else {
    for (let i = lo(r); i < hi(r); i++) bad += rmsprop_element(<usize>i * F32, p, g, sq, ga, buf, lr, alpha, eps, weight_decay, momentum, centered, false);
  }
  return team_flag(flag(bad));
}

/** One element of rmsprop_update, as sgd_element. */
// @ts-ignore: decorator
@inline function rmsprop_element(
  off: usize, p: usize, g: usize, sq: usize, ga: usize, buf: usize,
  lr: f64, alpha: f64, eps: f64, weight_decay: f64, momentum: f64, centered: i32, commit: bool,
): f32 {
  const w = <f64>load<f32>(p + off);
  const grad = <f64>load<f32>(g + off) + weight_decay * w;
  const s = alpha * <f64>load<f32>(sq + off) + (1 - alpha) * grad * grad;
  const sf = <f32>s;
  if (commit) store<f32>(sq + off, sf);
  let bad = sf - sf;
  let avg = s;
  if (centered) {
    const a = alpha * <f64>load<f32>(ga + off) + (1 - alpha) * grad;
    const af = <f32>a;
    if (commit) store<f32>(ga + off, af);
    bad += af - af;
    avg -= a * a;
  }
  avg = Math.sqrt(avg) + eps;
  let pw: f32;
  if (momentum > 0) {
    const b = momentum * <f64>load<f32>(buf + off) + grad / avg;
    const bf = <f32>b;
    if (commit) store<f32>(buf + off, bf);
    bad += bf - bf;
    pw = <f32>(w - lr * b);
  } else {
    pw = <f32>(w - lr * grad / avg);
  }
  if (commit) store<f32>(p + off, pw);
  return bad + (pw - pw);
}

/** Adagrad: sum += g²; p -= lr / (1 + (step-1)·lr_decay) · g / (√sum + eps). */
export function adagrad_update(
  p: usize, // [n]
  g: usize, // [n]
  sum: usize, // [n] accumulated g², starting at initial_accumulator_value
  n: i32, lr: f64, lr_decay: f64, eps: f64, weight_decay: f64, step: i32,
  commit: i32, // 1: write; 0: write nothing, only return the flag
): i32 {
  const clr = lr / (1 + <f64>(step - 1) * lr_decay);
  const r = share(n, ELEMENTS_PER_LINE);
  let bad: f32 = 0;
  if (commit) {
    for (let i = lo(r); i < hi(r); i++) bad += adagrad_element(<usize>i * F32, p, g, sum, clr, eps, weight_decay, true);
  } else {
    for (let i = lo(r); i < hi(r); i++) bad += adagrad_element(<usize>i * F32, p, g, sum, clr, eps, weight_decay, false);
  }
  return team_flag(flag(bad));
}

/** One element of adagrad_update, as sgd_element. */
// @ts-ignore: decorator
@inline function adagrad_element(off: usize, p: usize, g: usize, sum: usize, clr: f64, eps: f64, weight_decay: f64, commit: bool): f32 {
  const w = <f64>load<f32>(p + off);
  const grad = <f64>load<f32>(g + off) + weight_decay * w;
  const s = <f64>load<f32>(sum + off) + grad * grad;
  const sf = <f32>s;
  if (commit) store<f32>(sum + off, sf);
  const pw = <f32>(w - clr * grad / (Math.sqrt(s) + eps));
  if (commit) store<f32>(p + off, pw);
  return (sf - sf) + (pw - pw);
}

/** x = clamp(x, -limit, limit) over n elements: gradient clipping by value. */
export function clamp(x: usize, n: i32, limit: f32): void {
  for (let i = 0; i < n; i++) {
    const p = x + <usize>i * F32;
    store<f32>(p, Mathf.min(limit, Mathf.max(-limit, load<f32>(p))));
  }
}
