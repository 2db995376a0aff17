/**
 * The native references, each a child process that times its own calls so that neither process start nor the
 * pipe is counted: bench/native/rnn.c, built with gcc when it is on the PATH (at -O3 -msse4.2, the vector width
 * of WebAssembly SIMD, and at -O3 -march=native), and PyTorch on one thread (bench/native/pytorch.py) when a
 * python3 can import torch.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LEARNING_RATE, type Workload, type WorkloadData } from '../src/cli/bench/workloads.js';

const SOURCE = fileURLToPath(new URL('native/rnn.c', import.meta.url));
const PYTORCH = fileURLToPath(new URL('native/pytorch.py', import.meta.url));
const DIR = join(tmpdir(), 'rnn-wasm-bench');

export const NATIVE_BUILDS = [
  { name: 'C -msse4.2', flags: ['-O3', '-msse4.2'], file: 'rnn-sse42' },
  { name: 'C -march=native', flags: ['-O3', '-march=native'], file: 'rnn-native' },
] as const;

/** The binary for one set of flags, built unless it is newer than the source; or why there is none. */
export function nativeBinary(build: (typeof NATIVE_BUILDS)[number]): { path: string } | { reason: string } {
  const path = join(DIR, build.file);
  try {
    if (statSync(path).mtimeMs > statSync(SOURCE).mtimeMs) return { path };
  } catch {
    // not built yet
  }
  mkdirSync(DIR, { recursive: true });
  try {
    execFileSync('gcc', [...build.flags, '-o', path, SOURCE, '-lm'], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { path };
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
    return { reason: e.code === 'ENOENT' ? 'gcc is not on the PATH' : `gcc failed: ${e.stderr?.toString().trim() ?? e.message}` };
  }
}

export function gccVersion(): string {
  try {
    return execFileSync('gcc', ['-dumpfullversion'], { encoding: 'utf8' }).trim();
  } catch {
    return 'none';
  }
}

let python: { path: string; version: string } | { reason: string } | undefined;

/** A python3 that imports torch: $PYTHON, else python3 on the PATH, else the system's /usr/bin/python3. */
export function torchPython(): { path: string; version: string } | { reason: string } {
  python ??= (() => {
    for (const path of [process.env.PYTHON, 'python3', '/usr/bin/python3']) {
      if (!path) continue;
      try {
        const version = execFileSync(path, ['-c', 'import torch; print(torch.__version__)'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        return { path, version: version.trim() };
      } catch {
        // not this one
      }
    }
    return { reason: 'no python3 here imports torch (set PYTHON to one that does)' };
  })();
  return python;
}

/** One workload in a native process: what its first call produced (to check), and the times of n more in ms. */
export interface NativeRun {
  result: Float32Array | number;
  times(n: number): Promise<number[]>;
  close(): void;
}

/** Runs a self-timing process on the workload's data written to a file, per the protocol of bench/native/. */
async function selfTimed(
  command: string,
  args: (data: string, output: string) => string[],
  w: Workload,
  parts: Float32Array[],
  tag: string,
  threads = 1,
): Promise<NativeRun> {
  mkdirSync(DIR, { recursive: true });
  const data = join(DIR, `${process.pid}-${w.id}-${tag}.in.f32`);
  const output = join(DIR, `${process.pid}-${w.id}-${tag}.out.f32`);
  writeFileSync(data, Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
  // The same thread count for every library the process may load (OpenMP, OpenBLAS, MKL).
  const n = String(threads);
  const env = { ...process.env, OMP_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n, MKL_NUM_THREADS: n, RNN_BENCH_THREADS: n };
  const child = spawn(command, args(data, output), { stdio: ['pipe', 'pipe', 'inherit'], env });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const line = await lines.next();
    if (line.done) throw new Error(`${command} exited (code ${child.exitCode})`);
    return line.value;
  };
  const [ready, loss] = (await next()).split(' ');
  if (ready !== 'ready') throw new Error(`${command} did not start`);
  let result: Float32Array | number = Number(loss);
  if (w.job === 'forward') {
    const bytes = readFileSync(output);
    result = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  }
  return {
    result,
    async times(n) {
      child.stdin.write(`${n}\n`);
      return (await next()).split(' ').map((ns) => Number(ns) / 1e6);
    },
    close: () => child.stdin.end(),
  };
}

const recurrentWeights = (d: WorkloadData) => [
  d.weights['rnn.weight_ih_l0'],
  d.weights['rnn.weight_hh_l0'],
  d.weights['rnn.bias_ih_l0'],
  d.weights['rnn.bias_hh_l0'],
];

/** The C kernels on a forward workload. */
export function startNative(binary: string, w: Workload, d: WorkloadData): Promise<NativeRun> {
  return selfTimed(
    binary,
    (data, output) => [w.cell, w.I, w.H, w.T, w.B, data, output].map(String),
    w,
    [...recurrentWeights(d), d.x],
    binary.split('/').pop()!,
  );
}

/** PyTorch on a forward or training workload. */
export function startPytorch(pythonPath: string, w: Workload, d: WorkloadData, threads = 1): Promise<NativeRun> {
  const optimizer = w.optimizer ?? 'sgd';
  const train = w.job === 'train';
  const parts = [
    ...recurrentWeights(d),
    ...(train ? [d.weights['head.weight'], d.weights['head.bias']] : []),
    d.x,
    ...(train ? [d.target] : []),
  ];
  return selfTimed(
    pythonPath,
    (data, output) =>
      [PYTORCH, train ? 'train' : 'forward', w.cell, w.I, w.H, w.T, w.B, optimizer, LEARNING_RATE[optimizer], data, output].map(String),
    w,
    parts,
    `pytorch${threads}`,
    threads,
  );
}
