/**
 * Every kernel of both WebAssembly builds against the pure-JS reference, one call at a time: the same
 * inputs at the same addresses in both heaps, then every buffer compared elementwise, inputs included, so a
 * stray write shows too. Sizes mix multiples of 4 with others, so the SIMD blocks and the plain tails both
 * run; tensors start at every 4-byte phase of a 16-byte line, so unaligned vector loads run; ldo > H puts a
 * direction's columns inside wider rows, as in a bidirectional layer. The harness is test/kernel-harness.ts;
 * the embedding and optimizer kernels have suites of their own (kernels-embedding, kernels-optim).
 */
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import type { KernelInstance, Kernels } from '../src/backend.js';
import { createWasmInstance } from '../src/backends/wasm.js';
import type { WasmBuild } from '../src/options.js';
import { MemoryLimitError } from '../src/errors.js';
import { agree, float, pick, rng, scratch, uniform, type Tensor, type Tensors, type Pointers } from './kernel-harness.js';

type Cell = 'rnn' | 'lstm' | 'gru';
const GATES: Record<Cell, number> = { rnn: 1, lstm: 4, gru: 3 };

interface SequenceCase {
  name: string;
  seed: number;
  T: number;
  B: number;
  I: number;
  H: number;
  /** Row stride of out and dout; this direction's H columns are the last of each row. */
  ldo: number;
  bias: boolean;
  reverse: boolean;
  relu: boolean;
  /** The gated cells' gate function (0 σ, 1 and 2 hard sigmoids) and the GRU's reset gate placement. */
  gate: number;
  resetAfter: number;
  /** Per-column valid steps (packed sequences), or null when every column runs T steps. */
  lengths: number[] | null;
  /** Whether backward computes dx (a training step's first layer does not: dx is 0). */
  inputGradient: boolean;
}

/**
 * All 32 combinations of the five flags, each with sizes drawn from lists that straddle multiples of 4; the
 * gate function and the GRU's reset gate cycle through their values across them.
 */
const sequenceCases: SequenceCase[] = Array.from({ length: 32 }, (_, i) => {
  const r = rng(1000 + i);
  const [T, B, I, H] = [pick(r, [1, 3, 5]), pick(r, [1, 2, 5]), pick(r, [1, 3, 7, 9]), pick(r, [1, 5, 8, 13, 17])];
  const [bias, reverse, relu, packed, wide] = [1, 2, 4, 8, 16].map((bit) => (i & bit) !== 0);
  const ldo = wide ? 2 * H + 3 : H;
  const lengths = packed ? Array.from({ length: B }, () => 1 + Math.floor(r() * T)) : null;
  const inputGradient = i % 3 !== 0;
  const [gate, resetAfter] = [i % 3, Math.floor(i / 3) % 2 === 0 ? 1 : 0];
  const flags = [
    bias && 'bias',
    reverse && 'reverse',
    relu && 'relu',
    gate && `gate=${gate}`,
    !resetAfter && 'reset-before',
    lengths && `lengths=${lengths}`,
    !inputGradient && 'no-dx',
  ].filter(Boolean);
  return {
    name: `T=${T} B=${B} I=${I} H=${H} ldo=${ldo} ${flags.join(' ')}`,
    seed: 2000 + i,
    T,
    B,
    I,
    H,
    ldo,
    bias,
    reverse,
    relu,
    gate,
    resetAfter,
    lengths,
    inputGradient,
  };
});

/** Whether row t·B + b of a [T, B, …] sequence is a step of its column. */
const validRow = (c: SequenceCase) => (row: number) => Math.floor(row / c.B) < (c.lengths ? c.lengths[row % c.B] : c.T);

/** The inputs every cell shares, and the output (and its gradient) as [T, B, ldo] buffers. */
function sequenceTensors(cell: Cell, c: SequenceCase): Tensors {
  const { T, B, I, H, ldo } = c;
  const G = GATES[cell] * H;
  const weight = uniform(1 / Math.sqrt(H)); // PyTorch's init bound, which keeps pre-activations in tanh's working range
  return {
    x: float(T * B * I),
    lengths: c.lengths && { n: B, int: c.lengths },
    h0: float(B * H),
    c0: cell === 'lstm' ? float(B * H) : null,
    w_ih: float(G * I, weight),
    w_hh: float(G * H, weight),
    b_ih: c.bias ? float(G, weight) : null,
    b_hh: c.bias ? float(G, weight) : null,
    // Room for either backend's packed copy of the weights: whole panels of 32 rows, then groups of 8 rows by
    // 4 columns (the reference needs less).
    pw_ih: scratch(packedRoom(G, I)),
    pw_hh: scratch(packedRoom(G, H)),
    out: float(T * B * ldo),
    dout: float(T * B * ldo),
  };
}

