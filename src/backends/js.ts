/**
 * The pure-JS backend: the readable reference for every kernel, and the baseline the benchmarks compare
 * against. Same pointers and sizes as the WebAssembly build (see `backend.ts`); each kernel turns byte
 * offsets into Float32Array indices once and then loops plainly. Sums run in double precision and round
 * to float32 when stored.
 */
import type { KernelInstance, Kernels } from '../backend.js';
import { MemoryLimitError } from '../errors.js';

/** The largest heap a model may reserve: 4 GiB, like wasm32's address space. */
export const MAX_HEAP_BYTES = 2 ** 32;

class JsHeap {
  f32: Float32Array = new Float32Array(0);
  i32: Int32Array = new Int32Array(0);

  get buffer(): ArrayBuffer {
    return this.f32.buffer as ArrayBuffer;
  }

  reserve(bytes: number): void {
    if (bytes <= this.f32.byteLength) return;
    if (bytes > MAX_HEAP_BYTES) {
      throw new MemoryLimitError(`the model needs ${bytes} bytes; the JS backend can address at most ${MAX_HEAP_BYTES}`);
    }
    // Grow geometrically, like WebAssembly memory, so repeated small increases stay cheap.
    const size = Math.min(MAX_HEAP_BYTES, Math.max(bytes, 2 * this.f32.byteLength, 1 << 16));
    let next: Float32Array;
    try {
      next = new Float32Array(Math.ceil(size / 4));
    } catch {
      throw new MemoryLimitError(`could not allocate ${size} bytes for the JS backend's heap`);
    }
    next.set(this.f32);
    this.f32 = next;
    this.i32 = new Int32Array(next.buffer);
  }
}

/** A fresh heap with the reference kernels bound to it. */
export function createJsInstance(): KernelInstance {
  const heap = new JsHeap();
  return {
    backend: 'js',
    kernels: jsKernels(heap),
    get buffer() {
      return heap.buffer;
    },
    base: 0,
    reserve: (bytes) => heap.reserve(bytes),
  };
}

const tanh = Math.tanh;
const relu = (a: number) => (a > 0 ? a : 0);

