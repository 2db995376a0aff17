/**
 * The benchmark both `rnn-wasm bench` and `npm run bench` run: unroll and one training step of each cell,
 * pure JS vs WASM scalar vs WASM SIMD, measured in one run with tinybench and reported as medians with
 * ratios side by side (a Markdown table, ready for the README).
 */
import { cpus } from 'node:os';
import { Bench } from 'tinybench';
import { type BackendChoice, RNN, type Tensor } from '../index.js';
import type { CellKind } from './task.js';

export const BENCH_BACKENDS: readonly BackendChoice[] = ['js', 'wasm-scalar', 'wasm-simd'];
const BENCH_JOBS = ['unroll', 'train step'] as const;

const GATES: Record<CellKind, number> = { rnn: 1, lstm: 4, gru: 3 };
/** Gated cells cost 3–4× an RNN per unit, so their default sizes stop lower. */
export const DEFAULT_HIDDEN: Record<CellKind, readonly number[]> = { rnn: [32, 128, 256, 512], lstm: [128, 256], gru: [128, 256] };

export interface BenchSize {
  cell: CellKind;
  hidden: number;
  batch: number;
  /** Input features and time steps of every sequence. */
  input: number;
  steps: number;
}

export interface BenchRow extends BenchSize {
  job: (typeof BENCH_JOBS)[number];
  /** Floating-point operations of one call. */
  flops: number;
  /** Median milliseconds per call, by backend. */
  medians: Record<string, number>;
}

function randomTensor(shape: number[], seed: number): Tensor {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let s = seed;
  for (let i = 0; i < data.length; i++) data[i] = ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  return { data, shape };
}

/** Both jobs on every backend for one size, at least 5 runs each after warm-up, `timeMs` per task. */
export async function measure(size: BenchSize, timeMs: number): Promise<BenchRow[]> {
  const { cell, hidden: H, batch: B, input: I, steps: T } = size;
  const input = randomTensor([T, B, I], 1);
  const target = randomTensor([T, B, 1], 2);
  const bench = new Bench({ time: timeMs, iterations: 5, warmupIterations: 2, warmupTime: 50 });
  const models: RNN[] = [];
  for (const backend of BENCH_BACKENDS) {
    const net = await RNN.create({ cell, inputSize: I, hiddenSize: H, outputSize: 1, seed: 1, backend });
    models.push(net);
    bench.add(`unroll ${backend}`, () => {
      net.unroll(input);
    });
    bench.add(`train step ${backend}`, () => {
      net.step(input, target, { optimizer: { kind: 'sgd', lr: 1e-4 } });
    });
  }
  await bench.run();
  models.forEach((m) => m.dispose());
  const median = (name: string) => {
    const result = bench.getTask(name)?.result;
    if (!result || !('latency' in result)) throw new Error(`benchmark ${name} did not complete`);
    return result.latency.p50;
  };
  // Multiply-adds of the recurrence and input projection: 2·T·B·(I·H + H·H)·gates FLOPs forward; BPTT about twice that.
  const forwardFlops = 2 * T * B * (I * H + H * H) * GATES[cell];
  return BENCH_JOBS.map((job) => ({
    ...size, job,
    flops: job === 'unroll' ? forwardFlops : 3 * forwardFlops,
    medians: Object.fromEntries(BENCH_BACKENDS.map((b) => [b, median(`${job} ${b}`)])),
  }));
}

const ms = (v: number) => (v < 1 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(0));

/** The results as the README shows them: a heading line, the machine, and one Markdown row per measurement. */
export function benchmarkTable(rows: readonly BenchRow[]): string {
  const { input, steps } = rows[0];
  const lines = [
    `rnn-wasm benchmark — cell + Linear(H→1) head, I=${input}, T=${steps}; medians in ms; ratio = JS median / backend median`,
    `Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, 1 thread`,
    '',
    '| cell | job | H | B | JS ms | scalar ms | SIMD ms | scalar vs JS | SIMD vs JS | SIMD vs scalar | SIMD GFLOP/s |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const { js, 'wasm-scalar': scalar, 'wasm-simd': simd } = r.medians;
    lines.push(`| ${r.cell.toUpperCase()} | ${r.job} | ${r.hidden} | ${r.batch} | ${ms(js)} | ${ms(scalar)} | ${ms(simd)} | `
      + `${(js / scalar).toFixed(1)}× | ${(js / simd).toFixed(1)}× | ${(scalar / simd).toFixed(1)}× | ${(r.flops / simd / 1e6).toFixed(1)} |`);
  }
  return `${lines.join('\n')}\n`;
}
