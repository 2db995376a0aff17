/**
 * The optimizers' update kernels. First each build against the JS reference (agree(): every buffer compared),
 * committing and not. Then the `commit` contract on every backend: with commit 0 not one byte of the heap
 * changes and the flag says whether the step would write a NaN or ±Infinity anywhere (parameter or state);
 * with commit 1 the same flag, and the non-finite values are there. The overflowing steps have finite inputs:
 * a gradient whose square leaves float32's range, a learning rate that throws p past it, eps 0 over a zero
 * gradient and zero state (0/0). Each puts the trouble in one element only, so one element must raise the flag.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { KernelInstance, Kernels } from '../src/backend.js';
import { createJsInstance } from '../src/backends/js/index.js';
import { createWasmInstance } from '../src/backends/wasm.js';
import type { WasmBuild } from '../src/options.js';
import { agree, float, positive, rng, uniform, type Tensor, type Tensors } from './kernel-harness.js';

const sizes = [1, 3, 4, 7, 16, 33, 100];

/** Optimizer states that must stay non-negative (second moments) get positive values. */
function optimizerTensors(n: number, names: Record<string, Tensor['init'] | undefined>): Tensors {
  return Object.fromEntries(Object.entries(names).map(([name, init]) => [name, float(n, init)]));
}

describe.each(['relaxed', 'simd', 'scalar'] as const)('wasm-%s update kernels agree with js', (build: WasmBuild) => {
  let wasm: KernelInstance;
  beforeAll(async () => {
    wasm = await createWasmInstance(build, {});
  });

  describe.each([1, 0])('commit %i', (commit) => {
    it.each(sizes)('sgd_update n=%i', (n) => {
      const tensors = optimizerTensors(n, { p: undefined, g: undefined, buf: undefined });
      for (const [momentum, dampening, nesterov, wd, first] of [
        [0, 0, 0, 0, 0],
        [0.9, 0, 0, 0, 1],
        [0.9, 0.1, 1, 0.01, 0],
        [0.8, 0.5, 0, 0.1, 0],
      ]) {
        agree(wasm, n, tensors, (k, p) => k.sgd_update(p.p, p.g, p.buf, n, 0.05, momentum, dampening, nesterov, wd, first, commit));
      }
    });

    it.each(sizes)('adam_update n=%i', (n) => {
      const tensors = optimizerTensors(n, { p: undefined, g: undefined, m: uniform(0.1), v: positive, vmax: positive });
      for (const decoupled of [0, 1]) {
        for (const amsgrad of [0, 1]) {
          for (const step of [1, 7]) {
            agree(wasm, n, tensors, (k, p) =>
              k.adam_update(p.p, p.g, p.m, p.v, p.vmax, n, 0.01, 0.9, 0.999, 1e-8, 0.01, decoupled, amsgrad, step, commit),
            );
          }
        }
      }
    });

    it.each(sizes)('rmsprop_update n=%i', (n) => {
      // Centered needs sq ≥ ga², as it always is when both come from the same gradients.
      const tensors = optimizerTensors(n, { p: undefined, g: undefined, sq: (r) => 1 + r(), ga: uniform(0.9), buf: undefined });
      for (const centered of [0, 1]) {
        for (const momentum of [0, 0.9]) {
          agree(wasm, n, tensors, (k, p) =>
            k.rmsprop_update(p.p, p.g, p.sq, p.ga, p.buf, n, 0.01, 0.99, 1e-8, 0.01, momentum, centered, commit),
          );
        }
      }
    });

    it.each(sizes)('adagrad_update n=%i', (n) => {
      const tensors = optimizerTensors(n, { p: undefined, g: undefined, sum: positive });
      for (const [lrDecay, step] of [
        [0, 1],
        [0.01, 4],
      ]) {
        agree(wasm, n, tensors, (k, p) => k.adagrad_update(p.p, p.g, p.sum, n, 0.1, lrDecay, 1e-10, 0.01, step, commit));
      }
    });
  });
});

/** Element count of every case: two vectors and a tail. */
const N = 11;
/** The one element a bad case makes bad. */
const BAD = 9;

/** Element i of a tensor: `at` for the bad element in a bad case, ordinary values elsewhere. */
type Init = (i: number, r: () => number) => number;
const ordinary =
  (scale: number): Init =>
  (_, r) =>
    (r() * 2 - 1) * scale;
const ordinaryPositive: Init = (_, r) => r() + 0.01;
/** The bad element's value `bad`, and `elsewhere` around it. */
const only =
  (bad: number, elsewhere: Init): Init =>
  (i, r) =>
    i === BAD ? bad : elsewhere(i, r);

