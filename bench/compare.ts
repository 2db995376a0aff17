/**
 * `npm run bench:compare`: the workloads of issue 6 (bench/workloads.ts) on every contender in one run, each
 * checked against this library's SIMD build before it is timed:
 *   rnn-wasm SIMD, scalar and pure-JS backends; a hand-written JS loop (bench/naive.ts); the same kernels in C
 *   (bench/native/rnn.c, when gcc is present); PyTorch on one thread (when a python3 imports torch);
 *   onnxruntime-web and TensorFlow.js's wasm backend (bench/peers.ts); optionally another checkout of this
 *   library (--before <dir>) for before/after numbers.
 * Samples are taken in interleaved rounds, every contender a slice of each round, so that load from other
 * processes on a shared machine falls on all of them alike; medians and ratios of medians are reported. Then a
 * scaling table (SIMD RNN forward over H and B) and the cold start (import to first result, fresh processes).
 *
 *   npm run bench:compare                          everything (a few minutes)
 *   npm run bench:compare -- --only W1,W5 --time 3000 --json results.json --no-scaling
 *   npx tsx bench/compare.ts --src --before ../old-checkout --no-peers --no-native    before/after, both from src/
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { BackendChoice } from '../src/index.js';
import { naiveForward, naiveTrainStep } from './naive.js';
import { NATIVE_BUILDS, gccVersion, nativeBinary, startNative, startPytorch, torchPython } from './native.js';
import { onnxRuntime, tensorflow } from './peers.js';
import { LEARNING_RATE, type Workload, type WorkloadData, WORKLOADS, flops, seeded, workloadData } from './workloads.js';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    time: { type: 'string', default: '1500' },
    before: { type: 'string' },
    json: { type: 'string' },
    'no-peers': { type: 'boolean', default: false },
    'no-native': { type: 'boolean', default: false },
    'no-scaling': { type: 'boolean', default: false },
    'no-cold': { type: 'boolean', default: false },
    src: { type: 'boolean', default: false },
  },
});

/** One workload prepared on one contender. */
interface Runner {
  /** One call; the harness times it, unless `timed` is given. */
  run(): unknown;
  /** n calls timed by the contender itself (a native process), in ms. */
  timed?(n: number): Promise<number[]>;
  /** After the first call: the output sequence [T, B, H] (forward), the new state [B, H] (cell) or the loss (train). */
  result(): Float32Array | number;
  dispose(): unknown;
}

interface Contender {
  name: string;
  /** A runner, or the reason this contender does not run the workload. */
  prepare(w: Workload, d: WorkloadData): Promise<Runner | string>;
}

type Library = typeof import('../src/index.js');

/** This library (or another checkout of it) on one backend. `out` buffers keep the steady state free of allocation. */
function ours(name: string, lib: Library, backend: BackendChoice, hasOut: boolean): Contender {
  return {
    name,
    async prepare(w, d) {
      const net = await lib.RNN.create({ cell: w.cell, inputSize: w.I, hiddenSize: w.H, outputSize: w.head ? 1 : 0, seed: 1, backend });
      net.loadStateDict(Object.fromEntries(Object.entries(d.weights).map(([k, data]) => [k, { data, shape: d.shapes[k] }])));
      const x = { data: d.x, shape: [w.T, w.B, w.I] };
      if (w.job === 'train') {
        const target = { data: d.target, shape: [w.T, w.B, 1] };
        const optimizer = w.optimizer === 'adam' ? { kind: 'adam' as const, lr: LEARNING_RATE.adam } : { kind: 'sgd' as const, lr: LEARNING_RATE.sgd };
        let loss = NaN;
        return { run: () => (loss = net.step(x, target, { optimizer }).loss), result: () => loss, dispose: () => net.dispose() };
      }
      const states = w.B * w.H;
      if (w.job === 'cell') {
        // A stream: each call takes the state the previous one left in `h`.
        const frame = { data: d.x.subarray(0, w.B * w.I), shape: [w.B, w.I] };
        const out = { output: new Float32Array(states), y: new Float32Array(states), h: new Float32Array(states) };
        const state = { h: { data: out.h, shape: [1, w.B, w.H] } };
        const run = hasOut ? () => net.cell(frame, state, { out }) : () => out.output.set(net.cell(frame, state).output.data);
        return { run, result: () => out.output, dispose: () => net.dispose() };
      }
      const out = {
        output: new Float32Array(w.T * states), y: new Float32Array(w.T * states), hN: new Float32Array(states),
        ...(w.cell === 'lstm' && { cN: new Float32Array(states) }),
      };
      const run = hasOut ? () => net.unroll(x, { out }) : () => out.output.set(net.unroll(x).output.data);
      return { run, result: () => out.output, dispose: () => net.dispose() };
    },
  };
}