/** Floats of the SIMD build's packed copy of a [R, K] weight, the largest of the backends'. */
function packedRoom(R: number, K: number): number {
  return Math.ceil(R / 32) * 32 * K + Math.ceil(R / 8) * 8 * Math.ceil(K / 4) * 4;
}

/** The forward caches each cell keeps for its backward pass. */
function cacheTensors(cell: Cell, c: SequenceCase): Tensors {
  const rows = c.T * c.B;
  const cache = (width: number): Tensor => ({ n: rows * width, rows: { width, valid: validRow(c) } });
  if (cell === 'lstm') return { cells: cache(c.H), gates: cache(4 * c.H) };
  if (cell === 'gru') return { gates: cache(3 * c.H), hn: cache(c.H), gh: scratch(c.B * 3 * c.H) };
  return {};
}

/** The gradients a backward call accumulates or writes, and its scratch. */
function gradientTensors(cell: Cell, c: SequenceCase): Tensors {
  const { T, B, I, H } = c;
  const G = GATES[cell] * H;
  return {
    dx: c.inputGradient ? float(T * B * I) : null,
    dh0: float(B * H),
    dc0: cell === 'lstm' ? float(B * H) : null,
    dw_ih: float(G * I),
    dw_hh: float(G * H),
    db_ih: c.bias ? float(G) : null,
    db_hh: c.bias ? float(G) : null,
    dpre: cell === 'rnn' ? scratch(T * B * H) : null,
    dgates: cell === 'lstm' ? scratch(T * B * G) : null,
    dgi: cell === 'gru' ? scratch(T * B * G) : null,
    dgh: cell === 'gru' ? scratch(T * B * G) : null,
  };
}

function forward(cell: Cell, c: SequenceCase) {
  const { T, B, I, H, ldo } = c;
  const [reverse, relu] = [Number(c.reverse), Number(c.relu)];
  // This direction's columns are the last H of each row, as for the reverse half of a bidirectional layer.
  const column = 4 * (ldo - H);
  const G = GATES[cell] * H;
  return (k: Kernels, p: Pointers) => {
    // Each backend packs the weights into its own layout first, as the model does.
    k.pack_weights(p.pw_ih, p.w_ih, G, I);
    k.pack_weights(p.pw_hh, p.w_hh, G, H);
    if (cell === 'rnn') {
      k.rnn_forward(p.out + column, p.x, p.lengths, p.h0, p.pw_ih, p.pw_hh, p.b_ih, p.b_hh, T, B, I, H, ldo, reverse, relu);
    } else if (cell === 'lstm') {
      k.lstm_forward(
        p.out + column,
        p.cells,
        p.gates,
        p.x,
        p.lengths,
        p.h0,
        p.c0,
        p.pw_ih,
        p.pw_hh,
        p.b_ih,
        p.b_hh,
        T,
        B,
        I,
        H,
        ldo,
        reverse,
        c.gate,
        relu,
      );
    } else {
      k.gru_forward(
        p.out + column,
        p.gates,
        p.hn,
        p.gh,
        p.x,
        p.lengths,
        p.h0,
        p.pw_ih,
        p.pw_hh,
        p.b_ih,
        p.b_hh,
        T,
        B,
        I,
        H,
        ldo,
        reverse,
        c.gate,
        relu,
        c.resetAfter,
      );
    }
  };
}

function backward(cell: Cell, c: SequenceCase) {
  const { T, B, I, H, ldo } = c;
  const [reverse, relu] = [Number(c.reverse), Number(c.relu)];
  const column = 4 * (ldo - H);
  return (k: Kernels, p: Pointers) => {
    const [out, dout] = [p.out + column, p.dout + column];
    if (cell === 'rnn') {
      k.rnn_backward(
        p.dx,
        p.dh0,
        p.dw_ih,
        p.dw_hh,
        p.db_ih,
        p.db_hh,
        p.dpre,
        dout,
        out,
        p.x,
        p.lengths,
        p.h0,
        p.w_ih,
        p.w_hh,
        T,
        B,
        I,
        H,
        ldo,
        reverse,
        relu,
      );
    } else if (cell === 'lstm') {
      k.lstm_backward(
        p.dx,
        p.dh0,
        p.dc0,
        p.dw_ih,
        p.dw_hh,
        p.db_ih,
        p.db_hh,
        p.dgates,
        dout,
        out,
        p.cells,
        p.gates,
        p.x,
        p.lengths,
        p.h0,
        p.c0,
        p.w_ih,
        p.w_hh,
        T,
        B,
        I,
        H,
        ldo,
        reverse,
        c.gate,
        relu,
      );
    } else {
      k.gru_backward(
        p.dx,
        p.dh0,
        p.dw_ih,
        p.dw_hh,
        p.db_ih,
        p.db_hh,
        p.dgi,
        p.dgh,
        dout,
        out,
        p.gates,
        p.hn,
        p.x,
        p.lengths,
        p.h0,
        p.w_ih,
        p.w_hh,
        T,
        B,
        I,
        H,
        ldo,
        reverse,
        c.gate,
        relu,
        c.resetAfter,
      );
    }
  };
}

