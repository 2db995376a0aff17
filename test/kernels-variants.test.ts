/**
 * The gated cells' variants on every backend against a float64 reference written from the equations
 * (test/cell-reference.ts): the LSTM and the GRU with every gate function (σ, clip(0.2a + 0.5, 0, 1),
 * clip(a/6 + 0.5, 0, 1)) and with tanh or relu, the GRU with its reset gate after and before the recurrent
 * product, each with and without lengths and bias, in both directions. First the reference's own BPTT is
 * checked against central finite differences of L = Σ dout ⊙ out; then each backend's forward output against
 * the reference's, and its backward gradients against the reference's. Inputs are drawn so that no
 * pre-activation lies within 1e-4 of a kink (the hard sigmoids' corners, relu's 0), where float32 and
 * float64 could take different sides; the hard-sigmoid cases still clip many gates to 0 or 1. Last, the
 * non-default cases once more through src/cells.ts's table, as Core calls the kernels.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { KernelInstance } from '../src/backend.js';
import { CELLS, type CellCall } from '../src/cells.js';
import { createJsInstance } from '../src/backends/js/index.js';
import { createWasmInstance } from '../src/backends/wasm.js';
import { type CellCase, type CellTensors, referenceBackward, referenceForward, referenceLoss } from './cell-reference.js';
import { expectClose } from './helpers.js';
import { type Arrays, pick, rng, run } from './kernel-harness.js';

interface Case extends CellCase {
  name: string;
  seed: number;
  bias: boolean;
  /** Row stride of out and dout 2H + 3, this direction's H columns the last of each row (a bidirectional layer's). */
  wide: boolean;
}

const GATE_NAMES = ['sigmoid', 'hard_sigmoid', 'hard_sigmoid_6'];

function makeCase(cell: 'lstm' | 'gru', i: number, fixed: Partial<Case> = {}): Case {
  const r = rng(5000 + i);
  const T = pick(r, [2, 3, 5]);
  const B = pick(r, [1, 2, 3]);
  const c: Omit<Case, 'name'> = {
    cell,
    T,
    B,
    I: pick(r, [1, 3, 5]),
    H: pick(r, [1, 3, 4, 5, 8, 9]),
    gate: i % 3,
    relu: Math.floor(i / 3) % 2 === 1,
    resetAfter: cell === 'lstm' || Math.floor(i / 6) % 2 === 0,
    reverse: Math.floor(i / 12) % 2 === 1,
    lengths: Math.floor(i / 24) % 2 === 1 ? Array.from({ length: B }, () => 1 + Math.floor(r() * T)) : null,
    bias: Math.floor(i / 48) % 2 === 0,
    wide: i % 4 === 1,
    seed: 6000 + i,
    ...fixed,
  };
  const flags = [
    GATE_NAMES[c.gate],
    c.relu ? 'relu' : 'tanh',
    cell === 'gru' && (c.resetAfter ? 'reset-after' : 'reset-before'),
    c.reverse && 'reverse',
    c.lengths && `lengths=${c.lengths}`,
    c.bias ? 'bias' : 'no-bias',
    c.wide && 'wide',
  ].filter(Boolean);
  return { ...c, name: `${cell} T=${c.T} B=${c.B} I=${c.I} H=${c.H} ${flags.join(' ')}` };
}

// Every combination: the LSTM's 3 gates × 2 × reverse × lengths × bias (i < 96, every second resetAfter block
// repeating), the GRU's with both reset placements; then GRUs wide enough that the reset-before product's n
// rows start inside a packed panel (H = 13, 17, 20, 24: 2H past a multiple of 32 or of 8), on both kinds of
// batch (one row, and pairs of rows plus an odd one).
const cases: Case[] = [
  ...Array.from({ length: 96 }, (_, i) => i)
    .filter((i) => Math.floor(i / 6) % 2 === 0)
    .map((i) => makeCase('lstm', i)),
  ...Array.from({ length: 96 }, (_, i) => makeCase('gru', i)),
  ...[13, 17, 20, 24, 40].flatMap((H, j) =>
    [1, 3, 4].map((B, k) =>
      makeCase('gru', 200 + 3 * j + k, {
        H,
        B,
        T: 3,
        I: 4,
        resetAfter: k !== 1,
        lengths: k === 2 ? [3, 1, 2, 3] : null,
        reverse: j % 2 === 1,
      }),
    ),
  ),
];