const naive: Contender = {
  name: 'naive JS',
  async prepare(w, d) {
    if (w.job === 'cell') return 'not measured';
    if (w.job === 'train' && w.cell !== 'rnn') return 'not written (the targets name W1, W5 and W6)';
    let result: Float32Array | number = 0;
    if (w.job === 'train') {
      const p = Object.fromEntries(Object.entries(d.weights).map(([k, v]) => [k, v.slice()]));
      return { run: () => (result = naiveTrainStep(p, d.x, d.target, w.T, w.B, w.I, w.H, LEARNING_RATE.sgd)), result: () => result, dispose() {} };
    }
    return { run: () => (result = naiveForward(w.cell, d.weights, d.x, w.T, w.B, w.I, w.H)), result: () => result, dispose() {} };
  },
};

function native(build: (typeof NATIVE_BUILDS)[number]): Contender {
  return {
    name: build.name,
    async prepare(w, d) {
      if (w.job !== 'forward') return 'forward kernels only';
      const binary = nativeBinary(build);
      if ('reason' in binary) return binary.reason;
      const proc = await startNative(binary.path, w, d);
      return { run: () => undefined, timed: (n) => proc.times(n), result: () => proc.result, dispose: () => proc.close() };
    },
  };
}

const pytorch: Contender = {
  name: 'PyTorch',
  async prepare(w, d) {
    if (w.job === 'cell') return 'not measured';
    const python = torchPython();
    if ('reason' in python) return python.reason;
    const proc = await startPytorch(python.path, w, d);
    return { run: () => undefined, timed: (n) => proc.times(n), result: () => proc.result, dispose: () => proc.close() };
  },
};

function peer(name: string, load: () => Promise<{ version: string; prepare: Contender['prepare'] } | string>): Contender & { about(): Promise<string> } {
  let loaded: Promise<{ version: string; prepare: Contender['prepare'] } | string> | undefined;
  const get = () => (loaded ??= load());
  return {
    name,
    async about() {
      const p = await get();
      return typeof p === 'string' ? `${name}: ${p}` : `${name} ${p.version}`;
    },
    async prepare(w, d) {
      const p = await get();
      return typeof p === 'string' ? p : p.prepare(w, d);
    },
  };
}

/** Whether a contender's result is ours within float32 noise (different tanh and summation orders). */
function agrees(actual: Float32Array | number, expected: Float32Array | number): string | null {
  if (typeof expected === 'number') {
    const diff = Math.abs((actual as number) - expected);
    return diff <= 1e-4 * Math.abs(expected) + 1e-6 ? null : `loss ${actual} vs ${expected}`;
  }
  const a = actual as Float32Array;
  if (a.length !== expected.length) return `${a.length} values vs ${expected.length}`;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - expected[i]) - 1e-3 * Math.abs(expected[i]));
  return worst <= 1e-4 ? null : `outputs differ by up to ${worst.toExponential(1)}`;
}

const now = () => performance.now();

/** Calls until `ms` have passed (at least `min`), returning each call's time. */
async function sample(r: Runner, ms: number, min: number, estimate: number): Promise<number[]> {
  if (r.timed) return r.timed(Math.max(min, Math.round(ms / Math.max(estimate, 1e-3))));
  const times: number[] = [];
  const start = now();
  while (times.length < min || now() - start < ms) {
    const t0 = now();
    const p = r.run();
    if (p instanceof Promise) await p;
    times.push(now() - t0);
  }
  return times;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

interface Stats {
  median: number;
  /** Half the interquartile range. */
  spread: number;
  n: number;
}

function stats(times: number[]): Stats {
  const s = [...times].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), spread: (quantile(s, 0.75) - quantile(s, 0.25)) / 2, n: s.length };
}

const ROUNDS = 12;