interface UpdateCase {
  name: string;
  /** Whether the step writes a non-finite value. */
  nonFinite: boolean;
  tensors: Record<string, Init>;
  /** The tensors the kernel writes; the others must stay as they were. */
  written: string[];
  call(k: Kernels, t: Record<string, number>, commit: number): number;
}

const sgd = (lr: number, momentum: number, first: number) => (k: Kernels, t: Record<string, number>, commit: number) =>
  k.sgd_update(t.p, t.g, t.buf, N, lr, momentum, 0, 0, 0, first, commit);
const adam =
  (lr: number, eps: number, amsgrad: number, decoupled = 0, wd = 0.01) =>
  (k: Kernels, t: Record<string, number>, commit: number) =>
    k.adam_update(t.p, t.g, t.m, t.v, t.vmax, N, lr, 0.9, 0.999, eps, wd, decoupled, amsgrad, 3, commit);
const rmsprop = (lr: number, eps: number, momentum: number, centered: number) => (k: Kernels, t: Record<string, number>, commit: number) =>
  k.rmsprop_update(t.p, t.g, t.sq, t.ga, t.buf, N, lr, 0.99, eps, 0, momentum, centered, commit);
const adagrad = (lr: number, eps: number) => (k: Kernels, t: Record<string, number>, commit: number) =>
  k.adagrad_update(t.p, t.g, t.sum, N, lr, 0, eps, 0, 2, commit);

const g = ordinary(1);
const adamState = { m: ordinary(0.1), v: ordinaryPositive, vmax: ordinaryPositive };

const updateCases: UpdateCase[] = [
  {
    name: 'sgd, an ordinary step with momentum',
    nonFinite: false,
    tensors: { p: g, g, buf: g },
    written: ['p', 'buf'],
    call: sgd(0.05, 0.9, 0),
  },
  // lr·g = 1e39 at the bad element; 1e35 elsewhere, which float32 holds.
  {
    name: 'sgd, lr 1e38 with g = 10',
    nonFinite: true,
    tensors: { p: g, g: only(10, ordinary(1e-3)), buf: g },
    written: ['p'],
    call: sgd(1e38, 0, 0),
  },
  {
    name: 'sgd, a momentum buffer past float32',
    nonFinite: true,
    tensors: { p: g, g: only(3e38, g), buf: only(3e38, g) },
    written: ['p', 'buf'],
    call: sgd(1e-3, 0.9, 0),
  },
  {
    name: 'adam, an ordinary step (amsgrad)',
    nonFinite: false,
    tensors: { p: g, g, ...adamState },
    written: ['p', 'm', 'v', 'vmax'],
    call: adam(0.01, 1e-8, 1),
  },
  // (1-β2)·g² = 1e57: only v (and vmax) leave the range; the step itself, m/√v, stays finite.
  {
    name: 'adam, g = 1e30: the second moment overflows',
    nonFinite: true,
    tensors: { p: g, g: only(1e30, g), ...adamState },
    written: ['p', 'm', 'v', 'vmax'],
    call: adam(0.01, 1e-8, 1),
  },
  {
    name: 'adamw, g = 1e30 without amsgrad',
    nonFinite: true,
    tensors: { p: g, g: only(1e30, g), ...adamState },
    written: ['p', 'm', 'v'],
    call: adam(0.01, 1e-8, 0, 1),
  },
  {
    name: 'adam, eps 0 with zero gradient and state: 0/0',
    nonFinite: true,
    tensors: { p: g, g: only(0, g), m: only(0, adamState.m), v: only(0, adamState.v), vmax: only(0, adamState.vmax) },
    written: ['p', 'm', 'v'],
    call: adam(0.01, 0, 0, 0, 0),
  }, // no weight decay: it would put w into the gradient
  // Adam's step is about lr whatever g is: lr 1e38 overflows a weight already near the edge.
  {
    name: 'adam, lr 1e38 past a weight of -3e38',
    nonFinite: true,
    tensors: { p: only(-3e38, g), g: only(10, g), ...adamState },
    written: ['p', 'm', 'v'],
    call: adam(1e38, 1e-8, 0),
  },
  {
    name: 'rmsprop, an ordinary step (centered, momentum)',
    nonFinite: false,
    tensors: { p: g, g, sq: (_, r) => 1 + r(), ga: ordinary(0.9), buf: g },
    written: ['p', 'sq', 'ga', 'buf'],
    call: rmsprop(0.01, 1e-8, 0.9, 1),
  },
  // g/√sq = 10 when sq starts at 0 (α = 0.99): lr·10 = 1e39.
  {
    name: 'rmsprop, lr 1e38 with g = 10',
    nonFinite: true,
    tensors: { p: g, g: only(10, ordinary(1e-3)), sq: only(0, ordinaryPositive), ga: g, buf: g },
    written: ['p', 'sq'],
    call: rmsprop(1e38, 1e-8, 0, 0),
  },
  {
    name: 'rmsprop, g = 1e30: the mean square overflows',
    nonFinite: true,
    tensors: { p: g, g: only(1e30, g), sq: ordinaryPositive, ga: g, buf: g },
    written: ['p', 'sq'],
    call: rmsprop(0.01, 1e-8, 0, 0),
  },
  {
    name: 'rmsprop, eps 0 with zero gradient and state: 0/0 into the buffer',
    nonFinite: true,
    tensors: { p: g, g: only(0, g), sq: only(0, ordinaryPositive), ga: g, buf: only(0, g) },
    written: ['p', 'sq', 'buf'],
    call: rmsprop(0.01, 0, 0.9, 0),
  },
  {
    name: 'adagrad, an ordinary step',
    nonFinite: false,
    tensors: { p: g, g, sum: ordinaryPositive },
    written: ['p', 'sum'],
    call: adagrad(0.1, 1e-10),
  },
  // sum = 1e60 is Infinity as float32, and then g/√sum = 0: only the state shows it.
  {
    name: 'adagrad, g = 1e30: the sum overflows',
    nonFinite: true,
    tensors: { p: g, g: only(1e30, g), sum: ordinaryPositive },
    written: ['p', 'sum'],
    call: adagrad(0.1, 1e-10),
  },
  {
    name: 'adagrad, eps 0 with zero gradient and sum: 0/0',
    nonFinite: true,
    tensors: { p: g, g: only(0, g), sum: only(0, ordinaryPositive) },
    written: ['p', 'sum'],
    call: adagrad(0.1, 0),
  },
];