/** The case's tensors, as float32 values (what the backends see) held in float64, and a gradient on the output. */
interface Draw {
  p: CellTensors;
  dout: Float64Array;
}

/** Draws the case's values, redrawing (up to 50 times) until no pre-activation is within 1e-4 of a kink. */
function draw(c: Case): Draw {
  const G = (c.cell === 'lstm' ? 4 : 3) * c.H;
  // Weights that keep σ and tanh in their working range; larger ones for the hard sigmoids, so that many
  // of their pre-activations pass the corners at ±2.5 and ±3 and the gates clip.
  const scale = c.gate ? 2.5 / Math.sqrt(0.25 * c.I + 0.1 * c.H + 0.3) : Math.min(0.8, 2.5 / Math.sqrt(c.H + c.I));
  for (let attempt = 0; attempt < 50; attempt++) {
    const r = rng(c.seed + 100000 * attempt);
    const values = (n: number, s: number) => Float64Array.from(Float32Array.from({ length: n }, () => (r() * 2 - 1) * s));
    const p: CellTensors = {
      x: values(c.T * c.B * c.I, 1.5),
      h0: values(c.B * c.H, 1),
      c0: values(c.cell === 'lstm' ? c.B * c.H : 0, 1),
      w_ih: values(G * c.I, scale),
      w_hh: values(G * c.H, scale),
      b_ih: c.bias ? values(G, scale) : null,
      b_hh: c.bias ? values(G, scale) : null,
    };
    const dout = values(c.T * c.B * c.H, 1);
    if (referenceForward(c, p).margin > 1e-4) return { p, dout };
  }
  throw new Error(`${c.name}: no draw keeps every pre-activation 1e-4 away from a kink`);
}

const draws = new Map<string, Draw>();
const drawn = (c: Case) => {
  if (!draws.has(c.name)) draws.set(c.name, draw(c));
  return draws.get(c.name)!;
};

/** Floats of the SIMD build's packed copy of a [R, K] weight, the largest of the backends'. */
const packedRoom = (R: number, K: number) => Math.ceil(R / 32) * 32 * K + Math.ceil(R / 8) * 8 * Math.ceil(K / 4) * 4;

/** A [T, B, H] sequence as the last H columns of [T, B, ldo] rows, the other columns `fill`. */
function widen(v: ArrayLike<number>, rows: number, H: number, ldo: number, fill: number): Float32Array {
  const out = new Float32Array(rows * ldo).fill(fill);
  for (let m = 0; m < rows; m++) for (let j = 0; j < H; j++) out[m * ldo + ldo - H + j] = v[m * H + j];
  return out;
}

