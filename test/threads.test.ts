/**
 * Threads: a model on a team of threads (src/backends/threads.ts, assembly/parallel.ts) computes what the same
 * model computes on one thread, bit for bit, for every cell, direction and kind of batch, forward and in
 * training; the team's workers end with dispose(); where threads cannot run, the model runs on one and says why.
 */
import { readFileSync } from 'node:fs';
import { fromONNX, toONNX } from '../src/onnx.js';
import { fromTFJS } from '../src/tfjs.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { teamCalls } from '../src/backends/threads.js';
import type { KernelInstance, Kernels } from '../src/backend.js';
import { createWasmInstance } from '../src/backends/wasm.js';
import { type RNNOptions, OptionError, RNN } from '../src/index.js';
import { randomArray } from './helpers.js';

beforeAll(() => {
  teamCalls.always = true;
});
afterAll(() => {
  teamCalls.always = false;
});

/** Bit patterns, so that -0 and 0 or two NaNs are told apart as they would be by any consumer of the bytes. */
function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function expectSameBits(actual: Float32Array, expected: Float32Array, name: string): void {
  expect(actual.length, name).toBe(expected.length);
  const x = bits(actual);
  const y = bits(expected);
  const first = x.findIndex((v, i) => v !== y[i]);
  expect(first, `${name}: first element that differs (${actual[first]} vs ${expected[first]})`).toBe(-1);
}

interface Case {
  name: string;
  options: RNNOptions;
  T: number;
  B: number;
  lengths?: number[];
}

const I = 24;
const CASES: Case[] = [
  { name: 'RNN, a batch of 32 (columns split)', options: { cell: 'rnn', hiddenSize: 136 }, T: 20, B: 32 },
  { name: 'RNN, one column (units split)', options: { cell: 'rnn', hiddenSize: 256 }, T: 30, B: 1 },
  { name: 'RNN relu, three columns', options: { cell: 'rnn', hiddenSize: 200, nonlinearity: 'relu' }, T: 25, B: 3 },
  { name: 'LSTM, a batch of 16', options: { cell: 'lstm', hiddenSize: 96 }, T: 20, B: 16 },
  { name: 'LSTM, one column, H not a multiple of 8', options: { cell: 'lstm', hiddenSize: 203 }, T: 20, B: 1 },
  // One column with H a multiple of 8 takes the staged product (assembly/packed.ts), each share after its thread's step.
  { name: 'LSTM, one column, staged', options: { cell: 'lstm', hiddenSize: 136 }, T: 20, B: 1 },
  {
    name: 'LSTM, one column, staged, two layers both ways',
    options: { cell: 'lstm', hiddenSize: 128, numLayers: 2, bidirectional: true },
    T: 30,
    B: 1,
  },
  { name: 'RNN, one column shorter than the sequence, staged', options: { cell: 'rnn', hiddenSize: 256 }, T: 40, B: 1, lengths: [25] },
  { name: 'LSTM, ragged batch', options: { cell: 'lstm', hiddenSize: 128 }, T: 18, B: 9, lengths: [18, 3, 18, 7, 1, 18, 12, 5, 18] },
  { name: 'GRU, a batch of 8, two layers', options: { cell: 'gru', hiddenSize: 128, numLayers: 2 }, T: 20, B: 8 },
  { name: 'GRU, one column', options: { cell: 'gru', hiddenSize: 256 }, T: 20, B: 1 },
  { name: 'GRU with the reset gate first, one column', options: { cell: 'gru', hiddenSize: 160, resetAfter: false }, T: 40, B: 1 },
  {
    name: 'GRU reset first, ragged',
    options: { cell: 'gru', hiddenSize: 120, resetAfter: false },
    T: 15,
    B: 6,
    lengths: [15, 2, 9, 15, 1, 11],
  },
  { name: 'bidirectional LSTM, a batch of 12', options: { cell: 'lstm', hiddenSize: 72, bidirectional: true }, T: 16, B: 12 },
  {
    name: 'bidirectional GRU, ragged',
    options: { cell: 'gru', hiddenSize: 96, bidirectional: true },
    T: 14,
    B: 5,
    lengths: [14, 9, 14, 4, 1],
  },
  {
    name: 'LSTM with hard sigmoid gates and relu, one column',
    options: { cell: 'lstm', hiddenSize: 144, recurrentActivation: 'hard_sigmoid', nonlinearity: 'relu' },
    T: 40,
    B: 1,
  },
];

async function pair(c: Case, backend: 'wasm-simd' | 'wasm-relaxed', threads: number): Promise<[RNN, RNN]> {
  const options = { inputSize: I, outputSize: 3, seed: 11, backend, ...c.options };
  return [await RNN.create({ ...options, threads: 1 }), await RNN.create({ ...options, threads })];
}

