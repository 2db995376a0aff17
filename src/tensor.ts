/**
 * Tensors at the public surface: a flat row-major Float32Array with its shape, or nested number arrays for
 * convenience. Everything a user passes is checked here, before any of it reaches a backend's memory.
 */
import { NonFiniteError, ShapeError } from './errors.js';

export interface Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** Class ids (cross-entropy targets, sampled tokens): int32, row-major. */
export interface IdTensor {
  readonly data: Int32Array;
  readonly shape: readonly number[];
}

export type NestedNumbers = number | readonly NestedNumbers[];

/** What the API accepts wherever a tensor goes in: flat data with a shape, or nested arrays. */
export type TensorInput = { readonly data: ArrayLike<number>; readonly shape: readonly number[] } | readonly NestedNumbers[];

export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export const formatShape = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** Flattens a tensor input and checks it is rectangular; `name` appears in every error. */
export function flatten(value: TensorInput, name: string): { data: ArrayLike<number>; shape: number[] } {
  if (Array.isArray(value)) return flattenNested(value, name);
  if (value === null || typeof value !== 'object' || !('data' in value) || !('shape' in value)) {
    throw new ShapeError(`${name}: expected nested number arrays or { data, shape }, got ${describe(value)}`);
  }
  const { data, shape } = value as { data: ArrayLike<number>; shape: readonly number[] };
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new ShapeError(`${name}: shape must be an array of non-negative integers, got ${describe(shape)}`);
  }
  if (typeof data?.length !== 'number') {
    throw new ShapeError(`${name}: data must be a typed array or number array, got ${describe(data)}`);
  }
  if (data.length !== sizeOf(shape)) {
    throw new ShapeError(`${name}: shape ${formatShape(shape)} holds ${sizeOf(shape)} values but data has ${data.length}`);
  }
  return { data, shape: [...shape] };
}

function flattenNested(value: readonly NestedNumbers[], name: string): { data: number[]; shape: number[] } {
  const shape: number[] = [];
  for (let level: NestedNumbers = value; Array.isArray(level); level = level[0]) shape.push(level.length);
  const data: number[] = [];
  const walk = (node: NestedNumbers, depth: number, path: string) => {
    if (depth === shape.length) {
      if (typeof node !== 'number') throw new ShapeError(`${name}${path}: expected a number, got ${describe(node)}`);
      data.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw new ShapeError(
        `${name}${path}: ragged nesting, expected an array of ${shape[depth]} at depth ${depth}, got ${describe(node)}`,
      );
    }
    node.forEach((child: NestedNumbers, i: number) => walk(child, depth + 1, `${path}[${i}]`));
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

/** Class ids of exactly `expected` shape, each an integer in [0, classes). */
export function toIdTensor(value: TensorInput, name: string, expected: readonly (number | null)[], classes: number): IdTensor {
  const { data, shape } = flatten(value, name);
  checkShape(shape, expected, name);
  const ids = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const id = data[i];
    if (!Number.isInteger(id) || id < 0 || id >= classes) {
      throw new ShapeError(`${name}: element ${i} is ${id}; class ids must be integers in [0, ${classes})`);
    }
    ids[i] = id;
  }
  return { data: ids, shape };
}

export function checkShape(shape: readonly number[], expected: readonly (number | null)[], name: string): void {
  const ok = shape.length === expected.length && expected.every((d, i) => d === null || d === shape[i]);
  if (!ok) {
    const want = expected.map((d, i) => (d === null ? `d${i}` : String(d))).join(', ');
    throw new ShapeError(`${name}: expected shape [${want}], got ${formatShape(shape)}`);
  }
  if (shape.some((d) => d === 0)) throw new ShapeError(`${name}: shape ${formatShape(shape)} has an empty dimension`);
}

/** Index of the first NaN or infinity, or -1. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
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