/** Runs the case's forward and backward passes on one backend; returns the output [T, B, H] and the gradients. */
function runBackend(instance: KernelInstance, c: Case, { p, dout }: Draw) {
  const { T, B, I, H } = c;
  const lstm = c.cell === 'lstm';
  const G = (lstm ? 4 : 3) * H;
  const ldo = c.wide ? 2 * H + 3 : H;
  const column = 4 * (ldo - H);
  const f32 = (n: number) => new Float32Array(n);
  const stale = (n: number) => new Float32Array(n).fill(Number.NaN); // caches and scratch: whatever a kernel reads unwritten shows
  const arrays: Arrays = {
    x: Float32Array.from(p.x),
    lengths: c.lengths && Int32Array.from(c.lengths),
    h0: Float32Array.from(p.h0),
    c0: lstm ? Float32Array.from(p.c0) : null,
    w_ih: Float32Array.from(p.w_ih),
    w_hh: Float32Array.from(p.w_hh),
    b_ih: p.b_ih && Float32Array.from(p.b_ih),
    b_hh: p.b_hh && Float32Array.from(p.b_hh),
    pw_ih: stale(packedRoom(G, I)),
    pw_hh: stale(packedRoom(G, H)),
    out: widen(new Float32Array(T * B * H), T * B, H, ldo, 7), // the other direction's columns must stay 7
    dout: widen(dout, T * B, H, ldo, 100), // and their gradient must not be read
    cells: lstm ? stale(T * B * H) : null,
    gates: stale(T * B * G),
    hn: lstm ? null : stale(T * B * H),
    gh: lstm ? null : stale(B * G),
    dx: f32(T * B * I),
    dh0: f32(B * H),
    dc0: lstm ? f32(B * H) : null,
    dw_ih: f32(G * I),
    dw_hh: f32(G * H),
    db_ih: p.b_ih && f32(G),
    db_hh: p.b_hh && f32(G),
    scratch1: stale(T * B * G),
    scratch2: lstm ? null : stale(T * B * G),
  };
  const [reverse, relu, resetAfter] = [Number(c.reverse), Number(c.relu), Number(c.resetAfter)];
  const r = run(instance, arrays, (k, q) => {
    const [out, dy] = [q.out + column, q.dout + column];
    k.pack_weights(q.pw_ih, q.w_ih, G, I);
    k.pack_weights(q.pw_hh, q.w_hh, G, H);
    if (lstm) {
      k.lstm_forward(
        out,
        q.cells,
        q.gates,
        q.x,
        q.lengths,
        q.h0,
        q.c0,
        q.pw_ih,
        q.pw_hh,
        q.b_ih,
        q.b_hh,
        T,
        B,
        I,
        H,
        ldo,
        reverse,
        c.gate,
        relu,
      );
      k.lstm_backward(
        q.dx,
        q.dh0,
        q.dc0,
        q.dw_ih,
        q.dw_hh,
        q.db_ih,
        q.db_hh,
        q.scratch1,
        dy,
        out,
        q.cells,
        q.gates,
        q.x,
        q.lengths,
        q.h0,
        q.c0,
        q.w_ih,
        q.w_hh,
        T,
        B,
        I,
        H,
        ldo,
        reverse,
        c.gate,
        relu,
      );
      return;
    }
    const h = [T, B, I, H, ldo, reverse, c.gate, relu, resetAfter] as const;
    k.gru_forward(out, q.gates, q.hn, q.gh, q.x, q.lengths, q.h0, q.pw_ih, q.pw_hh, q.b_ih, q.b_hh, ...h);
    k.gru_backward(
      q.dx,
      q.dh0,
      q.dw_ih,
      q.dw_hh,
      q.db_ih,
      q.db_hh,
      q.scratch1,
      q.scratch2,
      dy,
      out,
      q.gates,
      q.hn,
      q.x,
      q.lengths,
      q.h0,
      q.w_ih,
      q.w_hh,
      ...h,
    );
  });
  const wideOut = r.out as Float32Array;
  const out = new Float32Array(T * B * H);
  for (let m = 0; m < T * B; m++) {
    for (let j = 0; j < ldo - H; j++) expect(wideOut[m * ldo + j], `out[${m}, ${j}]: another direction's column`).toBe(7);
    for (let j = 0; j < H; j++) out[m * H + j] = wideOut[m * ldo + ldo - H + j];
  }
  return { out, grads: r };
}

const TENSORS = ['x', 'h0', 'c0', 'w_ih', 'w_hh', 'b_ih', 'b_hh'] as const;

