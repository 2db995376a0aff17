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
    base: 16, // never 0: a pointer of 0 means "absent" (no bias) in the kernel ABI
    reserve: (bytes) => heap.reserve(bytes),
  };
}

const tanh = Math.tanh;
const relu = (a: number) => (a > 0 ? a : 0);
const sigmoid = (a: number) => 1 / (1 + Math.exp(-a));

function jsKernels(heap: JsHeap): Kernels {
  // Pointers arrive in bytes; the heap is indexed in 4-byte elements.
  const at = (ptr: number) => ptr >> 2;

  /** Valid steps of column b: lengths[b], or T when lengths is 0 (every column full). */
  const columnLength = (lengths: number, b: number, T: number) => (lengths ? heap.i32[at(lengths) + b] : T);

  /**
   * The time index column b is at in processing step s, or -1 once its sequence has ended: the forward
   * direction runs t = 0 … len-1, the reverse direction from the column's own last step down to 0.
   */
  const stepTime = (lengths: number, b: number, s: number, T: number, reverse: number) => {
    const len = columnLength(lengths, b, T);
    if (s >= len) return -1;
    return reverse ? len - 1 - s : s;
  };

  /** Element index of h[t-1] for column b at time t: the previous output row, or h0 at the first step. */
  const previousRow = (s: number, t: number, b: number, B: number, H: number, h0: number, out: number,
    ldo: number, reverse: number) => (s === 0 ? at(h0) + b * H : at(out) + ((reverse ? t + 1 : t - 1) * B + b) * ldo);

  /** Padded positions t ≥ len_b of a [T, B, ld] sequence are zeros, as PyTorch pads. */
  const zeroPadding = (x: number, ld: number, width: number, lengths: number, T: number, B: number) => {
    for (let b = 0; b < B; b++) {
      for (let t = columnLength(lengths, b, T); t < T; t++) heap.f32.fill(0, at(x) + (t * B + b) * ld, at(x) + (t * B + b) * ld + width);
    }
  };

  /** a[r] = Σ_k w[r, k] v[k] for one row r of a [rows, n] matrix. */
  const dot = (w: number, r: number, v: number, n: number) => {
    const m = heap.f32;
    let a = 0;
    for (let k = 0; k < n; k++) a += m[at(w) + r * n + k] * m[v + k];
    return a;
  };

  /**
   * A step's gradients through the recurrent weights, for one column, from its gate pre-activation
   * gradients da [G]: dh[t-1] += da W_hh, dW_hh += da ⊗ h[t-1], and both biases += da.
   */
  const recurrentBackward = (daRow: number, G: number, dhRow: number, hRow: number, w_hh: number, dw_hh: number,
    db_ih: number, db_hh: number, H: number) => {
    const m = heap.f32;
    for (let k = 0; k < H; k++) {
      let a = 0;
      for (let r = 0; r < G; r++) a += m[daRow + r] * m[at(w_hh) + r * H + k];
      m[dhRow + k] += a;
    }
    for (let r = 0; r < G; r++) {
      const g = m[daRow + r];
      for (let k = 0; k < H; k++) m[at(dw_hh) + r * H + k] += g * m[hRow + k];
      if (db_ih) m[at(db_ih) + r] += g;
      if (db_hh) m[at(db_hh) + r] += g;
    }
  };

  /** dW_ih += daᵀ x and dx += da W_ih (unless dx is 0) over all N = T·B rows: the input enters every step the same way. */
  const inputBackward = (da: number, G: number, x: number, w_ih: number, dw_ih: number, dx: number, N: number,
    I: number) => {
    const m = heap.f32;
    for (let n = 0; n < N; n++) {
      for (let r = 0; r < G; r++) {
        const g = m[at(da) + n * G + r];
        for (let k = 0; k < I; k++) {
          m[at(dw_ih) + r * I + k] += g * m[at(x) + n * I + k];
          if (dx) m[at(dx) + n * I + k] += g * m[at(w_ih) + r * I + k];
        }
      }
    }
  };

  /** Whether row (t, b) enters a loss: a valid step, or with `last` only the column's last valid step. */
  const counts = (lengths: number, t: number, b: number, T: number, last: number) => {
    const len = columnLength(lengths, b, T);
    return last ? t === len - 1 : t < len;
  };

  const countedRows = (lengths: number, T: number, B: number, last: number) => {
    let n = 0;
    for (let b = 0; b < B; b++) n += last ? 1 : columnLength(lengths, b, T);
    return n;
  };

  return {
    rnn_forward(out, x, lengths, h0, w_ih, w_hh, b_ih, b_hh, T, B, I, H, ldo, reverse, useRelu) {
      const m = heap.f32;
      const f = useRelu ? relu : tanh;
      for (let s = 0; s < T; s++) {
        for (let b = 0; b < B; b++) {
          const t = stepTime(lengths, b, s, T, reverse);
          if (t < 0) continue;
          const xRow = at(x) + (t * B + b) * I;
          const hRow = previousRow(s, t, b, B, H, h0, out, ldo, reverse);
          for (let j = 0; j < H; j++) {
            const a = (b_ih ? m[at(b_ih) + j] : 0) + (b_hh ? m[at(b_hh) + j] : 0) + dot(w_ih, j, xRow, I) + dot(w_hh, j, hRow, H);
            m[at(out) + (t * B + b) * ldo + j] = f(a);
          }
        }
      }
      zeroPadding(out, ldo, H, lengths, T, B);
    },

    rnn_backward(dx, dh0, dw_ih, dw_hh, db_ih, db_hh, dpre, dout, out, x, lengths, h0, w_ih, w_hh,
      T, B, I, H, ldo, reverse, useRelu) {
      const m = heap.f32;
      // Padded steps contribute nothing: their pre-activation gradients stay zero.
      m.fill(0, at(dpre), at(dpre) + T * B * H);
      // dh0 doubles as the running gradient flowing into each column's previous state.
      m.fill(0, at(dh0), at(dh0) + B * H);
      for (let s = T - 1; s >= 0; s--) {
        for (let b = 0; b < B; b++) {
          const t = stepTime(lengths, b, s, T, reverse);
          if (t < 0) continue;
          const dpreRow = at(dpre) + (t * B + b) * H;
          const dhRow = at(dh0) + b * H;
          for (let j = 0; j < H; j++) {
            const dh = m[at(dout) + (t * B + b) * ldo + j] + m[dhRow + j]; // from the output and from step t+1
            const h = m[at(out) + (t * B + b) * ldo + j];
            m[dpreRow + j] = dh * (useRelu ? (h > 0 ? 1 : 0) : 1 - h * h); // through f; relu'(0) = 0
          }
          m.fill(0, dhRow, dhRow + H);
          recurrentBackward(dpreRow, H, dhRow, previousRow(s, t, b, B, H, h0, out, ldo, reverse), w_hh, dw_hh, db_ih, db_hh, H);
        }
      }
      inputBackward(dpre, H, x, w_ih, dw_ih, dx, T * B, I);
    },

    lstm_forward(out, cells, gates, x, lengths, h0, c0, w_ih, w_hh, b_ih, b_hh, T, B, I, H, ldo, reverse) {
      const m = heap.f32;
      const G = 4 * H;
      for (let s = 0; s < T; s++) {
        for (let b = 0; b < B; b++) {
          const t = stepTime(lengths, b, s, T, reverse);
          if (t < 0) continue;
          const xRow = at(x) + (t * B + b) * I;
          const hRow = previousRow(s, t, b, B, H, h0, out, ldo, reverse);
          const cPrevRow = previousRow(s, t, b, B, H, c0, cells, H, reverse);
          const gRow = at(gates) + (t * B + b) * G;
          // All four gates' pre-activations, rows i, f, g, o of the stacked weights.
          for (let r = 0; r < G; r++) {
            const a = (b_ih ? m[at(b_ih) + r] : 0) + (b_hh ? m[at(b_hh) + r] : 0) + dot(w_ih, r, xRow, I) + dot(w_hh, r, hRow, H);
            m[gRow + r] = r >= 2 * H && r < 3 * H ? Math.tanh(a) : sigmoid(a);
          }
          for (let j = 0; j < H; j++) {
            const [i, f, g, o] = [m[gRow + j], m[gRow + H + j], m[gRow + 2 * H + j], m[gRow + 3 * H + j]];
            const cRow = at(cells) + (t * B + b) * H;
            m[cRow + j] = f * m[cPrevRow + j] + i * g;
            m[at(out) + (t * B + b) * ldo + j] = o * Math.tanh(m[cRow + j]);
          }
        }
      }
      zeroPadding(out, ldo, H, lengths, T, B);
    },

    lstm_backward(dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dgates, dout, out, cells, gates, x, lengths, h0, c0,
      w_ih, w_hh, T, B, I, H, ldo, reverse) {
      const m = heap.f32;
      const G = 4 * H;
      m.fill(0, at(dgates), at(dgates) + T * B * G);
      // dh0 and dc0 double as the running gradients into each column's previous h and c.
      m.fill(0, at(dh0), at(dh0) + B * H);
      m.fill(0, at(dc0), at(dc0) + B * H);
      for (let s = T - 1; s >= 0; s--) {
        for (let b = 0; b < B; b++) {
          const t = stepTime(lengths, b, s, T, reverse);
          if (t < 0) continue;
          const gRow = at(gates) + (t * B + b) * G;
          const dRow = at(dgates) + (t * B + b) * G;
          const cPrevRow = previousRow(s, t, b, B, H, c0, cells, H, reverse);
          const dhRow = at(dh0) + b * H;
          const dcRow = at(dc0) + b * H;
          for (let j = 0; j < H; j++) {
            const [i, f, g, o] = [m[gRow + j], m[gRow + H + j], m[gRow + 2 * H + j], m[gRow + 3 * H + j]];
            const tc = Math.tanh(m[at(cells) + (t * B + b) * H + j]);
            const dh = m[at(dout) + (t * B + b) * ldo + j] + m[dhRow + j];
            const dc = m[dcRow + j] + dh * o * (1 - tc * tc); // through h = o tanh(c), plus from c[t+1]
            m[dcRow + j] = dc * f; // into c[t-1]
            m[dRow + j] = dc * g * i * (1 - i);
            m[dRow + H + j] = dc * m[cPrevRow + j] * f * (1 - f);
            m[dRow + 2 * H + j] = dc * i * (1 - g * g);
            m[dRow + 3 * H + j] = dh * tc * o * (1 - o);
          }
          m.fill(0, dhRow, dhRow + H);
          recurrentBackward(dRow, G, dhRow, previousRow(s, t, b, B, H, h0, out, ldo, reverse), w_hh, dw_hh, db_ih, db_hh, H);
        }
      }
      inputBackward(dgates, G, x, w_ih, dw_ih, dx, T * B, I);
    },

    gru_forward(out, gates, hn, _gh, x, lengths, h0, w_ih, w_hh, b_ih, b_hh, T, B, I, H, ldo, reverse) {
      const m = heap.f32;
      const G = 3 * H;
      const bias = (ptr: number, r: number) => (ptr ? m[at(ptr) + r] : 0);
      for (let s = 0; s < T; s++) {
        for (let b = 0; b < B; b++) {
          const t = stepTime(lengths, b, s, T, reverse);
          if (t < 0) continue;
          const xRow = at(x) + (t * B + b) * I;
          const hRow = previousRow(s, t, b, B, H, h0, out, ldo, reverse);
          const gRow = at(gates) + (t * B + b) * G;
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
      zeroPadding(out, ldo, H, lengths, T, B);
    },

    gru_backward(dx, dh0, dw_ih, dw_hh, db_ih, db_hh, dgi, dgh, dout, out, gates, hn, x, lengths, h0, w_ih, w_hh,
      T, B, I, H, ldo, reverse) {
      const m = heap.f32;
      const G = 3 * H;
      m.fill(0, at(dgi), at(dgi) + T * B * G);
      m.fill(0, at(dgh), at(dgh) + T * B * G);
      m.fill(0, at(dh0), at(dh0) + B * H);
      for (let s = T - 1; s >= 0; s--) {
        for (let b = 0; b < B; b++) {
          const t = stepTime(lengths, b, s, T, reverse);
          if (t < 0) continue;
          const row = (t * B + b) * G;
          const hRow = previousRow(s, t, b, B, H, h0, out, ldo, reverse);
          const dhRow = at(dh0) + b * H;
          for (let j = 0; j < H; j++) {
            const [r, z, n] = [m[at(gates) + row + j], m[at(gates) + row + H + j], m[at(gates) + row + 2 * H + j]];
            const dh = m[at(dout) + (t * B + b) * ldo + j] + m[dhRow + j];
            const dan = dh * (1 - z) * (1 - n * n); // into n's pre-activation
            const dar = dan * m[at(hn) + (t * B + b) * H + j] * r * (1 - r); // r scales the hidden n rows
            const daz = dh * (m[hRow + j] - n) * z * (1 - z);
            m[at(dgi) + row + j] = dar;
            m[at(dgi) + row + H + j] = daz;
            m[at(dgi) + row + 2 * H + j] = dan;
            m[at(dgh) + row + j] = dar;
            m[at(dgh) + row + H + j] = daz;
            m[at(dgh) + row + 2 * H + j] = dan * r;
            m[dhRow + j] = dh * z; // the z⊙h path passes straight through
          }
          // The hidden side's bias gets dgh; the input side's gets dgi below.
          recurrentBackward(at(dgh) + row, G, dhRow, hRow, w_hh, dw_hh, 0, db_hh, H);
        }
      }
      inputBackward(dgi, G, x, w_ih, dw_ih, dx, T * B, I);
      if (db_ih) for (let n = 0; n < T * B; n++) for (let r = 0; r < G; r++) m[at(db_ih) + r] += m[at(dgi) + n * G + r];
    },

    // The reference's packed layout is PyTorch's: its forward kernels read rows of w as they are.
    pack_weights(dst, w, R, K) {
      heap.f32.copyWithin(at(dst), at(w), at(w) + R * K);
    },

    packed_size: (R, K) => R * K,

    embedding_forward(out, weight, ids, N, E) {
      for (let n = 0; n < N; n++) {
        const row = at(weight) + heap.i32[at(ids) + n] * E;
        heap.f32.copyWithin(at(out) + n * E, row, row + E);
      }
    },

    embedding_backward(dweight, dout, ids, N, E, padding_idx) {
      const m = heap.f32;
      for (let n = 0; n < N; n++) {
        const id = heap.i32[at(ids) + n];
        if (id === padding_idx) continue; // PyTorch: the padding row gets no gradient
        for (let j = 0; j < E; j++) m[at(dweight) + id * E + j] += m[at(dout) + n * E + j];
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

    mse_loss(dy, y, target, lengths, T, B, C, last) {
      const m = heap.f32;
      const count = countedRows(lengths, T, B, last) * C;
      let loss = 0;
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          const row = (t * B + b) * C;
          const counted = counts(lengths, t, b, T, last);
          for (let c = 0; c < C; c++) {
            const e = counted ? m[at(y) + row + c] - m[at(target) + row + c] : 0;
            loss += e * e;
            m[at(dy) + row + c] = (2 * e) / count;
          }
        }
      }
      return loss / count;
    },

    cross_entropy_loss(dlogits, logits, targets, lengths, T, B, C, last) {
      const m = heap.f32;
      const count = countedRows(lengths, T, B, last);
      let loss = 0;
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          const n = t * B + b;
          const row = at(logits) + n * C;
          const drow = at(dlogits) + n * C;
          if (!counts(lengths, t, b, T, last)) {
            m.fill(0, drow, drow + C);
            continue;
          }
          const target = heap.i32[at(targets) + n];
          let max = -Infinity; // subtract the max so exp cannot overflow
          for (let c = 0; c < C; c++) max = Math.max(max, m[row + c]);
          let sum = 0;
          for (let c = 0; c < C; c++) sum += Math.exp(m[row + c] - max);
          loss += max + Math.log(sum) - m[row + target];
          for (let c = 0; c < C; c++) m[drow + c] = (Math.exp(m[row + c] - max) / sum - (c === target ? 1 : 0)) / count;
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

    multiply(out, a, b, n) {
      const m = heap.f32;
      for (let i = 0; i < n; i++) m[at(out) + i] = m[at(a) + i] * m[at(b) + i];
    },

    non_finite(x, n) {
      const m = heap.f32;
      for (let i = 0; i < n; i++) if (!Number.isFinite(m[at(x) + i])) return 1;
      return 0;
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
