/**
 * The benchmark's engine, shared by `rnn-wasm bench` and `npm run bench`. Every contender prepares the
 * workload with the same weights and data; its first result is checked against the reference's (the first
 * contender: this library's SIMD build), so that every row is the same work; then all of them are timed in
 * interleaved rounds with tinybench, each round giving every contender a slice, so that load from other
 * processes on a shared machine falls on all of them alike. Medians are compared, never means.
 */
import { Bench } from 'tinybench';
import * as library from '../../index.js';
import type { BackendChoice } from '../../index.js';
import { LEARNING_RATE, type Workload, type WorkloadData, workloadData } from './workloads.js';

export type Library = typeof import('../../index.js');
type Result = Float32Array | number;

/** One workload prepared on one contender. */
export interface Runner {
  /** One call (it may return a promise); tinybench times it, unless `timed` is given. */
  run(): unknown;
  /** n calls timed by the contender itself (a native process, so that the pipe is not counted), in ms. */
  timed?(n: number): Promise<number[]>;
  /** After the first call: the output sequence [T, B, H] (forward), the new state [B, H] (cell) or the loss (train). */
  result(): Result;
  /** What this contender computes from the reference's result, where it computes less (e.g. one head output). */
  expect?(reference: Result): Result;
  dispose(): unknown;
}

export interface Contender {
  name: string;
  /** A runner, or the reason this contender does not run the workload. */
  prepare(w: Workload, d: WorkloadData): Promise<Runner | string>;
}

export interface Stats {
  median: number;
  /** Half the interquartile range. */
  spread: number;
  n: number;
}

/** A contender's timing of one workload, or why there is none. */
export type Outcome = Stats | string;

/**
 * This library on one backend: the one this code belongs to, or another build or checkout of it (`lib`), with
 * or without `out` buffers (which keep the steady state free of allocation, where that option exists).
 */
export function ours(name: string, backend: BackendChoice, { lib = library as Library, out: hasOut = true, threads = 1 } = {}): Contender {
  return {
    name,
    async prepare(w, d) {
      const net = await lib.RNN.create({
        cell: w.cell,
        ...(w.cell === 'rnn' && { nonlinearity: w.nonlinearity }),
        inputSize: w.I,
        hiddenSize: w.H,
        outputSize: w.head ? 1 : 0,
        seed: 1,
        backend,
        ...(threads > 1 && { threads }),
      });
      // Asked for threads, and got fewer here (another checkout of the library for --before may not know them).
      if (threads > 1 && net.threads !== threads) {
        net.dispose();
        return `runs on ${net.threads} thread${net.threads === 1 ? '' : 's'} here, not ${threads}`;
      }
      net.loadStateDict(Object.fromEntries(Object.entries(d.weights).map(([k, data]) => [k, { data, shape: d.shapes[k] }])));
      const x = { data: d.x, shape: [w.T, w.B, w.I] };
      if (w.job === 'train') {
        const target = { data: d.target, shape: [w.T, w.B, 1] };
        const optimizer =
          w.optimizer === 'adam' ? { kind: 'adam' as const, lr: LEARNING_RATE.adam } : { kind: 'sgd' as const, lr: LEARNING_RATE.sgd };
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
        output: new Float32Array(w.T * states),
        y: new Float32Array(w.T * states),
        hN: new Float32Array(states),
        ...(w.cell === 'lstm' && { cN: new Float32Array(states) }),
      };
      const run = hasOut ? () => net.unroll(x, { out }) : () => out.output.set(net.unroll(x).output.data);
      return { run, result: () => out.output, dispose: () => net.dispose() };
    },
  };
}

/** Whether a contender's result is the reference's within float32 noise (other tanh and summation orders). */
function disagreement(actual: Result, expected: Result): string | null {
  if (typeof expected === 'number' || typeof actual === 'number') {
    const [a, e] = [Number(actual), Number(expected)];
    return Math.abs(a - e) <= 1e-4 * Math.abs(e) + 1e-5 ? null : `${a} where this library gives ${e}`;
  }
  if (actual.length !== expected.length) return `${actual.length} values where this library gives ${expected.length}`;
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) - 1e-3 * Math.abs(expected[i]));
  return worst <= 1e-4 ? null : `outputs differ from this library's by up to ${worst.toExponential(1)}`;
}

const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

export function stats(times: readonly number[]): Stats {
  const s = [...times].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), spread: (quantile(s, 0.75) - quantile(s, 0.25)) / 2, n: s.length };
}

export interface MeasureOptions {
  /** Milliseconds of calls per contender and workload, spread over the rounds. */
  timeMs: number;
  rounds?: number;
  /** Samples every contender gets however slow it is. */
  minSamples?: number;
  /** Awaited before each slice: lets what the last contender left running die down (settle.ts). */
  settle?: () => Promise<void>;
}

/** tinybench's samples of `run` for at least `ms` (and one call), without warm-up: the rounds come after it. */
async function sample(run: () => unknown, ms: number, warmup = false): Promise<number[]> {
  const bench = new Bench({ time: ms, iterations: 1, warmup, warmupTime: ms, warmupIterations: 3, retainSamples: true, throws: true });
  bench.add('run', run);
  await bench.run();
  const samples = bench.tasks[0].result && 'latency' in bench.tasks[0].result ? bench.tasks[0].result.latency.samples : undefined;
  if (!samples?.length) throw new Error('tinybench returned no samples');
  return [...samples];
}

/** Checks every contender's first result against the reference's, then times all that agree in interleaved rounds. */
export async function measure(w: Workload, contenders: readonly Contender[], options: MeasureOptions): Promise<Map<string, Outcome>> {
  const { timeMs, rounds = 12, minSamples = 5, settle } = options;
  const d = await workloadData(w);
  const outcomes = new Map<string, Outcome>();
  const runners: [string, Runner][] = [];
  let reference: Result | undefined;
  for (const c of contenders) {
    const r = await c.prepare(w, d).catch((error: Error) => `failed: ${error.message.split('\n')[0]}`);
    if (typeof r === 'string') {
      outcomes.set(c.name, r);
      continue;
    }
    await r.run();
    const got = r.result();
    const copy = typeof got === 'number' ? got : got.slice();
    reference ??= copy;
    const problem = disagreement(copy, r.expect ? r.expect(reference) : reference);
    if (problem) {
      outcomes.set(c.name, `output check failed: ${problem}`);
      await r.dispose();
      continue;
    }
    runners.push([c.name, r]);
  }
  const slice = timeMs / rounds;
  const times = new Map<string, number[]>(runners.map(([name]) => [name, []]));
  const estimate = new Map<string, number>();
  for (const [name, r] of runners) {
    // Warm-up, long enough for V8 to tier the code up; self-timed contenders get the estimate of a call's cost.
    estimate.set(name, stats(r.timed ? await r.timed(3) : await sample(() => r.run(), Math.min(200, timeMs / 4), true)).median);
  }
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < runners.length; i++) {
      const [name, r] = runners[(i + round) % runners.length];
      const taken = times.get(name)!;
      // A contender slower than its whole budget stops once it has its minimum: it must not hold up the run.
      if (taken.length >= minSamples && taken.reduce((a, b) => a + b, 0) >= timeMs) continue;
      await settle?.();
      taken.push(
        ...(r.timed
          ? await r.timed(Math.max(1, Math.round(slice / Math.max(estimate.get(name)!, 1e-3))))
          : await sample(() => r.run(), slice)),
      );
    }
  }
  for (const [name, r] of runners) {
    outcomes.set(name, stats(times.get(name)!));
    await r.dispose();
  }
  return outcomes;
}