// Both SIMD builds have a threads twin (the relaxed one with its fused multiply-adds); the test workers run with
// relaxed SIMD (vitest.config.ts).
// Each thread's part of the work follows its speed (team-shares.ts), so the split moves from call to call: the
// skewed parts, fixed, stand for the splits that a slow core would make.
describe.each([
  ['wasm-simd', 2, 'even parts', null],
  ['wasm-relaxed', 2, 'even parts', null],
  ['wasm-simd', 3, 'even parts', null],
  ['wasm-simd', 2, 'parts 0.3, 0.7', [0.3, 0.7]],
  ['wasm-relaxed', 3, 'parts 0.5, 0.17, 0.33', [0.5, 0.17, 0.33]],
] as const)('%s on %i threads, %s', (backend, threads, _, parts) => {
  beforeAll(() => {
    teamCalls.parts = parts;
  });
  afterAll(() => {
    teamCalls.parts = null;
  });

  it.each(CASES)('$name: the same bits as one thread, forward, gradients and three steps', async (c) => {
    const [one, team] = await pair(c, backend, threads);
    try {
      expect([one.threads, team.threads, team.backend]).toEqual([1, threads, backend]);
      const x = { data: randomArray(c.T * c.B * I, 7), shape: [c.T, c.B, I] };
      const target = { data: randomArray(c.T * c.B * 3, 8), shape: [c.T, c.B, 3] };
      const lengths = c.lengths ? { lengths: c.lengths } : {};
      const before = teamCalls.together;
      const [a, b] = [one.unroll(x, lengths), team.unroll(x, lengths)];
      expect(teamCalls.together, 'the team ran the forward pass').toBeGreaterThan(before);
      expectSameBits(b.output.data, a.output.data, 'output');
      expectSameBits(b.hN.data, a.hN.data, 'h_n');
      const [ga, gb] = [one.gradients(x, target, lengths), team.gradients(x, target, lengths)];
      expect(gb.loss).toBe(ga.loss);
      for (const name of Object.keys(ga.grads)) expectSameBits(gb.grads[name].data, ga.grads[name].data, name);
      if (ga.input) expectSameBits(gb.input!.data, ga.input.data, 'input gradient');
      for (let i = 0; i < 3; i++) expect(team.step(x, target, lengths).loss).toBe(one.step(x, target, lengths).loss);
      const [sa, sb] = [one.stateDict(), team.stateDict()];
      for (const name of Object.keys(sa)) expectSameBits(sb[name].data, sa[name].data, `${name} after the steps`);
    } finally {
      one.dispose();
      team.dispose();
    }
  });
});

describe("the team's block", () => {
  it('has the same slot numbers in assembly/parallel.ts and src/backends/threads.ts', () => {
    const slots = (path: string, pattern: RegExp) =>
      Object.fromEntries(
        [...readFileSync(new URL(`../${path}`, import.meta.url), 'utf8').matchAll(pattern)].map((m) => [m[1], Number(m[2])]),
      );
    const wasm = slots('assembly/parallel.ts', /^@inline const ([A-Z]+) = (\d+);/gm);
    const ts = slots('src/backends/threads.ts', /^const ([A-Z]+) = (\d+);/gm);
    const shared = Object.keys(wasm).filter((name) => name in ts);
    expect(shared.sort()).toEqual(['ARRIVALS', 'FAILED', 'LINE', 'SIZE', 'SLEEPERS', 'SPIN', 'START', 'TOOK']);
    for (const name of shared) expect(ts[name], name).toBe(wasm[name]);
  });
});

describe('the workers', () => {
  it('end with dispose(), after which the model refuses calls', async () => {
    // Every model of the suites above was disposed: their workers end too.
    await vi.waitFor(() => expect(teamCalls.workers).toBe(0), { timeout: 5000 });
    const nets = await Promise.all([3, 2].map((threads) => RNN.create({ inputSize: 4, hiddenSize: 64, threads })));
    expect(teamCalls.workers).toBe(3);
    for (const net of nets) net.dispose();
    await vi.waitFor(() => expect(teamCalls.workers).toBe(0), { timeout: 5000 });
    expect(() => nets[0].unroll({ data: new Float32Array(4), shape: [1, 1, 4] })).toThrow(/disposed/);
  });
});

