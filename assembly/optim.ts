// Optimizers over the flat parameter block, elementwise with PyTorch's update rules, plus the global norm
// and scaling used for gradient clipping.

// @ts-ignore: decorator
@inline const F32 = 4;

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

/**
 * SGD: g += wd·p; with momentum μ the buffer is g on the first step, μ·buf + (1 - dampening)·g after;
 * the direction is g + μ·buf with Nesterov, buf without; p -= lr·direction.
 */
export function sgd_update(
  p: usize, // [n]
  g: usize, // [n]
  buf: usize, // [n] momentum buffer (unused without momentum)
  n: i32, lr: f64, momentum: f64, dampening: f64, nesterov: i32, weight_decay: f64, first: i32,
): void {
  for (let i = 0; i < n; i++) {
    const off = <usize>i * F32;
    const w = <f64>load<f32>(p + off);
    let d = <f64>load<f32>(g + off) + weight_decay * w;
    if (momentum != 0) {
      const v = first ? d : momentum * <f64>load<f32>(buf + off) + (1 - dampening) * d;
      store<f32>(buf + off, <f32>v);
      d = nesterov ? d + momentum * v : v;
    }
    store<f32>(p + off, <f32>(w - lr * d));
  }
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
): void {
  // In f64 per element: with β2 rounded to f32, 1 - β2 would be off by 5e-5 relative.
  const stepSize = lr / (1 - Math.pow(beta1, step));
  const vCorrection = Math.sqrt(1 - Math.pow(beta2, step));
  const decay = 1 - lr * weight_decay;
  for (let i = 0; i < n; i++) {
    const off = <usize>i * F32;
    let grad = <f64>load<f32>(g + off);
    let w = <f64>load<f32>(p + off);
    if (decoupled) w *= decay; // AdamW decays the weight, not the gradient
    else grad += weight_decay * w; // Adam folds an L2 penalty into the gradient
    const mi = beta1 * <f64>load<f32>(m + off) + (1 - beta1) * grad;
    let vi = beta2 * <f64>load<f32>(v + off) + (1 - beta2) * grad * grad;
    store<f32>(m + off, <f32>mi);
    store<f32>(v + off, <f32>vi);
    if (amsgrad) {
      vi = Math.max(vi, <f64>load<f32>(vmax + off));
      store<f32>(vmax + off, <f32>vi);
    }
    store<f32>(p + off, <f32>(w - stepSize * mi / (Math.sqrt(vi) / vCorrection + eps)));
  }
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
): void {
  for (let i = 0; i < n; i++) {
    const off = <usize>i * F32;
    const w = <f64>load<f32>(p + off);
    const grad = <f64>load<f32>(g + off) + weight_decay * w;
    const s = alpha * <f64>load<f32>(sq + off) + (1 - alpha) * grad * grad;
    store<f32>(sq + off, <f32>s);
    let avg = s;
    if (centered) {
      const a = alpha * <f64>load<f32>(ga + off) + (1 - alpha) * grad;
      store<f32>(ga + off, <f32>a);
      avg -= a * a;
    }
    avg = Math.sqrt(avg) + eps;
    if (momentum > 0) {
      const b = momentum * <f64>load<f32>(buf + off) + grad / avg;
      store<f32>(buf + off, <f32>b);
      store<f32>(p + off, <f32>(w - lr * b));
    } else {
      store<f32>(p + off, <f32>(w - lr * grad / avg));
    }
  }
}

/** Adagrad: sum += g²; p -= lr / (1 + (step-1)·lr_decay) · g / (√sum + eps). */
export function adagrad_update(
  p: usize, // [n]
  g: usize, // [n]
  sum: usize, // [n] accumulated g², starting at initial_accumulator_value
  n: i32, lr: f64, lr_decay: f64, eps: f64, weight_decay: f64, step: i32,
): void {
  const clr = lr / (1 + <f64>(step - 1) * lr_decay);
  for (let i = 0; i < n; i++) {
    const off = <usize>i * F32;
    const w = <f64>load<f32>(p + off);
    const grad = <f64>load<f32>(g + off) + weight_decay * w;
    const s = <f64>load<f32>(sum + off) + grad * grad;
    store<f32>(sum + off, <f32>s);
    store<f32>(p + off, <f32>(w - clr * grad / (Math.sqrt(s) + eps)));
  }
}

/** x = clamp(x, -limit, limit) over n elements: gradient clipping by value. */
export function clamp(x: usize, n: i32, limit: f32): void {
  for (let i = 0; i < n; i++) {
    const p = x + <usize>i * F32;
    store<f32>(p, Mathf.min(limit, Mathf.max(-limit, load<f32>(p))));
  }
}
