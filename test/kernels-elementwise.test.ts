/**
 * The element-wise kernels of the layers around the recurrent core, on every backend: activation_forward and
 * activation_backward (linear, relu, tanh, σ, softmax), merge_forward and merge_backward (a bidirectional
 * layer's sum, ave and mul), and reverse_sequence. Each is checked against a float64 reference written here,
 * each backward against central finite differences of the forward, and each WebAssembly build against the
 * JS reference with agree() (every buffer compared, so a stray write shows). Sizes straddle multiples of 4.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { KernelInstance } from '../src/backend.js';
import { createJsInstance } from '../src/backends/js/index.js';
import { createWasmInstance } from '../src/backends/wasm.js';
import type { WasmBuild } from '../src/options.js';
import { expectClose } from './helpers.js';
import { agree, float, rng, run, uniform } from './kernel-harness.js';

const KINDS = ['linear', 'relu', 'tanh', 'sigmoid', 'softmax'] as const;
const MODES = [
  [1, 'sum'],
  [2, 'ave'],
  [3, 'mul'],
] as const;
const SHAPES = [
  [1, 1],
  [3, 5],
  [2, 8],
  [4, 13],
] as const;

/** Values in (-scale, scale) as float32, none within 1e-3 of 0 (relu's kink). */
function values(n: number, seed: number, scale = 3): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => {
    const v = (r() * 2 - 1) * scale;
    return Math.abs(v) < 1e-3 ? 0.5 : v;
  });
}

function sum(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s;
}

/** The activation in float64, row by row. */
function reference(z: ArrayLike<number>, rows: number, width: number, kind: number): Float64Array {
  const y = Float64Array.from(z);
  for (let r = 0; r < rows; r++) {
    const row = y.subarray(r * width, (r + 1) * width);
    if (kind === 4) {
      const max = Math.max(...row);
      const e = row.map((v) => Math.exp(v - max));
      const sum = e.reduce((a, b) => a + b, 0);
      row.set(e.map((v) => v / sum));
    } else row.set(row.map((v) => [v, Math.max(0, v), Math.tanh(v), 1 / (1 + Math.exp(-v))][kind]));
  }
  return y;
}

/** d/dz of L = Σ dy ⊙ f(z), by central differences of the float64 reference. */
function finiteDifferences(z: Float32Array, dy: Float32Array, rows: number, width: number, kind: number): Float64Array {
  const base = Float64Array.from(z);
  const loss = (v: Float64Array) => reference(v, rows, width, kind).reduce((s, y, i) => s + dy[i] * y, 0);
  const eps = 1e-6;
  return base.map((v, i) => {
    const up = base.slice();
    const down = base.slice();
    up[i] = v + eps;
    down[i] = v - eps;
    return (loss(up) - loss(down)) / (2 * eps);
  });
}