function jsKernels(heap: JsHeap): Kernels {
  // Pointers arrive in bytes; the heap is indexed in 4-byte elements.
  const at = (ptr: number) => ptr >> 2;

  return {
    rnn_forward(out, x, h0, w_ih, w_hh, b_ih, b_hh, T, B, I, H, ldo, reverse, useRelu) {
      const m = heap.f32;
      const f = useRelu ? relu : tanh;
      for (let s = 0; s < T; s++) {
        const t = reverse ? T - 1 - s : s;
        const prevT = reverse ? t + 1 : t - 1;
        for (let b = 0; b < B; b++) {
          const xRow = at(x) + (t * B + b) * I;
          // h[t-1] is the previous step's output row, or h0 before the first step.
          const hRow = s === 0 ? at(h0) + b * H : at(out) + (prevT * B + b) * ldo;
          const outRow = at(out) + (t * B + b) * ldo;
          for (let j = 0; j < H; j++) {
            let a = (b_ih ? m[at(b_ih) + j] : 0) + (b_hh ? m[at(b_hh) + j] : 0);
            for (let k = 0; k < I; k++) a += m[at(w_ih) + j * I + k] * m[xRow + k];
            for (let k = 0; k < H; k++) a += m[at(w_hh) + j * H + k] * m[hRow + k];
            m[outRow + j] = f(a);
          }
        }
      }
    },

    rnn_backward(dx, dh0, dw_ih, dw_hh, db_ih, db_hh, dpre, dout, out, x, h0, w_ih, w_hh,
      T, B, I, H, ldo, reverse, useRelu) {
      const m = heap.f32;
      // dh0 doubles as the running gradient flowing into the previous step's state (dhnext).
      m.fill(0, at(dh0), at(dh0) + B * H);
      for (let s = T - 1; s >= 0; s--) {
        const t = reverse ? T - 1 - s : s;
        const prevT = reverse ? t + 1 : t - 1;
        for (let b = 0; b < B; b++) {
          const outRow = at(out) + (t * B + b) * ldo;
          const doutRow = at(dout) + (t * B + b) * ldo;
          const dpreRow = at(dpre) + (t * B + b) * H;
          for (let j = 0; j < H; j++) {
            const dh = m[doutRow + j] + m[at(dh0) + b * H + j]; // from the output and from step t+1
            const h = m[outRow + j];
            m[dpreRow + j] = dh * (useRelu ? (h > 0 ? 1 : 0) : 1 - h * h); // through f; relu'(0) = 0
          }
        }
        for (let b = 0; b < B; b++) {
          const dpreRow = at(dpre) + (t * B + b) * H;
          const hRow = s === 0 ? at(h0) + b * H : at(out) + (prevT * B + b) * ldo;
          for (let k = 0; k < H; k++) {
            let a = 0; // dh[t-1] = dpre[t] W_hh
            for (let j = 0; j < H; j++) a += m[dpreRow + j] * m[at(w_hh) + j * H + k];
            m[at(dh0) + b * H + k] = a;
          }
          for (let j = 0; j < H; j++) {
            const g = m[dpreRow + j];
            for (let k = 0; k < H; k++) m[at(dw_hh) + j * H + k] += g * m[hRow + k]; // dW_hh += dpreᵀ h[t-1]
            if (db_ih) m[at(db_ih) + j] += g;
            if (db_hh) m[at(db_hh) + j] += g;
          }
        }
      }
      // The input enters every step the same way, so its gradients come from all steps at once.
      for (let n = 0; n < T * B; n++) {
        const dpreRow = at(dpre) + n * H;
        const xRow = at(x) + n * I;
        for (let j = 0; j < H; j++) {
          const g = m[dpreRow + j];
          for (let k = 0; k < I; k++) {
            m[at(dw_ih) + j * I + k] += g * m[xRow + k]; // dW_ih += dpreᵀ x
            m[at(dx) + n * I + k] += g * m[at(w_ih) + j * I + k]; // dx += dpre W_ih
          }
        }
      }
    },

    linear_forward(y, x, w, b, N, I, O) {
      const m = heap.f32;
      for (let n = 0; n < N; n++) {
        for (let o = 0; o < O; o++) {
          let a = m[at(b) + o];
          for (let k = 0; k < I; k++) a += m[at(w) + o * I + k] * m[at(x) + n * I + k];
          m[at(y) + n * O + o] = a;
        }
      }
    },

    linear_backward(dx, dw, db, dy, x, w, N, I, O) {
      const m = heap.f32;
      for (let n = 0; n < N; n++) {
        for (let o = 0; o < O; o++) {
          const g = m[at(dy) + n * O + o];
          m[at(db) + o] += g;
          for (let k = 0; k < I; k++) {
            m[at(dw) + o * I + k] += g * m[at(x) + n * I + k];
            m[at(dx) + n * I + k] += g * m[at(w) + o * I + k];
          }
        }
      }
    },

    mse_loss(dy, y, target, n, count) {
      const m = heap.f32;
      let loss = 0;
      for (let i = 0; i < n; i++) {
        const e = m[at(y) + i] - m[at(target) + i];
        loss += e * e;
        m[at(dy) + i] = (2 * e) / count;
      }
      return loss / count;
    },

    cross_entropy_loss(dlogits, logits, targets, N, C, count) {
      const m = heap.f32;
      const ids = heap.i32;
      let loss = 0;
      for (let n = 0; n < N; n++) {
        const row = at(logits) + n * C;
        const drow = at(dlogits) + n * C;
        const target = ids[at(targets) + n];
        let max = -Infinity; // subtract the max so exp cannot overflow
        for (let c = 0; c < C; c++) max = Math.max(max, m[row + c]);
        let sum = 0;
        for (let c = 0; c < C; c++) sum += Math.exp(m[row + c] - max);
        loss += max + Math.log(sum) - m[row + target];
        for (let c = 0; c < C; c++) {
          m[drow + c] = (Math.exp(m[row + c] - max) / sum - (c === target ? 1 : 0)) / count;
        }
      }
      return loss / count;
    },

    sum_squares(x, n) {
      const m = heap.f32;
      let s = 0;
      for (let i = 0; i < n; i++) s += m[at(x) + i] * m[at(x) + i];
      return s;
    },

    scale(x, n, s) {
      const m = heap.f32;
      for (let i = 0; i < n; i++) m[at(x) + i] *= s;
    },

    sgd_update(p, g, buf, n, lr, momentum, dampening, nesterov, weight_decay, first) {
      const m = heap.f32;
      for (let i = 0; i < n; i++) {
        let d = m[at(g) + i] + weight_decay * m[at(p) + i];
        if (momentum !== 0) {
          const v = first ? d : momentum * m[at(buf) + i] + (1 - dampening) * d;
          m[at(buf) + i] = v;
          d = nesterov ? d + momentum * v : v;
        }
        m[at(p) + i] -= lr * d;
      }
    },

    adam_update(p, g, mom, vel, n, lr, beta1, beta2, eps, weight_decay, decoupled, step) {
      const m = heap.f32;
      const stepSize = lr / (1 - beta1 ** step);
      const vCorrection = Math.sqrt(1 - beta2 ** step);
      for (let i = 0; i < n; i++) {
        let grad = m[at(g) + i];
        if (decoupled) m[at(p) + i] *= 1 - lr * weight_decay; // AdamW: decay the weight, not the gradient
        else grad += weight_decay * m[at(p) + i]; // Adam: L2 penalty folded into the gradient
        const mi = beta1 * m[at(mom) + i] + (1 - beta1) * grad;
        const vi = beta2 * m[at(vel) + i] + (1 - beta2) * grad * grad;
        m[at(mom) + i] = mi;
        m[at(vel) + i] = vi;
        m[at(p) + i] -= (stepSize * mi) / (Math.sqrt(vi) / vCorrection + eps);
      }
    },
  };
}