/** Checks every contender's first result against the reference's, then times all of them in interleaved rounds. */
async function measure(w: Workload, contenders: Contender[]): Promise<Map<string, Stats | string>> {
  const d = await workloadData(w);
  const results = new Map<string, Stats | string>();
  const runners: [string, Runner][] = [];
  let expected: Float32Array | number | undefined;
  for (const c of contenders) {
    const r = await c.prepare(w, d);
    if (typeof r === 'string') {
      results.set(c.name, r);
      continue;
    }
    const p = r.run();
    if (p instanceof Promise) await p;
    const got = r.result();
    const copy = typeof got === 'number' ? got : got.slice();
    expected ??= copy; // the first contender, this library's SIMD build, is the reference
    const problem = agrees(copy, expected);
    if (problem) {
      results.set(c.name, `output check failed: ${problem}`);
      await r.dispose();
      continue;
    }
    runners.push([c.name, r]);
  }
  const budget = Number(args.time);
  const times = new Map<string, number[]>(runners.map(([name]) => [name, []]));
  const estimate = new Map<string, number>();
  for (const [name, r] of runners) {
    // Warm-up: long enough for V8 to tier the code up; three calls first give the estimate for timed runners.
    const first = stats(await sample(r, 0, 3, Infinity)).median;
    estimate.set(name, stats(await sample(r, Math.min(200, budget / 4), 1, first)).median);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < runners.length; i++) {
      const [name, r] = runners[(i + round) % runners.length];
      times.get(name)!.push(...(await sample(r, budget / ROUNDS, 1, estimate.get(name)!)));
    }
  }
  for (const [name, r] of runners) {
    results.set(name, stats(times.get(name)!));
    await r.dispose();
  }
  return results;
}

// ---- the report ---------------------------------------------------------------------------------------

const fmt = (ms: number) => (ms < 0.1 ? ms.toFixed(4) : ms < 1 ? ms.toFixed(3) : ms < 100 ? ms.toFixed(2) : ms.toFixed(0));
const ratio = (r: number) => (r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)) + '×';

/** PyTorch 1.13 (OpenBLAS, AVX-512, one thread) on W6, from the issue: measured on another machine. */
const ISSUE_PYTORCH_W6_MS = 9.2;

interface Target {
  workloads: string[];
  against: string;
  /** Their median over ours (a speed-up) must be at least this, or (when `within`) ours over theirs at most. */
  bound: number;
  within?: boolean;
}

const TARGETS: Target[] = [
  { workloads: ['W1', 'W2', 'W5'], against: 'C -msse4.2', bound: 1.2, within: true },
  { workloads: ['W3', 'W4'], against: 'C -msse4.2', bound: 1.3, within: true },
  { workloads: ['W1', 'W2', 'W5'], against: 'onnxruntime-web', bound: 2.5 },
  { workloads: ['W3', 'W4'], against: 'onnxruntime-web', bound: 1.15 },
  { workloads: ['W1'], against: 'tfjs-wasm', bound: 8 },
  { workloads: ['W4', 'W6'], against: 'tfjs-wasm', bound: 10 },
  { workloads: ['W1', 'W5', 'W6'], against: 'naive JS', bound: 20 },
];