describe('the float64 reference', () => {
  it.each(cases)('$name: BPTT equals central finite differences', (c) => {
    const { p, dout } = drawn(c);
    const analytic = referenceBackward(c, p, dout);
    const r = rng(c.seed);
    const eps = 1e-6;
    let checked = 0;
    for (const name of TENSORS) {
      const tensor = p[name];
      if (!tensor || tensor.length === 0) continue;
      // Up to 12 coordinates of each tensor, at random.
      for (let n = 0; n < Math.min(12, tensor.length); n++) {
        const i = Math.floor(r() * tensor.length);
        const saved = tensor[i];
        tensor[i] = saved + eps;
        const up = referenceLoss(c, p, dout);
        tensor[i] = saved - eps;
        const down = referenceLoss(c, p, dout);
        tensor[i] = saved;
        const fd = (up - down) / (2 * eps);
        const a = analytic[name]![i];
        expect(Math.abs(fd - a), `d${name}[${i}]: analytic ${a}, finite differences ${fd}`).toBeLessThan(1e-6 + 1e-6 * Math.abs(a));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('draws hard-sigmoid cases whose gates clip to 0 or 1 as well as fall inside, so both gradients are checked', () => {
    let clipped = 0;
    let inside = 0;
    for (const c of cases.filter((k) => k.gate !== 0)) {
      const f = referenceForward(c, drawn(c).p);
      clipped += f.clipped;
      inside += f.inside;
    }
    expect(clipped).toBeGreaterThan(2000);
    expect(inside).toBeGreaterThan(4000);
  });
});

describe.each(['js', 'relaxed', 'simd', 'scalar'] as const)('backend %s against the float64 reference', (backend) => {
  let instance: KernelInstance;
  beforeAll(async () => {
    instance = backend === 'js' ? createJsInstance() : await createWasmInstance(backend, {});
  });

  it.each(cases)('$name', (c) => {
    const d = drawn(c);
    const { out, grads } = runBackend(instance, c, d);
    expectClose(out, referenceForward(c, d.p).out, 'out', 1e-5, 1e-6);
    const expected = referenceBackward(c, d.p, d.dout);
    for (const name of TENSORS) {
      const want = expected[name];
      if (!want || want.length === 0) continue;
      expectClose(grads[`d${name}`], want, `d${name}`, 1e-4, 1e-5);
    }
  });
});

/** The same case through src/cells.ts's table, as Core calls it: one CellCall, the flags as fields. */
function runCells(instance: KernelInstance, c: Case, { p, dout }: Draw) {
  const { T, B, I, H } = c;
  const spec = CELLS[c.cell];
  const G = spec.gates * H;
  const f32 = (n: number) => new Float32Array(n);
  const arrays: Arrays = {
    x: Float32Array.from(p.x),
    lengths: c.lengths && Int32Array.from(c.lengths),
    h0: Float32Array.from(p.h0),
    c0: spec.cellState ? Float32Array.from(p.c0) : null,
    w_ih: Float32Array.from(p.w_ih),
    w_hh: Float32Array.from(p.w_hh),
    b_ih: p.b_ih && Float32Array.from(p.b_ih),
    b_hh: p.b_hh && Float32Array.from(p.b_hh),
    pw_ih: f32(instance.kernels.packed_size(G, I)),
    pw_hh: f32(instance.kernels.packed_size(G, H)),
    out: f32(T * B * H),
    dout: Float32Array.from(dout),
    cache: f32(T * B * spec.cachePerRow(H)).fill(Number.NaN),
    scratch: f32(T * B * spec.scratchPerRow(H)).fill(Number.NaN),
    dx: f32(T * B * I),
    dh0: f32(B * H),
    dc0: spec.cellState ? f32(B * H) : null,
    dw_ih: f32(G * I),
    dw_hh: f32(G * H),
    db_ih: p.b_ih && f32(G),
    db_hh: p.b_hh && f32(G),
  };
  return run(instance, arrays, (k, q) => {
    k.pack_weights(q.pw_ih, q.w_ih, G, I);
    k.pack_weights(q.pw_hh, q.w_hh, G, H);
    const call: CellCall = {
      out: q.out,
      cache: q.cache,
      scratch: q.scratch,
      x: q.x,
      lengths: q.lengths,
      h0: q.h0,
      c0: q.c0,
      w_ih: q.w_ih,
      w_hh: q.w_hh,
      pw_ih: q.pw_ih,
      pw_hh: q.pw_hh,
      b_ih: q.b_ih,
      b_hh: q.b_hh,
      T,
      B,
      I,
      H,
      ldo: H,
      reverse: Number(c.reverse),
      relu: Number(c.relu),
      gate: c.gate,
      resetAfter: Number(c.resetAfter),
    };
    spec.forward(k, call);
    const { dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh } = q;
    spec.backward(k, call, { dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dout: q.dout });
  });
}

describe.each(['js', 'simd'] as const)('src/cells.ts on %s: a CellCall’s gate, relu and resetAfter reach the kernels', (backend) => {
  let instance: KernelInstance;
  beforeAll(async () => {
    instance = backend === 'js' ? createJsInstance() : await createWasmInstance(backend, {});
  });

  it.each(cases.filter((c) => !c.wide && c.bias && (c.gate !== 0 || c.relu || !c.resetAfter)))('$name', (c) => {
    const d = drawn(c);
    const r = runCells(instance, c, d);
    expectClose(r.out, referenceForward(c, d.p).out, 'out', 1e-5, 1e-6);
    const expected = referenceBackward(c, d.p, d.dout);
    for (const name of TENSORS) {
      const want = expected[name];
      if (want && want.length > 0) expectClose(r[`d${name}`], want, `d${name}`, 1e-4, 1e-5);
    }
  });
});