describe('a kernel that fails', () => {
  it('on one thread or on all: the call throws, no thread waits forever, and the next call runs', async () => {
    const instance = await createWasmInstance('simd-threads', {}, 2);
    try {
      const k = instance.kernels;
      // A batch of 16, split by columns: thread 0 takes columns 0–7, the worker 8–15.
      const [T, B, I, H] = [40, 16, 24, 64];
      const out = instance.base;
      const x = out + T * B * H * 4;
      const w = x + T * B * I * 4;
      const h0 = w + (k.packed_size(H, I) + k.packed_size(H, H)) * 4;
      instance.reserve(h0 + B * H * 4);
      const forward = (outAt: number, h0At: number) =>
        k.rnn_forward(outAt, x, 0, h0At, w, w + k.packed_size(H, I) * 4, 0, 0, T, B, I, H, H, 0, 0);
      // Past the end of memory: every thread traps in its share of the input projection.
      expect(() => forward(0xfff0_0000, h0)).toThrow(WebAssembly.RuntimeError);
      // h0's rows of the worker's columns past the end: only the worker traps, and says so.
      expect(() => forward(out, instance.buffer.byteLength - (B / 2) * H * 4)).toThrow(/a thread of this model failed inside a kernel/);
      const before = teamCalls.together;
      forward(out, h0);
      expect(teamCalls.together).toBe(before + 1);
    } finally {
      instance.release?.();
    }
  });
});

describe("an optimizer's update on the team", () => {
  // Not a multiple of a share's granule, and large enough for every update to run on the team.
  const n = 100_003;
  type Update = (k: Kernels, at: (tensor: number) => number, commit: number) => number;
  const UPDATES: [string, Update][] = [
    ['SGD with Nesterov momentum', (k, at, c) => k.sgd_update(at(0), at(1), at(2), n, 0.1, 0.9, 0, 1, 0.01, 0, c)],
    ['Adam with amsgrad', (k, at, c) => k.adam_update(at(0), at(1), at(2), at(3), at(4), n, 0.01, 0.9, 0.999, 1e-8, 0.01, 0, 1, 3, c)],
    [
      'RMSprop, centered, with momentum',
      (k, at, c) => k.rmsprop_update(at(0), at(1), at(2), at(3), at(4), n, 0.01, 0.99, 1e-8, 0, 0.9, 1, c),
    ],
    ['Adagrad', (k, at, c) => k.adagrad_update(at(0), at(1), at(2), n, 0.01, 0.1, 1e-10, 0.01, 4, c)],
  ];

  it.each(UPDATES)('%s: the same bits as one thread, and a non-finite value in any share refuses it', async (_, update) => {
    const [one, team] = [await createWasmInstance('simd', {}), await createWasmInstance('simd-threads', {}, 2)];
    try {
      // Five tensors of n: parameters, gradients and up to three of state (positive, as a second moment is).
      const values = randomArray(5 * n, 3).map(Math.abs);
      // The fourth small: as RMSprop's mean gradient, its square stays under the mean square.
      for (let i = 3 * n; i < 4 * n; i++) values[i] *= 0.01;
      const tensors = [one, team].map((instance) => {
        instance.reserve(instance.base + 5 * n * 4);
        const f32 = new Float32Array(instance.buffer, instance.base, 5 * n);
        f32.set(values);
        return f32;
      });
      const at = (instance: KernelInstance) => (tensor: number) => instance.base + tensor * n * 4;
      const before = teamCalls.together;
      expect(update(team.kernels, at(team), 1)).toBe(0);
      expect(teamCalls.together, 'the team ran the update').toBe(before + 1);
      expect(update(one.kernels, at(one), 1)).toBe(0);
      expectSameBits(tensors[1], tensors[0], 'parameters and state');
      // The gradient's first element is in thread 0's share, its last in the worker's.
      const written = tensors[1].slice();
      for (const i of [0, n - 1]) {
        tensors[1][n + i] = Number.NaN;
        expect(update(team.kernels, at(team), 0), `NaN at gradient ${i}`).toBe(1);
        tensors[1][n + i] = written[n + i];
      }
      expect(teamCalls.together).toBe(before + 3);
      expectSameBits(tensors[1], written, 'after the checks');
    } finally {
      team.release?.();
    }
  });
});

