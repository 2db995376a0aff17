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
const sigmoid = (a: number) => 1 / (1 + Math.exp(-a));

function jsKernels(heap: JsHeap): Kernels {
  // Pointers arrive in bytes; the heap is indexed in 4-byte elements.
  const at = (ptr: number) => ptr >> 2;

  /**
   * One step of a gated cell's backward pass through its recurrent weights, given the gate pre-activation
   * gradients da[t] [B, G]: dh[t-1] (+= when `overwrite` is false, else =) da W_hh, dW_hh += daᵀ h[t-1],
   * db_ih and db_hh += da.
   */
  const recurrentBackward = (t: number, s: number, prevT: number, da: number, G: number, dh: number, out: number,
    h0: number, w_hh: number, dw_hh: number, db_ih: number, db_hh: number, B: number, H: number, ldo: number,
    overwrite: boolean) => {
    const m = heap.f32;
    for (let b = 0; b < B; b++) {
      const daRow = at(da) + (t * B + b) * G;
      const hRow = s === 0 ? at(h0) + b * H : at(out) + (prevT * B + b) * ldo;
      for (let k = 0; k < H; k++) {
        let a = overwrite ? 0 : m[at(dh) + b * H + k];
        for (let r = 0; r < G; r++) a += m[daRow + r] * m[at(w_hh) + r * H + k];
        m[at(dh) + b * H + k] = a;
      }
      for (let r = 0; r < G; r++) {
        const g = m[daRow + r];
        for (let k = 0; k < H; k++) m[at(dw_hh) + r * H + k] += g * m[hRow + k];
        if (db_ih) m[at(db_ih) + r] += g;
        if (db_hh) m[at(db_hh) + r] += g;
      }
    }
  };

  /** dW_ih += daᵀ x and dx += da W_ih over all N = T·B rows: the input enters every step the same way. */
  const inputBackward = (da: number, G: number, x: number, w_ih: number, dw_ih: number, dx: number, N: number,
    I: number) => {
    const m = heap.f32;
    for (let n = 0; n < N; n++) {
      for (let r = 0; r < G; r++) {
        const g = m[at(da) + n * G + r];
        for (let k = 0; k < I; k++) {
          m[at(dw_ih) + r * I + k] += g * m[at(x) + n * I + k];
          m[at(dx) + n * I + k] += g * m[at(w_ih) + r * I + k];
        }
      }
    }
  };

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
        recurrentBackward(t, s, prevT, dpre, H, dh0, out, h0, w_hh, dw_hh, db_ih, db_hh, B, H, ldo, true);
      }
      inputBackward(dpre, H, x, w_ih, dw_ih, dx, T * B, I);
    },

    lstm_forward(out, cells, gates, x, h0, c0, w_ih, w_hh, b_ih, b_hh, T, B, I, H, ldo, reverse) {
      const m = heap.f32;
      const G = 4 * H;
      for (let s = 0; s < T; s++) {
        const t = reverse ? T - 1 - s : s;
        const prevT = reverse ? t + 1 : t - 1;
        for (let b = 0; b < B; b++) {
          const xRow = at(x) + (t * B + b) * I;
          const hRow = s === 0 ? at(h0) + b * H : at(out) + (prevT * B + b) * ldo;
          const cPrevRow = s === 0 ? at(c0) + b * H : at(cells) + (prevT * B + b) * H;
          const gRow = at(gates) + (t * B + b) * G;
          // All four gates' pre-activations, rows i, f, g, o of the stacked weights.
          for (let r = 0; r < G; r++) {
            let a = (b_ih ? m[at(b_ih) + r] : 0) + (b_hh ? m[at(b_hh) + r] : 0);
            for (let k = 0; k < I; k++) a += m[at(w_ih) + r * I + k] * m[xRow + k];
            for (let k = 0; k < H; k++) a += m[at(w_hh) + r * H + k] * m[hRow + k];
            m[gRow + r] = r >= 2 * H && r < 3 * H ? Math.tanh(a) : sigmoid(a);
          }
          for (let j = 0; j < H; j++) {
            const [i, f, g, o] = [m[gRow + j], m[gRow + H + j], m[gRow + 2 * H + j], m[gRow + 3 * H + j]];
            const c = f * m[cPrevRow + j] + i * g;
            m[at(cells) + (t * B + b) * H + j] = c;
            m[at(out) + (t * B + b) * ldo + j] = o * Math.tanh(m[at(cells) + (t * B + b) * H + j]);
          }
        }
      }
    },

    lstm_backward(dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dgates, dout, out, cells, gates, x, h0, c0, w_ih,
      w_hh, T, B, I, H, ldo, reverse) {
      const m = heap.f32;
      const G = 4 * H;
      // dh0 and dc0 double as the running gradients into the previous step's h and c.
      m.fill(0, at(dh0), at(dh0) + B * H);
      m.fill(0, at(dc0), at(dc0) + B * H);
      for (let s = T - 1; s >= 0; s--) {
        const t = reverse ? T - 1 - s : s;
        const prevT = reverse ? t + 1 : t - 1;
        for (let b = 0; b < B; b++) {
          const gRow = at(gates) + (t * B + b) * G;
          const dRow = at(dgates) + (t * B + b) * G;
          const cPrevRow = s === 0 ? at(c0) + b * H : at(cells) + (prevT * B + b) * H;
          for (let j = 0; j < H; j++) {
            const [i, f, g, o] = [m[gRow + j], m[gRow + H + j], m[gRow + 2 * H + j], m[gRow + 3 * H + j]];
            const tc = Math.tanh(m[at(cells) + (t * B + b) * H + j]);
            const dh = m[at(dout) + (t * B + b) * ldo + j] + m[at(dh0) + b * H + j];
            const dc = m[at(dc0) + b * H + j] + dh * o * (1 - tc * tc); // through h = o tanh(c), plus from c[t+1]
            m[at(dc0) + b * H + j] = dc * f; // into c[t-1]
            m[dRow + j] = dc * g * i * (1 - i);
            m[dRow + H + j] = dc * m[cPrevRow + j] * f * (1 - f);
            m[dRow + 2 * H + j] = dc * i * (1 - g * g);
            m[dRow + 3 * H + j] = dh * tc * o * (1 - o);
          }
        }
        recurrentBackward(t, s, prevT, dgates, G, dh0, out, h0, w_hh, dw_hh, db_ih, db_hh, B, H, ldo, true);
      }
      inputBackward(dgates, G, x, w_ih, dw_ih, dx, T * B, I);
    },

    gru_forward(out, gates, hn, _gh, x, h0, w_ih, w_hh, b_ih, b_hh, T, B, I, H, ldo, reverse) {
      const m = heap.f32;
      const G = 3 * H;
      const dot = (w: number, r: number, v: number, n: number) => {
        let a = 0;
        for (let k = 0; k < n; k++) a += m[at(w) + r * n + k] * m[v + k];
        return a;
      };
      for (let s = 0; s < T; s++) {
        const t = reverse ? T - 1 - s : s;
        const prevT = reverse ? t + 1 : t - 1;
        for (let b = 0; b < B; b++) {
          const xRow = at(x) + (t * B + b) * I;
          const hRow = s === 0 ? at(h0) + b * H : at(out) + (prevT * B + b) * ldo;
          const gRow = at(gates) + (t * B + b) * G;
          const bias = (ptr: number, r: number) => (ptr ? m[at(ptr) + r] : 0);
          for (let j = 0; j < H; j++) {
            const [rr, zr, nr] = [j, H + j, 2 * H + j]; // this unit's row in each gate block
            const r = sigmoid(dot(w_ih, rr, xRow, I) + bias(b_ih, rr) + dot(w_hh, rr, hRow, H) + bias(b_hh, rr));
            const z = sigmoid(dot(w_ih, zr, xRow, I) + bias(b_ih, zr) + dot(w_hh, zr, hRow, H) + bias(b_hh, zr));
            const hidden = dot(w_hh, nr, hRow, H) + bias(b_hh, nr); // b_hn stays inside the product with r
            const n = Math.tanh(dot(w_ih, nr, xRow, I) + bias(b_ih, nr) + r * hidden);
            m[gRow + rr] = r;
            m[gRow + zr] = z;
            m[gRow + nr] = n;
            m[at(hn) + (t * B + b) * H + j] = hidden;
            m[at(out) + (t * B + b) * ldo + j] = (1 - z) * n + z * m[hRow + j];
          }
        }
      }
    },

    gru_backward(dx, dh0, dw_ih, dw_hh, db_ih, db_hh, dgi, dgh, dout, out, gates, hn, x, h0, w_ih, w_hh,
      T, B, I, H, ldo, reverse) {
      const m = heap.f32;
      const G = 3 * H;
      m.fill(0, at(dh0), at(dh0) + B * H);
      for (let s = T - 1; s >= 0; s--) {
        const t = reverse ? T - 1 - s : s;
        const prevT = reverse ? t + 1 : t - 1;
        for (let b = 0; b < B; b++) {
          const row = (t * B + b) * G;
          const hRow = s === 0 ? at(h0) + b * H : at(out) + (prevT * B + b) * ldo;
          for (let j = 0; j < H; j++) {
            const [r, z, n] = [m[at(gates) + row + j], m[at(gates) + row + H + j], m[at(gates) + row + 2 * H + j]];
            const dh = m[at(dout) + (t * B + b) * ldo + j] + m[at(dh0) + b * H + j];
            const dan = dh * (1 - z) * (1 - n * n); // into n's pre-activation
            const dar = dan * m[at(hn) + (t * B + b) * H + j] * r * (1 - r); // r scales the hidden n rows
            const daz = dh * (m[hRow + j] - n) * z * (1 - z);
            m[at(dgi) + row + j] = dar;
            m[at(dgi) + row + H + j] = daz;
            m[at(dgi) + row + 2 * H + j] = dan;
            m[at(dgh) + row + j] = dar;
            m[at(dgh) + row + H + j] = daz;
            m[at(dgh) + row + 2 * H + j] = dan * r;
            m[at(dh0) + b * H + j] = dh * z; // the z⊙h path passes straight through
          }
        }
        // The hidden side's biases get dgh, the input side's get dgi (below).
        recurrentBackward(t, s, prevT, dgh, G, dh0, out, h0, w_hh, dw_hh, 0, db_hh, B, H, ldo, false);
      }
      inputBackward(dgi, G, x, w_ih, dw_ih, dx, T * B, I);
      if (db_ih) for (let n = 0; n < T * B; n++) for (let r = 0; r < G; r++) m[at(db_ih) + r] += m[at(dgi) + n * G + r];
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

    clamp(x, n, limit) {
      const m = heap.f32;
      for (let i = 0; i < n; i++) m[at(x) + i] = Math.min(limit, Math.max(-limit, m[at(x) + i]));
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

    adam_update(p, g, mom, vel, vmax, n, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, step) {
      const m = heap.f32;
      const stepSize = lr / (1 - beta1 ** step);
      const vCorrection = Math.sqrt(1 - beta2 ** step);
      for (let i = 0; i < n; i++) {
        let grad = m[at(g) + i];
        if (decoupled) m[at(p) + i] *= 1 - lr * weight_decay; // AdamW: decay the weight, not the gradient
        else grad += weight_decay * m[at(p) + i]; // Adam: L2 penalty folded into the gradient
        const mi = beta1 * m[at(mom) + i] + (1 - beta1) * grad;
        let vi = beta2 * m[at(vel) + i] + (1 - beta2) * grad * grad;
        m[at(mom) + i] = mi;
        m[at(vel) + i] = vi;
        if (amsgrad) m[at(vmax) + i] = vi = Math.max(vi, m[at(vmax) + i]);
        m[at(p) + i] -= (stepSize * mi) / (Math.sqrt(vi) / vCorrection + eps);
      }
    },

    rmsprop_update(p, g, sq, ga, buf, n, lr, alpha, eps, weight_decay, momentum, centered) {
      const m = heap.f32;
      for (let i = 0; i < n; i++) {
        const grad = m[at(g) + i] + weight_decay * m[at(p) + i];
        const s = (m[at(sq) + i] = alpha * m[at(sq) + i] + (1 - alpha) * grad * grad);
        let avg = s;
        if (centered) {
          const a = (m[at(ga) + i] = alpha * m[at(ga) + i] + (1 - alpha) * grad);
          avg -= a * a;
        }
        avg = Math.sqrt(avg) + eps;
        if (momentum > 0) m[at(p) + i] -= lr * (m[at(buf) + i] = momentum * m[at(buf) + i] + grad / avg);
        else m[at(p) + i] -= (lr * grad) / avg;
      }
    },

    adagrad_update(p, g, sum, n, lr, lr_decay, eps, weight_decay, step) {
      const m = heap.f32;
      const clr = lr / (1 + (step - 1) * lr_decay);
      for (let i = 0; i < n; i++) {
        const grad = m[at(g) + i] + weight_decay * m[at(p) + i];
        m[at(sum) + i] += grad * grad;
        m[at(p) + i] -= (clr * grad) / (Math.sqrt(m[at(sum) + i]) + eps);
      }
    },
  };
}
