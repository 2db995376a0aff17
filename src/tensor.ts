/**
 * Tensors at the public surface: a flat row-major Float32Array with its shape, or nested number arrays for
 * convenience. Everything a user passes is checked here, before any of it reaches a backend's memory.
 */
import { NonFiniteError, ShapeError } from './errors.js';
import type { IdTensor, NestedNumbers, Tensor, TensorInput } from './types.js';

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export const formatShape = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** Nested arrays deeper than this are no tensor this library takes (a self-containing array is infinitely deep). */
const MAX_RANK = 8;

/**
 * Flattens a tensor input and checks it is rectangular and made of numbers only: no holes, strings, booleans,
 * nulls or BigInts, which would otherwise be coerced or read as whatever the heap held. `name` appears in every error.
 */
export function flatten(value: TensorInput, name: string): { data: ArrayLike<number>; shape: number[] } {
  if (Array.isArray(value)) return flattenNested(value, name);
  if (value === null || typeof value !== 'object' || !('data' in value) || !('shape' in value)) {
    throw new ShapeError(`${name}: expected nested number arrays or { data, shape }, got ${describe(value)}`);
  }
  const { data, shape } = value as { data: ArrayLike<number>; shape: readonly number[] };
  if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new ShapeError(`${name}: shape must be an array of at most ${MAX_RANK} non-negative integers, got ${describe(shape)}`);
  }
  if (data === null || typeof data !== 'object' || typeof data.length !== 'number') {
    throw new ShapeError(`${name}: data must be a typed array or number array, got ${describe(data)}`);
  }
  if (!(data instanceof Float32Array) && (data instanceof BigInt64Array || data instanceof BigUint64Array)) {
    throw new ShapeError(`${name}: data is a ${data.constructor.name}; BigInts are not numbers this library computes with`);
  }
  const size = sizeOf(shape);
  if (data.length !== size) {
    // A detached view reads as empty: say so rather than report a length of 0.
    if (data.length === 0 && ArrayBuffer.isView(data) && data.buffer.byteLength === 0) {
      throw new ShapeError(`${name}: data's buffer is detached (transferred or freed)`);
    }
    throw new ShapeError(`${name}: shape ${formatShape(shape)} holds ${size} values but data has ${data.length}`);
  }
  if (!ArrayBuffer.isView(data)) {
    for (let i = 0; i < data.length; i++) {
      if (typeof data[i] !== 'number')
        throw new ShapeError(`${name}: data[${i}] is ${i in data ? describe(data[i]) : 'a hole'}, not a number`);
    }
  }
  return { data, shape: [...shape] };
}

function flattenNested(value: readonly NestedNumbers[], name: string): { data: number[]; shape: number[] } {
  const shape: number[] = [];
  for (let level: NestedNumbers = value; Array.isArray(level); level = level[0]) {
    if (shape.length === MAX_RANK) {
      throw new ShapeError(
        `${name}: arrays nested deeper than ${MAX_RANK} levels (an array that contains itself?); no tensor has that rank`,
      );
    }
    shape.push(level.length);
  }
  const data: number[] = [];
  const walk = (node: NestedNumbers, depth: number, path: string) => {
    if (depth === shape.length) {
      if (typeof node !== 'number') throw new ShapeError(`${name}${path}: expected a number, got ${describe(node)}`);
      data.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw new ShapeError(`${name}${path}: ragged nesting, expected an array of ${shape[depth]} at depth ${depth}, got ${describe(node)}`);
    }
    for (let i = 0; i < node.length; i++) {
      if (!(i in node)) throw new ShapeError(`${name}${path}[${i}]: a hole in the array, not a number`);
      walk(node[i], depth + 1, `${path}[${i}]`);
    }
  };
  walk(value, 0, '');
  return { data, shape };
}

/**
 * A float tensor of exactly `expected` shape (null entries match any size), with every value finite; with
 * `finite` false the caller checks that itself (`cell` does, in the heap after copying it there).
 */
export function toFloatTensor(value: TensorInput, name: string, expected: readonly (number | null)[], finite = true): Tensor {
  const { data, shape } = flatten(value, name);
  checkShape(shape, expected, name);
  const out = data instanceof Float32Array ? data : Float32Array.from(data);
  if (finite) checkFinite(out, name);
  return { data: out, shape };
}