async function main() {
  const only = args.only?.split(',');
  const workloads = WORKLOADS.filter((w) => !only || only.includes(w.id));
  const onnx = peer('onnxruntime-web', onnxRuntime);
  const tfjs = peer('tfjs-wasm', tensorflow);
  // The package as users get it (npm run build, which bench:compare runs first): the same kernels as src/, and
  // the JS glue as the bundler emits it (tsx's transform adds a helper call to every closure src/ creates).
  // --src measures src/ through tsx instead, like another checkout's src/ for --before.
  const dist = new URL('../dist/index.js', import.meta.url);
  const fromDist = !args.src && existsSync(dist);
  const lib = (fromDist ? await import(dist.href) : await import('../src/index.js')) as Library;
  if (!fromDist) process.stderr.write('measuring src/ through tsx (its transform adds a call to every closure src/ creates)\n');
  const contenders: Contender[] = [
    ours('SIMD', lib, 'wasm-simd', true),
    ours('scalar', lib, 'wasm-scalar', true),
    ours('JS backend', lib, 'js', true),
    naive,
  ];
  if (args.before) contenders.splice(1, 0, ours('before', await import(resolve(args.before, 'src/index.ts')) as Library, 'wasm-simd', false));
  if (!args['no-native']) contenders.push(...NATIVE_BUILDS.map(native), pytorch);
  if (!args['no-peers']) contenders.push(onnx, tfjs);

  const torch = torchPython();
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores; Node ${process.version}; gcc ${gccVersion()}; `
    + `PyTorch ${'version' in torch ? torch.version : 'none'}`;
  const about = args['no-peers'] ? [] : [await onnx.about(), await tfjs.about()];
  process.stderr.write(`${machine}\n${about.join('\n')}\n`);

  const table = new Map<string, Map<string, Stats | string>>();
  for (const w of workloads) {
    process.stderr.write(`${w.id}: ${w.title}…\n`);
    table.set(w.id, await measure(w, contenders));
  }
  const median = (id: string, name: string) => {
    const s = table.get(id)?.get(name);
    return typeof s === 'object' ? s.median : undefined;
  };

  const names = contenders.map((c) => c.name);
  console.log(`\n## rnn-wasm vs the alternatives, ${new Date().toISOString().slice(0, 10)}\n\n${machine}\n${about.join('; ')}\n`);
  console.log(`Medians in ms (± half the interquartile range), interleaved rounds, ${args.time} ms per contender and workload.\n`);
  console.log(`| workload | ${names.join(' | ')} |`);
  console.log(`|---|${names.map(() => '---:').join('|')}|`);
  const notes = new Set<string>();
  for (const w of workloads) {
    const cells = names.map((n) => {
      const s = table.get(w.id)!.get(n)!;
      if (typeof s === 'object') return `${fmt(s.median)} ±${fmt(s.spread)}`;
      notes.add(`${n}, ${w.id}: ${s}`);
      return '–';
    });
    console.log(`| ${w.id} ${w.title} | ${cells.join(' | ')} |`);
  }
  console.log(`\n${[...notes].map((n) => `- ${n}`).join('\n')}\n`);

  console.log('Ratios of medians: how many times faster the SIMD build is (theirs / ours), or how far from native code (ours / theirs).\n');
  const others = names.filter((n) => n !== 'SIMD');
  const isNative = (n: string) => n.startsWith('C ') || n === 'PyTorch';
  console.log(`| workload | SIMD ms | GFLOP/s | ${others.map((n) => (isNative(n) ? `SIMD / ${n}` : `${n} / SIMD`)).join(' | ')} |`);
  console.log(`|---|---:|---:|${others.map(() => '---:').join('|')}|`);
  for (const w of workloads) {
    const ms = median(w.id, 'SIMD');
    if (ms === undefined) continue;
    const cells = others.map((n) => {
      const m = median(w.id, n);
      if (m === undefined) return '–';
      return isNative(n) ? ratio(ms / m) : ratio(m / ms);
    });
    const gflops = w.job === 'cell' ? '' : (flops(w) / ms / 1e6).toFixed(1);
    console.log(`| ${w.id} | ${fmt(ms)} | ${gflops} | ${cells.join(' | ')} |`);
  }

  console.log('\nTargets (issue 6):\n');
  const verdicts: { target: string; value: string; met: boolean | null }[] = [];
  for (const t of TARGETS.filter((x) => names.includes(x.against))) {
    for (const id of t.workloads.filter((x) => table.has(x))) {
      const [ms, theirs] = [median(id, 'SIMD'), median(id, t.against)];
      if (ms === undefined || theirs === undefined) {
        verdicts.push({ target: `${id} vs ${t.against}`, value: 'not measured', met: null });
        continue;
      }
      const value = t.within ? ms / theirs : theirs / ms;
      const met = t.within ? value <= t.bound : value >= t.bound;
      verdicts.push({ target: `${id} ${t.within ? `within ${t.bound}× of` : `≥ ${t.bound}× faster than`} ${t.against}`, value: ratio(value), met });
    }
  }
  for (const id of ['W6', 'W7'].filter((x) => table.has(x))) {
    const [ms, torchMs] = [median(id, 'SIMD'), median(id, 'PyTorch')];
    if (ms !== undefined && torchMs !== undefined) verdicts.push({ target: `${id} within 2× of PyTorch (one thread, this machine)`, value: ratio(ms / torchMs), met: ms / torchMs <= 2 });
  }
  const w6 = median('W6', 'SIMD');
  if (w6 !== undefined) {
    verdicts.push({ target: `W6 within 2× of the issue's PyTorch ${ISSUE_PYTORCH_W6_MS} ms (another machine)`, value: ratio(w6 / ISSUE_PYTORCH_W6_MS), met: w6 / ISSUE_PYTORCH_W6_MS <= 2 });
  }
  const [s1, w1] = [median('S1', 'SIMD'), median('W1', 'SIMD')];
  if (s1 !== undefined && w1 !== undefined) {
    verdicts.push({ target: '`cell` (S1) within 1.3× of one step inside `unroll` (W1 / 100)', value: ratio(s1 / (w1 / 100)), met: s1 / (w1 / 100) <= 1.3 });
  }
  for (const w of workloads.filter((x) => x.job === 'train')) {
    const ms = median(w.id, 'SIMD');
    if (ms !== undefined) console.log(`${w.id}: ${(flops(w) / ms / 1e6).toFixed(1)} GFLOP/s (a training step counted as 3× the forward's FLOPs)`);
  }

  let cold: Stats | string | undefined;
  if (!args['no-cold']) {
    cold = coldStart();
    if (typeof cold === 'object') verdicts.push({ target: 'cold start (import → first W0 result) under 20 ms', value: `${fmt(cold.median)} ms`, met: cold.median < 20 });
  }
  console.log('\n| target | measured | met |\n|---|---:|:---:|');
  for (const v of verdicts) console.log(`| ${v.target} | ${v.value} | ${v.met === null ? '–' : v.met ? 'yes' : 'no'} |`);
  if (typeof cold === 'string') console.log(`\nCold start not measured: ${cold}`);
  else if (cold) console.log(`\nCold start: ${fmt(cold.median)} ms median of ${cold.n} fresh processes (±${fmt(cold.spread)}), from import of dist/index.js to the first W0 output.`);

  const scaling = args['no-scaling'] ? undefined : await scalingTable(lib);

  if (args.json) {
    const json = {
      date: new Date().toISOString(), machine, peers: about,
      workloads: workloads.map((w) => ({ ...w, flops: flops(w), results: Object.fromEntries(table.get(w.id)!) })),
      targets: verdicts, coldStart: cold, scaling,
    };
    writeFileSync(args.json, JSON.stringify(json, null, 2));
  }
  process.exit(0); // the peers' runtimes keep handles open
}