describe.each(['js', 'relaxed', 'simd', 'scalar'] as const)('element-wise kernels on %s', (backend) => {
  let k: KernelInstance;
  beforeAll(async () => {
    k = backend === 'js' ? createJsInstance() : await createWasmInstance(backend, {});
  });

  describe.each(KINDS.map((name, kind) => ({ name, kind })))('activation $name', ({ kind }) => {
    it.each(SHAPES)('forward [%i, %i] is the float64 function, in place too', (rows, width) => {
      const z = values(rows * width, 10 * rows + width);
      const apart = run(k, { y: new Float32Array(z.length), z }, (kk, p) => kk.activation_forward(p.y, p.z, rows, width, kind));
      const inPlace = run(k, { z }, (kk, p) => kk.activation_forward(p.z, p.z, rows, width, kind));
      expectClose(apart.y, reference(z, rows, width, kind), 'y', 1e-6, 1e-6);
      expect(Array.from(inPlace.z)).toEqual(Array.from(apart.y));
      expect(Array.from(apart.z), 'z is left alone').toEqual(Array.from(z));
      if (kind === 4) {
        for (let r = 0; r < rows; r++) expect(sum(apart.y.subarray(r * width, (r + 1) * width))).toBeCloseTo(1, 6);
      }
    });

    it.each(SHAPES)('backward [%i, %i] from y equals finite differences of the forward, in place too', (rows, width) => {
      const z = values(rows * width, 20 * rows + width);
      const dy = values(rows * width, 30 * rows + width, 1);
      const { y } = run(k, { y: new Float32Array(z.length), z }, (kk, p) => kk.activation_forward(p.y, p.z, rows, width, kind));
      // dz starts as garbage: the kernel writes it, never adds to it.
      const apart = run(k, { dz: new Float32Array(z.length).fill(9), dy, y }, (kk, p) =>
        kk.activation_backward(p.dz, p.dy, p.y, rows, width, kind),
      );
      const inPlace = run(k, { dy, y }, (kk, p) => kk.activation_backward(p.dy, p.dy, p.y, rows, width, kind));
      expectClose(apart.dz, finiteDifferences(z, dy, rows, width, kind), 'dz', 1e-5, 1e-6);
      expect(Array.from(inPlace.dy)).toEqual(Array.from(apart.dz));
    });
  });

  it('softmax stays finite for logits far past exp’s range, and puts all the mass on the largest', () => {
    const z = Float32Array.from([1000, -1000, 999, 0, 88.8, 89, -89, 90]);
    const { z: y } = run(k, { z }, (kk, p) => kk.activation_forward(p.z, p.z, 2, 4, 4));
    expectClose(y, reference(z, 2, 4, 4), 'y', 1e-6, 1e-7);
    expect(y[0]).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
    expect(y[1]).toBe(0);
  });

  it.each(MODES)('merge mode %i (%s): forward per element, backward equals finite differences', (mode) => {
    for (const [rows, H] of SHAPES) {
      const inp = values(rows * 2 * H, 40 * rows + H);
      const dout = values(rows * H, 50 * rows + H, 1);
      const { out } = run(k, { out: new Float32Array(rows * H), inp }, (kk, p) => kk.merge_forward(p.out, p.inp, rows, H, mode));
      const f = (v: ArrayLike<number>, m: number, j: number) => {
        const [a, b] = [v[m * 2 * H + j], v[m * 2 * H + H + j]];
        return mode === 3 ? a * b : mode === 2 ? (a + b) / 2 : a + b;
      };
      const want = Float64Array.from({ length: rows * H }, (_, i) => f(inp, Math.floor(i / H), i % H));
      expectClose(out, want, `out [${rows}, ${H}]`, 1e-6, 1e-7);
      const { dinp } = run(k, { dinp: new Float32Array(rows * 2 * H).fill(9), dout, inp }, (kk, p) =>
        kk.merge_backward(p.dinp, p.dout, p.inp, rows, H, mode),
      );
      const loss = (v: Float64Array) => want.reduce((s, _, i) => s + dout[i] * f(v, Math.floor(i / H), i % H), 0);
      const base = Float64Array.from(inp);
      const fd = base.map((v, i) => {
        const [up, down] = [base.slice(), base.slice()];
        up[i] = v + 1e-6;
        down[i] = v - 1e-6;
        return (loss(up) - loss(down)) / 2e-6;
      });
      expectClose(dinp, fd, `dinp [${rows}, ${H}]`, 1e-5, 1e-6);
    }
  });

  describe('reverse_sequence', () => {
    const [T, B, W] = [5, 4, 3];
    const inp = values(T * B * W, 60);
    const row = (v: ArrayLike<number>, t: number, b: number) => Array.from({ length: W }, (_, w) => v[(t * B + b) * W + w]);

    it.each([
      ['no lengths', null],
      ['lengths 5, 2, 0, 3', [5, 2, 0, 3]],
    ] as const)('%s: each column’s valid steps reversed, zero rows after them', (_, lengths) => {
      const arrays = { out: new Float32Array(T * B * W).fill(9), inp, lengths: lengths && Int32Array.from(lengths) };
      const { out } = run(k, arrays, (kk, p) => kk.reverse_sequence(p.out, p.inp, p.lengths, T, B, W));
      for (let b = 0; b < B; b++) {
        const len = lengths ? lengths[b] : T;
        for (let t = 0; t < T; t++) {
          expect(row(out, t, b), `out[${t}, ${b}]`).toEqual(t < len ? row(inp, len - 1 - t, b) : [0, 0, 0]);
        }
      }
    });

    it('is its own inverse on the valid steps: twice gives back the input, its padding zeroed', () => {
      const lengths = Int32Array.from([3, 5, 1, 4]);
      const arrays = { once: new Float32Array(T * B * W), twice: new Float32Array(T * B * W), inp, lengths };
      const { twice } = run(k, arrays, (kk, p) => {
        kk.reverse_sequence(p.once, p.inp, p.lengths, T, B, W);
        kk.reverse_sequence(p.twice, p.once, p.lengths, T, B, W);
      });
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) expect(row(twice, t, b), `[${t}, ${b}]`).toEqual(t < lengths[b] ? row(inp, t, b) : [0, 0, 0]);
      }
    });
  });
});

describe.each(['relaxed', 'simd', 'scalar'] as const)('wasm-%s element-wise kernels agree with js', (build: WasmBuild) => {
  let wasm: KernelInstance;
  beforeAll(async () => {
    wasm = await createWasmInstance(build, {});
  });

  it.each([1, 3, 4, 7, 16, 33])('activations, merges and reverse_sequence at size %i', (n) => {
    for (let kind = 0; kind < 5; kind++) {
      agree(wasm, n + kind, { y: float(3 * n), z: float(3 * n, uniform(4)) }, (k, p) => k.activation_forward(p.y, p.z, 3, n, kind));
      agree(wasm, n + kind, { z: float(3 * n, uniform(4)) }, (k, p) => k.activation_forward(p.z, p.z, 3, n, kind));
      const grads = { dz: float(3 * n), dy: float(3 * n), y: float(3 * n, (r) => r()) };
      agree(wasm, n + kind, grads, (k, p) => k.activation_backward(p.dz, p.dy, p.y, 3, n, kind));
      agree(wasm, n + kind, grads, (k, p) => k.activation_backward(p.dy, p.dy, p.y, 3, n, kind));
    }
    for (const [mode] of MODES) {
      agree(wasm, n + mode, { out: float(2 * n), inp: float(4 * n) }, (k, p) => k.merge_forward(p.out, p.inp, 2, n, mode));
      agree(wasm, n + mode, { dinp: float(4 * n), dout: float(2 * n), inp: float(4 * n) }, (k, p) =>
        k.merge_backward(p.dinp, p.dout, p.inp, 2, n, mode),
      );
    }
    const lengths = { n: 3, int: [n % 4, 4, 1] };
    agree(wasm, n, { out: float(4 * 3 * n), inp: float(4 * 3 * n), lengths }, (k, p) =>
      k.reverse_sequence(p.out, p.inp, p.lengths, 4, 3, n),
    );
    agree(wasm, n, { out: float(4 * 3 * n), inp: float(4 * 3 * n) }, (k, p) => k.reverse_sequence(p.out, p.inp, 0, 4, 3, n));
  });
});