const linearCases = Array.from({ length: 12 }, (_, i) => {
  const r = rng(3000 + i);
  return { seed: 3100 + i, N: pick(r, [1, 2, 5, 12]), I: pick(r, [1, 3, 4, 7, 9, 16]), O: pick(r, [1, 3, 4, 6, 13]) };
});

const lossCases = Array.from({ length: 16 }, (_, i) => {
  const r = rng(4000 + i);
  const [T, B, C] = [pick(r, [1, 3, 5]), pick(r, [1, 2, 5]), pick(r, [1, 2, 5, 8])];
  const lengths = i & 1 ? Array.from({ length: B }, () => 1 + Math.floor(r() * T)) : null;
  const targets = Array.from({ length: T * B }, () => Math.floor(r() * C));
  return { seed: 4100 + i, T, B, C, lengths, last: (i >> 1) & 1, targets };
});

const sizes = [1, 3, 4, 7, 16, 33, 100];

describe.each(['relaxed', 'simd', 'scalar'] as const)('wasm-%s kernels agree with js', (build: WasmBuild) => {
  let wasm: KernelInstance;
  beforeAll(async () => {
    wasm = await createWasmInstance(build, {});
  });

  for (const cell of ['rnn', 'lstm', 'gru'] as const) {
    const cases = sequenceCases;
    it.each(cases)(`${cell}_forward $name`, (c) => {
      agree(wasm, c.seed, { ...sequenceTensors(cell, c), ...cacheTensors(cell, c) }, forward(cell, c));
    });
    it.each(cases)(`${cell}_backward $name`, (c) => {
      const tensors = { ...sequenceTensors(cell, c), ...cacheTensors(cell, c), ...gradientTensors(cell, c) };
      agree(wasm, c.seed, tensors, backward(cell, c), forward(cell, c));
    });
  }

  it.each(linearCases)('linear_forward N=$N I=$I O=$O', ({ seed, N, I, O }) => {
    agree(wasm, seed, { y: float(N * O), x: float(N * I), w: float(O * I), b: float(O) }, (k, p) =>
      k.linear_forward(p.y, p.x, p.w, p.b, N, I, O),
    );
  });

  it.each(linearCases)('linear_backward N=$N I=$I O=$O', ({ seed, N, I, O }) => {
    agree(wasm, seed, { dx: float(N * I), dw: float(O * I), db: float(O), dy: float(N * O), x: float(N * I), w: float(O * I) }, (k, p) =>
      k.linear_backward(p.dx, p.dw, p.db, p.dy, p.x, p.w, N, I, O),
    );
  });

  it.each(lossCases)('mse_loss T=$T B=$B C=$C lengths=$lengths last=$last', ({ seed, T, B, C, lengths, last }) => {
    const tensors = { dy: float(T * B * C), y: float(T * B * C), target: float(T * B * C), lengths: lengths && { n: B, int: lengths } };
    agree(wasm, seed, tensors, (k, p) => k.mse_loss(p.dy, p.y, p.target, p.lengths, T, B, C, last));
  });

  it.each(lossCases)('cross_entropy_loss T=$T B=$B C=$C lengths=$lengths last=$last', ({ seed, T, B, C, lengths, last, targets }) => {
    const tensors = {
      dlogits: float(T * B * C),
      logits: float(T * B * C, uniform(4)),
      targets: { n: T * B, int: targets },
      lengths: lengths && { n: B, int: lengths },
    };
    agree(wasm, seed, tensors, (k, p) => k.cross_entropy_loss(p.dlogits, p.logits, p.targets, p.lengths, T, B, C, last));
  });

  it.each(sizes)('sum_squares, scale, multiply, clamp n=%i', (n) => {
    agree(wasm, n, { x: float(n, uniform(3)) }, (k, p) => k.sum_squares(p.x, n));
    agree(wasm, n, { x: float(n) }, (k, p) => k.scale(p.x, n, -0.7));
    agree(wasm, n, { out: float(n), a: float(n), b: float(n) }, (k, p) => k.multiply(p.out, p.a, p.b, n));
    agree(wasm, n, { a: float(n), b: float(n) }, (k, p) => k.multiply(p.a, p.a, p.b, n));
    agree(wasm, n, { x: float(n, uniform(2)) }, (k, p) => k.clamp(p.x, n, 0.5));
    agree(wasm, n, { x: float(n, uniform(3e38)) }, (k, p) => k.non_finite(p.x, n));
  });

  it.each(sizes)('non_finite n=%i: a NaN or infinity at any position, and nothing past n', (n) => {
    const x = Math.ceil(wasm.base / 16) * 16 + 4; // off a 16-byte line: unaligned vector loads
    wasm.reserve(x + 4 * (n + 1));
    const m = new Float32Array(wasm.buffer, x, n + 1);
    m.fill(-3.4e38);
    m[n] = NaN; // just past the end: must not count
    expect(wasm.kernels.non_finite(x, n)).toBe(0);
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (let at = 0; at < n; at++) {
        m[at] = bad;
        expect(wasm.kernels.non_finite(x, n), `${bad} at ${at}`).toBe(1);
        m[at] = 1;
      }
    }
  });

  it('starts its heap past the static data, 16-byte aligned, and grows it on reserve', () => {
    expect(wasm.base % 16).toBe(0);
    expect(wasm.base).toBeGreaterThan(0); // so that pointer 0 can mean "absent"
    wasm.reserve(wasm.buffer.byteLength + 1);
    expect(wasm.buffer.byteLength).toBeGreaterThanOrEqual(2 * 65536);
  });

  it('refuses more than 4 GiB with MemoryLimitError', () => {
    expect(() => wasm.reserve(2 ** 32 + 1)).toThrow(MemoryLimitError);
  });
});