/** SIMD RNN forward over hidden sizes and batch sizes (I = 64, T = 50): ms and GFLOP/s. */
async function scalingTable(lib: Library): Promise<{ H: number; B: number; ms: number; gflops: number }[]> {
  const [hs, bs, I, T] = [[32, 64, 128, 256, 512, 1024], [1, 4, 16, 64], 64, 50];
  const rows: { H: number; B: number; ms: number; gflops: number }[] = [];
  for (const H of hs) {
    for (const B of bs) {
      const net = await lib.RNN.create({ inputSize: I, hiddenSize: H, seed: 1, backend: 'wasm-simd' });
      const x = { data: seeded(T * B * I, 3), shape: [T, B, I] };
      const out = { output: new Float32Array(T * B * H), y: new Float32Array(T * B * H), hN: new Float32Array(B * H) };
      const run = () => net.unroll(x, { out });
      const s = stats(await sample({ run, result: () => 0, dispose() {} }, 300, 5, 1));
      net.dispose();
      rows.push({ H, B, ms: s.median, gflops: (2 * T * B * (I * H + H * H)) / s.median / 1e6 });
    }
  }
  console.log(`\nScaling: SIMD RNN forward, I = 64, T = 50: median ms (GFLOP/s)\n\n| H \\ B | ${bs.join(' | ')} |\n|---|${bs.map(() => '---:').join('|')}|`);
  for (const H of hs) {
    console.log(`| ${H} | ${bs.map((B) => rows.find((r) => r.H === H && r.B === B)!).map((r) => `${fmt(r.ms)} (${r.gflops.toFixed(1)})`).join(' | ')} |`);
  }
  return rows;
}

/** Import to first W0 result in fresh Node processes, of the built package (dist/index.js). */
function coldStart(): Stats | string {
  const entry = new URL('../dist/index.js', import.meta.url);
  if (!existsSync(entry)) return 'dist/index.js is missing (npm run build)';
  const script = new URL('cold-start.mjs', import.meta.url);
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const out = execFileSync(process.execPath, [script.pathname, entry.href], { encoding: 'utf8' });
    times.push((JSON.parse(out) as { ms: number }).ms);
  }
  return stats(times);
}

await main();