const BACKENDS = {
  js: async () => createJsInstance(),
  'wasm-relaxed': () => createWasmInstance('relaxed', {}),
  'wasm-simd': () => createWasmInstance('simd', {}),
  'wasm-scalar': () => createWasmInstance('scalar', {}),
};

describe.each(Object.keys(BACKENDS) as (keyof typeof BACKENDS)[])('%s: commit', (backend) => {
  let instance: KernelInstance;
  beforeAll(async () => {
    instance = await BACKENDS[backend]();
  });

  /** Lays the case's tensors out from the instance's base, one 16-byte-aligned block of N floats each, and fills them. */
  function place(c: UpdateCase): Record<string, number> {
    const r = rng(7);
    const names = Object.keys(c.tensors);
    const stride = Math.ceil((4 * N) / 16) * 16;
    const origin = Math.ceil(instance.base / 16) * 16;
    instance.reserve(origin + names.length * stride);
    return Object.fromEntries(
      names.map((name, j) => {
        const at = origin + j * stride;
        new Float32Array(instance.buffer, at, N).set(Array.from({ length: N }, (_, i) => c.tensors[name](i, r)));
        return [name, at];
      }),
    );
  }

  const floats = (at: number) => Array.from(new Float32Array(instance.buffer, at, N));

  it.each(updateCases)('$name: commit 0 writes nothing and flags exactly the non-finite step', (c) => {
    const t = place(c);
    const inputs = Object.values(t).flatMap(floats);
    expect(inputs.every(Number.isFinite), 'the inputs are finite').toBe(true);
    const before = new Uint8Array(instance.buffer).slice();
    expect(c.call(instance.kernels, t, 0)).toBe(c.nonFinite ? 1 : 0);
    const after = new Uint8Array(instance.buffer);
    expect(after.length).toBe(before.length);
    const changed = after.findIndex((byte, i) => byte !== before[i]);
    expect(changed, changed < 0 ? '' : `byte ${changed} changed`).toBe(-1);
  });

  it.each(updateCases)('$name: commit 1 writes and returns the same flag', (c) => {
    const t = place(c);
    const untouched = Object.keys(t)
      .filter((name) => !c.written.includes(name))
      .map((name) => [name, floats(t[name])] as const);
    expect(c.call(instance.kernels, t, 1)).toBe(c.nonFinite ? 1 : 0);
    const nonFinite = c.written.filter((name) => floats(t[name]).some((x) => !Number.isFinite(x)));
    expect(nonFinite.length > 0, `non-finite tensors written: ${nonFinite.join(', ') || 'none'}`).toBe(c.nonFinite);
    // Only the bad element goes bad.
    for (const name of nonFinite)
      expect(
        floats(t[name]).findIndex((x) => !Number.isFinite(x)),
        name,
      ).toBe(BAD);
    for (const [name, values] of untouched) expect(floats(t[name]), `${name} is only read`).toEqual(values);
  });
});