/** The sections of a WebAssembly binary: id and payload. */
function sections(bytes: Uint8Array): { id: number; body: Uint8Array }[] {
  const out: { id: number; body: Uint8Array }[] = [];
  let at = 8; // past magic and version
  while (at < bytes.length) {
    const id = bytes[at++];
    const [size, next] = leb(bytes, at);
    out.push({ id, body: bytes.subarray(next, next + size) });
    at = next + size;
  }
  return out;
}

/** An unsigned LEB128 at `at`: its value and the offset after it. */
function leb(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, at];
  }
}

/** How many local variables of type v128 the function bodies declare: SIMD code keeps its vectors there. */
function v128Locals(bytes: Uint8Array): number {
  const code = sections(bytes).find((s) => s.id === 10)!.body;
  let [bodies, at] = leb(code, 0);
  let count = 0;
  for (; bodies > 0; bodies--) {
    const [size, start] = leb(code, at);
    let [groups, p] = leb(code, start);
    for (; groups > 0; groups--) {
      const [n, typeAt] = leb(code, p);
      if (code[typeAt] === 0x7b) count += n;
      p = typeAt + 1;
    }
    at = start + size;
  }
  return count;
}

/** How many times f32x4.relaxed_madd's opcode (0xfd, then 261 as LEB128: 0x85 0x02) occurs in the code section. */
function relaxedMadds(bytes: Uint8Array): number {
  const code = sections(bytes).find((s) => s.id === 10)!.body;
  let count = 0;
  for (let i = 0; i + 2 < code.length; i++) if (code[i] === 0xfd && code[i + 1] === 0x85 && code[i + 2] === 0x02) count++;
  return count;
}

describe('the three builds', () => {
  const load = (build: WasmBuild) => readFile(new URL(`../build/rnn-${build}.wasm`, import.meta.url));

  it('differ: the SIMD builds compute in v128 vectors, the scalar build never', async () => {
    const [relaxed, simd, scalar] = [await load('relaxed'), await load('simd'), await load('scalar')];
    for (const bytes of [relaxed, simd, scalar]) expect(WebAssembly.validate(bytes)).toBe(true);
    expect(v128Locals(relaxed)).toBeGreaterThan(0);
    expect(v128Locals(simd)).toBeGreaterThan(0);
    expect(v128Locals(scalar)).toBe(0);
  });

  it('only the relaxed build holds f32x4.relaxed_madd (a scan of the bytes: it may count too many, never too few)', async () => {
    // The SIMD build's results must not depend on the machine: no relaxed instruction may reach it.
    expect(relaxedMadds(await load('relaxed'))).toBeGreaterThan(20);
    expect(relaxedMadds(await load('simd'))).toBe(0);
    expect(relaxedMadds(await load('scalar'))).toBe(0);
  });

  it.each(['relaxed', 'simd', 'scalar'] as const)('%s exports a memory that may grow to 4 GiB', async (build) => {
    const bytes = await load(build);
    const exports = WebAssembly.Module.exports(new WebAssembly.Module(bytes));
    expect(exports).toContainEqual({ name: 'memory', kind: 'memory' });
    const memory = sections(bytes).find((s) => s.id === 5)!.body;
    const [, flagsAt] = leb(memory, 0); // one memory
    const [maximum] = memory[flagsAt] & 1 ? leb(memory, leb(memory, flagsAt + 1)[1]) : [65536];
    expect(maximum).toBe(65536);
  });
});
