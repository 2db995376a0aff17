/**
 * Shared by the kernel suites (test/kernels*.test.ts): a seeded generator, and agree(), which runs one kernel
 * call on a WebAssembly build and on the pure-JS reference with the same inputs at the same addresses in both
 * heaps, then compares the return values and every buffer elementwise, inputs included, so a stray write
 * shows too. Tensors start at every 4-byte phase of a 16-byte line, so unaligned vector loads run. run() lays
 * arrays out the same way in one instance, makes one call and returns them, for suites that compare a backend
 * with a reference of their own.
 */
import { expect } from 'vitest';
import type { KernelInstance, Kernels } from '../src/backend.js';
import { createJsInstance } from '../src/backends/js/index.js';
import { expectClose } from './helpers.js';

/** mulberry32: a small seeded generator, so every case is reproducible from its seed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export const pick = <T>(r: () => number, values: readonly T[]): T => values[Math.floor(r() * values.length)];

export interface Tensor {
  /** Element count. */
  n: number;
  /** int32 contents (lengths, class ids); float tensors are drawn from `init`. */
  int?: readonly number[];
  /** Draws one float element; uniform in [-1, 1) by default. */
  init?: (r: () => number) => number;
  /** Contents after the call are unspecified (scratch): not compared. */
  scratch?: boolean;
  /** Only these rows of `width` elements are specified after the call (caches of a packed sequence). */
  rows?: { width: number; valid: (row: number) => boolean };
}

/** Tensors by argument name; null passes the pointer 0 (an absent bias, no lengths). */
export type Tensors = Record<string, Tensor | null>;
export type Pointers = Record<string, number>;

export const uniform = (scale: number) => (r: () => number) => (r() * 2 - 1) * scale;
export const positive = (r: () => number) => r() + 0.01;
export const float = (n: number, init?: Tensor['init']): Tensor => ({ n, init });
export const scratch = (n: number): Tensor => ({ n, scratch: true });

/**
 * Lays `tensors` out identically in a fresh JS heap and in `wasm`, fills both with the same values, runs
 * `prepare` on the JS heap only (to compute forward caches a backward call needs) and copies the result
 * over, then runs `call` on both and compares the return values and every tensor that is not scratch.
 */
export function agree(
  wasm: KernelInstance,
  seed: number,
  tensors: Tensors,
  // biome-ignore lint/suspicious/noConfusingVoidType: a kernel returns a number or nothing, and both are compared
  call: (k: Kernels, p: Pointers) => number | void,
  prepare?: (k: Kernels, p: Pointers) => void,
): void {
  const js = createJsInstance();
  const r = rng(seed);
  const pointers: Pointers = {};
  const placed: [string, Tensor, number][] = [];
  const origin = Math.ceil(Math.max(js.base, wasm.base, 16) / 16) * 16;
  let end = origin;
  for (const [name, tensor] of Object.entries(tensors)) {
    if (!tensor) {
      pointers[name] = 0;
      continue;
    }
    const at = Math.ceil(end / 16) * 16 + 4 * (placed.length % 4);
    pointers[name] = at;
    placed.push([name, tensor, at]);
    end = at + 4 * tensor.n;
  }
  js.reserve(end);
  wasm.reserve(end);
  for (const heap of [js.buffer, wasm.buffer]) new Uint8Array(heap, origin, end - origin).fill(0);
  for (const [, tensor, at] of placed) {
    const values = tensor.int ?? Array.from({ length: tensor.n }, () => (tensor.init ?? uniform(1))(r));
    for (const heap of [js.buffer, wasm.buffer]) {
      const view = tensor.int ? new Int32Array(heap, at, tensor.n) : new Float32Array(heap, at, tensor.n);
      view.set(values);
    }
  }
  if (prepare) {
    prepare(js.kernels, pointers);
    new Uint8Array(wasm.buffer, origin, end - origin).set(new Uint8Array(js.buffer, origin, end - origin));
  }

  const expected = call(js.kernels, pointers);
  const actual = call(wasm.kernels, pointers);
  if (typeof expected === 'number') expectClose([actual as number], [expected], 'return value');
  for (const [name, tensor, at] of placed) {
    if (tensor.scratch) continue;
    if (tensor.int) {
      expect(Array.from(new Int32Array(wasm.buffer, at, tensor.n)), name).toEqual(tensor.int);
      continue;
    }
    let a = new Float32Array(wasm.buffer, at, tensor.n);
    let b = new Float32Array(js.buffer, at, tensor.n);
    if (tensor.rows) {
      const { width, valid } = tensor.rows;
      const keep = (x: Float32Array) => Float32Array.from({ length: x.length }, (_, i) => (valid(Math.floor(i / width)) ? x[i] : 0));
      [a, b] = [keep(a), keep(b)];
    }
    expectClose(a, b, name);
  }
}

/** Arrays by argument name for `run`; null passes the pointer 0. */
export type Arrays = Record<string, Float32Array | Int32Array | null>;

/**
 * Lays `arrays` out in `instance`'s heap as agree() does (each at its own 4-byte phase of a 16-byte line),
 * runs `call`, and returns every array as the call left it.
 */
export function run(
  instance: KernelInstance,
  arrays: Arrays,
  call: (k: Kernels, p: Pointers) => void,
): Record<string, Float32Array | Int32Array> {
  const pointers: Pointers = {};
  const placed: [string, Float32Array | Int32Array, number][] = [];
  let end = Math.ceil(Math.max(instance.base, 16) / 16) * 16;
  for (const [name, array] of Object.entries(arrays)) {
    if (!array) {
      pointers[name] = 0;
      continue;
    }
    const at = Math.ceil(end / 16) * 16 + 4 * (placed.length % 4);
    pointers[name] = at;
    placed.push([name, array, at]);
    end = at + 4 * array.length;
  }
  instance.reserve(end);
  for (const [, array, at] of placed) {
    const view =
      array instanceof Int32Array ? new Int32Array(instance.buffer, at, array.length) : new Float32Array(instance.buffer, at, array.length);
    view.set(array);
  }
  call(instance.kernels, pointers);
  const out: Record<string, Float32Array | Int32Array> = {};
  for (const [name, array, at] of placed) {
    out[name] =
      array instanceof Int32Array
        ? new Int32Array(instance.buffer.slice(at, at + 4 * array.length))
        : new Float32Array(instance.buffer.slice(at, at + 4 * array.length));
  }
  return out;
}
