/**
 * The baseline a user writes by hand: the textbook equations as plain loops over Float32Arrays, one output
 * value at a time (PyTorch's weight layouts, time-major [T, B, ·] sequences, zero initial state).
 */
import type { Cell } from '../src/cli/bench/workloads.js';

type Weights = Record<string, Float32Array>;

const sigmoid = (a: number) => 1 / (1 + Math.exp(-a));

/** Σ_k w[row, k] · v[at + k] for a row-major w with n columns. */
function dot(w: Float32Array, row: number, v: Float32Array, at: number, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += w[row * n + k] * v[at + k];
  return s;
}

/** The layer's output h [T, B, H]. */
export function naiveForward(cell: Cell, p: Weights, x: Float32Array, T: number, B: number, I: number, H: number): Float32Array {
  const [wih, whh, bih, bhh] = [p['rnn.weight_ih_l0'], p['rnn.weight_hh_l0'], p['rnn.bias_ih_l0'], p['rnn.bias_hh_l0']];
  const out = new Float32Array(T * B * H);
  const zero = new Float32Array(B * H);
  const c = new Float32Array(B * H);
  const gates = new Float32Array(4 * H);
  for (let t = 0; t < T; t++) {
    const prev = t === 0 ? zero : out.subarray((t - 1) * B * H, t * B * H);
    for (let b = 0; b < B; b++) {
      const xi = (t * B + b) * I;
      const hi = b * H;
      const o = (t * B + b) * H;
      if (cell === 'rnn') {
        // h = tanh(W_ih x + b_ih + W_hh h + b_hh)
        for (let j = 0; j < H; j++) out[o + j] = Math.tanh(dot(wih, j, x, xi, I) + bih[j] + dot(whh, j, prev, hi, H) + bhh[j]);
      } else if (cell === 'lstm') {
        // i, f, g, o gates; c = f c + i g; h = o tanh(c)
        for (let r = 0; r < 4 * H; r++) gates[r] = dot(wih, r, x, xi, I) + bih[r] + dot(whh, r, prev, hi, H) + bhh[r];
        for (let j = 0; j < H; j++) {
          const cj = sigmoid(gates[H + j]) * c[hi + j] + sigmoid(gates[j]) * Math.tanh(gates[2 * H + j]);
          c[hi + j] = cj;
          out[o + j] = sigmoid(gates[3 * H + j]) * Math.tanh(cj);
        }
      } else {
        // r, z from both sides; n = tanh(W_in x + b_in + r (W_hn h + b_hn)); h = (1 - z) n + z h
        for (let j = 0; j < H; j++) {
          const r = sigmoid(dot(wih, j, x, xi, I) + bih[j] + dot(whh, j, prev, hi, H) + bhh[j]);
          const z = sigmoid(dot(wih, H + j, x, xi, I) + bih[H + j] + dot(whh, H + j, prev, hi, H) + bhh[H + j]);
          const n = Math.tanh(dot(wih, 2 * H + j, x, xi, I) + bih[2 * H + j] + r * (dot(whh, 2 * H + j, prev, hi, H) + bhh[2 * H + j]));
          out[o + j] = (1 - z) * n + z * prev[hi + j];
        }
      }
    }
  }
  return out;
}

/**
 * One SGD step of an Elman RNN (tanh) with a Linear(H→1) head and MSE at every step, by backpropagation
 * through time (min-char-rnn's loop, batched): updates `p` in place and returns the loss before the update.
 */
export function naiveTrainStep(
  p: Weights,
  x: Float32Array,
  target: Float32Array,
  T: number,
  B: number,
  I: number,
  H: number,
  lr: number,
): number {
  const [wih, whh, bih, bhh, wo, bo] = [
    p['rnn.weight_ih_l0'],
    p['rnn.weight_hh_l0'],
    p['rnn.bias_ih_l0'],
    p['rnn.bias_hh_l0'],
    p['head.weight'],
    p['head.bias'],
  ];
  const h = naiveForward('rnn', p, x, T, B, I, H);
  const n = T * B;
  let loss = 0;
  const dy = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    const e = dot(wo, 0, h, r * H, H) + bo[0] - target[r];
    loss += e * e;
    dy[r] = (2 * e) / n;
  }
  const [dwih, dwhh, dbh, dwo] = [new Float32Array(wih.length), new Float32Array(whh.length), new Float32Array(H), new Float32Array(H)];
  let dbo = 0;
  const dhnext = new Float32Array(B * H);
  const da = new Float32Array(H);
  for (let t = T - 1; t >= 0; t--) {
    for (let b = 0; b < B; b++) {
      const r = t * B + b;
      dbo += dy[r];
      for (let j = 0; j < H; j++) {
        dwo[j] += dy[r] * h[r * H + j];
        const dh = dy[r] * wo[j] + dhnext[b * H + j]; // backprop into h
        da[j] = (1 - h[r * H + j] * h[r * H + j]) * dh; // through tanh
      }
      for (let j = 0; j < H; j++) {
        dbh[j] += da[j];
        for (let k = 0; k < I; k++) dwih[j * I + k] += da[j] * x[r * I + k];
        if (t > 0) for (let k = 0; k < H; k++) dwhh[j * H + k] += da[j] * h[(r - B) * H + k];
      }
      for (let k = 0; k < H; k++) {
        let s = 0;
        for (let j = 0; j < H; j++) s += whh[j * H + k] * da[j];
        dhnext[b * H + k] = s;
      }
    }
  }
  const update = (w: Float32Array, g: Float32Array) => {
    for (let i = 0; i < w.length; i++) w[i] -= lr * g[i];
  };
  update(wih, dwih);
  update(whh, dwhh);
  update(bih, dbh);
  update(bhh, dbh);
  update(wo, dwo);
  bo[0] -= lr * dbo;
  return loss / n;
}
