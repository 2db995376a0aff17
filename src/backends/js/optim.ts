/**
 * Optimizers over the flat parameter block, elementwise with PyTorch's update rules, plus the global norm
 * and scaling used for gradient clipping. Each update kernel ends in `commit`: with 1 it writes, with 0 it
 * writes nothing; either way it returns 1 when a value it writes (or would write) is NaN or ±Infinity as a
 * float32. The per-element update is one function per optimizer, shared by both modes: `write` stores only
 * when committing, and a value the kernel reads back after storing it is rounded to float32 here as the store
 * would round it, so a check computes exactly what the update would write.
 */
import type { Kernels } from '../../backend.js';
import { at, type JsHeap } from './heap.js';

type Updates = 'sum_squares' | 'scale' | 'clamp' | 'sgd_update' | 'adam_update' | 'rmsprop_update' | 'adagrad_update';

export function optimKernels(heap: JsHeap): Pick<Kernels, Updates> {
  return {
    sum_squares(x, n) {
      const f32 = heap.f32;
      let s = 0;
      for (let i = 0; i < n; i++) s += f32[at(x) + i] * f32[at(x) + i];
      return s;
    },

    scale(x, n, s) {
      const f32 = heap.f32;
      for (let i = 0; i < n; i++) f32[at(x) + i] *= s;
    },

    clamp(x, n, limit) {
      const f32 = heap.f32;
      for (let i = 0; i < n; i++) f32[at(x) + i] = Math.min(limit, Math.max(-limit, f32[at(x) + i]));
    },

    sgd_update(p, g, buf, n, lr, momentum, dampening, nesterov, weight_decay, first, commit) {
      let bad = 0;
      for (let i = 0; i < n; i++) {
        bad |= sgdElement(heap.f32, at(p) + i, at(g) + i, at(buf) + i, lr, momentum, dampening, nesterov, weight_decay, first, commit);
      }
      return bad;
    },

    adam_update(p, g, m, v, vmax, n, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, step, commit) {
      const stepSize = lr / (1 - beta1 ** step);
      const vCorrection = Math.sqrt(1 - beta2 ** step);
      let bad = 0;
      for (let i = 0; i < n; i++) {
        bad |= adamElement(
          heap.f32,
          at(p) + i,
          at(g) + i,
          at(m) + i,
          at(v) + i,
          at(vmax) + i,
          lr,
          beta1,
          beta2,
          eps,
          weight_decay,
          decoupled,
          amsgrad,
          stepSize,
          vCorrection,
          commit,
        );
      }
      return bad;
    },

    rmsprop_update(p, g, sq, ga, buf, n, lr, alpha, eps, weight_decay, momentum, centered, commit) {
      let bad = 0;
      for (let i = 0; i < n; i++) {
        bad |= rmspropElement(
          heap.f32,
          at(p) + i,
          at(g) + i,
          at(sq) + i,
          at(ga) + i,
          at(buf) + i,
          lr,
          alpha,
          eps,
          weight_decay,
          momentum,
          centered,
          commit,
        );
      }
      return bad;
    },

    adagrad_update(p, g, sum, n, lr, lr_decay, eps, weight_decay, step, commit) {
      const clr = lr / (1 + (step - 1) * lr_decay);
      let bad = 0;
      for (let i = 0; i < n; i++) bad |= adagradElement(heap.f32, at(p) + i, at(g) + i, at(sum) + i, clr, eps, weight_decay, commit);
      return bad;
    },
  };
}

/** f32[i] = value rounded to float32, when `commit`; 1 when that float32 is NaN or ±Infinity, else 0. */
function write(f32: Float32Array, i: number, value: number, commit: number): number {
  const rounded = Math.fround(value);
  if (commit) f32[i] = rounded;
  return Number.isFinite(rounded) ? 0 : 1;
}

/** One element of sgd_update (p, g, buf are element indices): the flag of what it writes. */
function sgdElement(
  f32: Float32Array,
  p: number,
  g: number,
  buf: number,
  lr: number,
  momentum: number,
  dampening: number,
  nesterov: number,
  weight_decay: number,
  first: number,
  commit: number,
): number {
  let d = f32[g] + weight_decay * f32[p];
  let bad = 0;
  if (momentum !== 0) {
    const v = first ? d : momentum * f32[buf] + (1 - dampening) * d;
    bad = write(f32, buf, v, commit);
    d = nesterov ? d + momentum * v : v;
  }
  return write(f32, p, f32[p] - lr * d, commit) | bad;
}

function adamElement(
  f32: Float32Array,
  p: number,
  g: number,
  m: number,
  v: number,
  vmax: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weight_decay: number,
  decoupled: number,
  amsgrad: number,
  stepSize: number,
  vCorrection: number,
  commit: number,
): number {
  let grad = f32[g];
  let w = f32[p];
  if (decoupled)
    w = Math.fround(w * (1 - lr * weight_decay)); // AdamW decays the weight (stored as a float32), not the gradient
  else grad += weight_decay * w; // Adam: L2 penalty folded into the gradient
  const mi = beta1 * f32[m] + (1 - beta1) * grad;
  let vi = beta2 * f32[v] + (1 - beta2) * grad * grad;
  let bad = write(f32, m, mi, commit) | write(f32, v, vi, commit);
  if (amsgrad) {
    vi = Math.max(vi, f32[vmax]);
    bad |= write(f32, vmax, vi, commit);
  }
  return write(f32, p, w - (stepSize * mi) / (Math.sqrt(vi) / vCorrection + eps), commit) | bad;
}

function rmspropElement(
  f32: Float32Array,
  p: number,
  g: number,
  sq: number,
  ga: number,
  buf: number,
  lr: number,
  alpha: number,
  eps: number,
  weight_decay: number,
  momentum: number,
  centered: number,
  commit: number,
): number {
  const grad = f32[g] + weight_decay * f32[p];
  const s = alpha * f32[sq] + (1 - alpha) * grad * grad;
  let bad = write(f32, sq, s, commit);
  let avg = s;
  if (centered) {
    const a = alpha * f32[ga] + (1 - alpha) * grad;
    bad |= write(f32, ga, a, commit);
    avg -= a * a;
  }
  avg = Math.sqrt(avg) + eps;
  if (momentum > 0) {
    const b = momentum * f32[buf] + grad / avg;
    bad |= write(f32, buf, b, commit);
    return write(f32, p, f32[p] - lr * b, commit) | bad;
  }
  return write(f32, p, f32[p] - (lr * grad) / avg, commit) | bad;
}

function adagradElement(
  f32: Float32Array,
  p: number,
  g: number,
  sum: number,
  clr: number,
  eps: number,
  weight_decay: number,
  commit: number,
): number {
  const grad = f32[g] + weight_decay * f32[p];
  const s = Math.fround(f32[sum] + grad * grad); // read back from the float32 store below
  const bad = write(f32, sum, s, commit);
  return write(f32, p, f32[p] - (clr * grad) / (Math.sqrt(s) + eps), commit) | bad;
}
