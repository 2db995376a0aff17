/**
 * The native reference: bench/native/rnn.c, built with gcc when it is on the PATH (at -O3 -msse4.2, the vector
 * width of WebAssembly SIMD, and at -O3 -march=native), run as a child process that times its own calls so
 * that neither process start nor the pipe is counted.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Workload, WorkloadData } from './workloads.js';

const SOURCE = fileURLToPath(new URL('native/rnn.c', import.meta.url));
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

/** One forward workload in a native process: its output for the check, and the times of n more calls in ms. */
export interface NativeRun {
  output: Float32Array;
  times(n: number): Promise<number[]>;
  close(): void;
}

export async function startNative(binary: string, w: Workload, d: WorkloadData): Promise<NativeRun> {
  const tag = `${process.pid}-${w.id}-${binary.split('/').pop()}`;
  const input = join(DIR, `${tag}.in.f32`);
  const output = join(DIR, `${tag}.out.f32`);
  const parts = [d.weights['rnn.weight_ih_l0'], d.weights['rnn.weight_hh_l0'], d.weights['rnn.bias_ih_l0'], d.weights['rnn.bias_hh_l0'], d.x];
  writeFileSync(input, Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
  const child = spawn(binary, [w.cell, w.I, w.H, w.T, w.B, input, output].map(String), { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const line = await lines.next();
    if (line.done) throw new Error(`${binary} exited (code ${child.exitCode})`);
    return line.value;
  };
  if ((await next()) !== 'ready') throw new Error(`${binary} did not start`);
  const bytes = readFileSync(output);
  return {
    output: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4),
    async times(n) {
      child.stdin.write(`${n}\n`);
      return (await next()).split(' ').map((ns) => Number(ns) / 1e6);
    },
    close: () => child.stdin.end(),
  };
}