/** Throws NonFiniteError naming the first NaN or infinity in `data`, if there is one. */
export function checkFinite(data: ArrayLike<number>, name: string): void {
  const bad = firstNonFinite(data);
  if (bad >= 0) throw new NonFiniteError(`${name}: element ${bad} is ${data[bad]}; inputs must be finite`);
}

/** Class (or token) ids of exactly `expected` shape, each an integer in [0, classes). */
export function toIdTensor(
  value: TensorInput,
  name: string,
  expected: readonly (number | null)[],
  classes: number,
  kind = 'class ids',
): IdTensor {
  const { data, shape } = flatten(value, name);
  checkShape(shape, expected, name);
  const ids = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const id = data[i];
    if (!Number.isInteger(id) || id < 0 || id >= classes) {
      throw new ShapeError(`${name}: element ${i}${position(shape, i)} is ${id}; ${kind} must be integers in [0, ${classes})`);
    }
    ids[i] = id;
  }
  return { data: ids, shape };
}

/** ` (at [t, b])`: where flat element i sits in a tensor of this shape, for error messages. */
function position(shape: readonly number[], i: number): string {
  if (shape.length < 2) return '';
  const index: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    index.unshift(i % shape[d]);
    i = Math.floor(i / shape[d]);
  }
  return ` (at [${index.join(', ')}])`;
}

function checkShape(shape: readonly number[], expected: readonly (number | null)[], name: string): void {
  const ok = shape.length === expected.length && expected.every((d, i) => d === null || d === shape[i]);
  if (!ok) {
    const want = expected.map((d, i) => (d === null ? `d${i}` : String(d))).join(', ');
    throw new ShapeError(`${name}: expected shape [${want}], got ${formatShape(shape)}`);
  }
  if (shape.some((d) => d === 0)) throw new ShapeError(`${name}: shape ${formatShape(shape)} has an empty dimension`);
}

/**
 * Index of the first NaN or infinity, or -1. Every input of every call passes through here, so it first adds
 * up x · 0, which is 0 for every finite x and NaN for the others, in four sums that the CPU runs side by side,
 * with no branch per element (measured: 2.5 times as fast as testing each); only where that finds one does it
 * look for which.
 */
export function firstNonFinite(data: ArrayLike<number>): number {
  const n = data.length;
  const whole = n & ~3;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let i = 0; i < whole; i += 4) {
    s0 += data[i] * 0;
    s1 += data[i + 1] * 0;
    s2 += data[i + 2] * 0;
    s3 += data[i + 3] * 0;
  }
  for (let i = whole; i < n; i++) s0 += data[i] * 0;
  if (s0 + s1 + s2 + s3 === 0) return -1;
  for (let i = 0; i < n; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

/** Swaps the first two axes of a [A, C, F] tensor: batch-first ↔ time-major. */
export function swapLeadingAxes<T extends Float32Array | Int32Array>(data: T, A: number, C: number, F: number): T {
  const out = new (data.constructor as new (n: number) => T)(data.length);
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) out.set(data.subarray((a * C + c) * F, (a * C + c + 1) * F), (c * A + a) * F);
  }
  return out;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'an object';
  return `${typeof value} ${String(value)}`;
}

/**
 * log(softmax(x)) over the last axis, in double precision: what a PyTorch model returns after `F.log_softmax(…,
 * dim=-1)`, from the logits `unroll` gives as y.
 */
export function logSoftmax(x: Tensor): Tensor {
  const shape = x?.shape;
  if (!x || !(x.data instanceof Float32Array) || !Array.isArray(shape) || shape.length === 0) {
    throw new ShapeError('logSoftmax: expected a tensor { data: Float32Array, shape }');
  }
  const C = shape[shape.length - 1];
  if (C < 1 || x.data.length % C !== 0)
    throw new ShapeError(`logSoftmax: shape ${formatShape(shape)} does not fit ${x.data.length} values`);
  const out = new Float32Array(x.data.length);
  for (let row = 0; row < x.data.length; row += C) {
    let max = -Infinity;
    for (let i = 0; i < C; i++) max = Math.max(max, x.data[row + i]);
    let sum = 0;
    for (let i = 0; i < C; i++) sum += Math.exp(x.data[row + i] - max);
    const log = max + Math.log(sum);
    for (let i = 0; i < C; i++) out[row + i] = x.data[row + i] - log;
  }
  return { data: out, shape: [...shape] };
}