describe('the head and the packing of the weights on the team', () => {
  // Sizes that no share's granule divides, large enough for every call to run on the team.
  const [N, I] = [4099, 203];
  const [R, K] = [813, 203];

  it.each([1, 70])('the same bits as one thread with %i outputs, dx written over what was there', async (O) => {
    const [one, team] = [await createWasmInstance('simd', {}), await createWasmInstance('simd-threads', {}, 2)];
    try {
      // x, w, b, dy, then what the kernels write: y, dx, dw, db, and the packed copy of a [R, K] weight.
      const sizes = [N * I, O * I, O, N * O, N * O, N * I, O * I, O, R * K, one.kernels.packed_size(R, K)];
      const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
      const total = offsets[offsets.length - 1] + sizes[sizes.length - 1];
      const values = randomArray(total, 5);
      const tensors = [one, team].map((instance) => {
        instance.reserve(instance.base + total * 4);
        const f32 = new Float32Array(instance.buffer, instance.base, total);
        f32.set(values);
        return f32;
      });
      const run = (instance: KernelInstance) => {
        const [x, w, b, dy, y, dx, dw, db, weight, packed] = offsets.map((o) => instance.base + o * 4);
        const k = instance.kernels;
        k.linear_forward(y, x, w, b, N, I, O);
        k.linear_backward(dx, dw, db, dy, x, w, N, I, O);
        k.pack_weights(packed, weight, R, K);
      };
      const before = teamCalls.together;
      run(team);
      expect(teamCalls.together - before, 'the team ran all three').toBe(3);
      run(one);
      expectSameBits(tensors[1], tensors[0], 'y, dx, dw, db and the packed weight');
      // dx is dy · w, whatever it held before (random values): its first row, summed here in float64.
      const dx = tensors[0].subarray(offsets[5], offsets[5] + I);
      const [w, dy] = [tensors[0].subarray(offsets[1]), tensors[0].subarray(offsets[3])];
      const expected = Array.from({ length: I }, (_, i) =>
        Array.from({ length: O }, (_, o) => dy[o] * w[o * I + i]).reduce((a, v) => a + v, 0),
      );
      for (let i = 0; i < I; i++) expect(dx[i]).toBeCloseTo(expected[i], 4);
    } finally {
      team.release?.();
    }
  });
});

describe('the threads option', () => {
  it('is taken by every loader, which runs the model on that many threads with the same bits', async () => {
    const made = await RNN.create({ cell: 'gru', inputSize: 24, hiddenSize: 64, outputSize: 3, numLayers: 2, seed: 5 });
    const x = { data: randomArray(40 * 8 * 24, 9), shape: [40, 8, 24] };
    const expected = made.unroll(x).y.data;
    const threads = 2;
    const loaded = await Promise.all([
      RNN.load(made.save(), { threads }),
      RNN.fromJSON(made.toJSON(), { threads }),
      RNN.fromSafetensors(made.toSafetensors(), { threads }),
      fromONNX(toONNX(made), { threads }),
    ]);
    made.dispose();
    for (const net of loaded) {
      expect(net.threads).toBe(threads);
      expectSameBits(net.unroll(x).y.data, expected, 'y of the loaded model');
      net.dispose();
    }
    const keras = new URL('fixtures/tfjs-shared/tfjs_gru_stack/', import.meta.url);
    const tfjs = await fromTFJS(new URL('model.json', keras).pathname, undefined, { threads });
    expect(tfjs.threads).toBe(threads);
    tfjs.dispose();
  });

  it('says how many threads run, and refuses what is not a thread count', async () => {
    const net = await RNN.create({ inputSize: 2, hiddenSize: 4, threads: 'auto' });
    expect(net.threads).toBeGreaterThanOrEqual(1);
    net.dispose();
    for (const bad of [0, -1, 1.5, 17, '2', null, Number.NaN]) {
      await expect(RNN.create({ inputSize: 2, hiddenSize: 4, threads: bad as never })).rejects.toThrow(OptionError);
    }
    await expect(RNN.create({ inputSize: 2, hiddenSize: 4, threads: 17 })).rejects.toThrow(
      /threads must be an integer from 1 to 16 or 'auto', got 17/,
    );
    // A string is quoted, so that '2' does not read as the number it is not.
    await expect(RNN.create({ inputSize: 2, hiddenSize: 4, threads: '2' as never })).rejects.toThrow(
      /threads must be an integer from 1 to 16 or 'auto', got '2'$/,
    );
  });

  it('runs on one thread, saying why once, where threads cannot run: the JS backend, the scalar build', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const js = await RNN.create({ inputSize: 2, hiddenSize: 4, threads: 2, backend: 'js' });
      const again = await RNN.create({ inputSize: 2, hiddenSize: 4, threads: 2, backend: 'js' });
      const scalar = await RNN.create({ inputSize: 2, hiddenSize: 4, threads: 2, backend: 'wasm-scalar' });
      expect([js.threads, again.threads, scalar.threads]).toEqual([1, 1, 1]);
      expect(warn.mock.calls.map((call) => String(call[0]))).toEqual([
        'rnn-wasm: running on one thread: the pure-JS backend runs on one thread',
        'rnn-wasm: running on one thread: threads run the SIMD builds, and this model runs the scalar one',
      ]);
      for (const net of [js, again, scalar]) net.dispose();
    } finally {
      warn.mockRestore();
    }
  });
});
