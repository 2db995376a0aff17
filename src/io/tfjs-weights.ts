/**
 * A TensorFlow.js weights manifest over the bytes of its shards laid end to end: every entry located and sized
 * before anything is read, and each tensor read as float32, dequantized as tfjs does (uint8 and uint16:
 * q·scale + min; float16: IEEE half precision).
 */
import { FormatError, NonFiniteError, UnsupportedError } from '../errors.js';
import { firstNonFinite } from '../tensor.js';
import type { Tensor } from '../types.js';
import { describe, quote } from './describe.js';

/** No tensor of a model this library can hold is larger, nor does any model have more tensors. */
const LIMITS = { elements: 2 ** 28, entries: 100_000 };

/** One entry of the weights manifest, its bytes located in the shards laid end to end. */
export interface WeightEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly bytes: number;
  readonly quantization: { dtype: 'uint8' | 'uint16' | 'float16'; scale: number; min: number } | null;
}

/** The manifest's entries, each located in the weights' bytes; every size checked before anything is read. */
export function manifest(value: unknown, available: number, where: string): WeightEntry[] {
  if (!Array.isArray(value)) throw new FormatError(`${where}: model.json has no weightsManifest (a list of weight groups)`);
  const entries: WeightEntry[] = [];
  let offset = 0;
  for (const group of value) {
    const weights = object(group, `${where}: a weights group`).weights;
    if (!Array.isArray(weights)) throw new FormatError(`${where}: a weights group has no list of weights`);
    for (const w of weights) {
      if (entries.length >= LIMITS.entries) throw new FormatError(`${where}: more than ${LIMITS.entries} weights`);
      const e = object(w, `${where}: a weight`);
      if (typeof e.name !== 'string') throw new FormatError(`${where}: a weight without a name`);
      const name = e.name.replace(/:0$/, '');
      const shape = e.shape;
      if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        throw new FormatError(`${where}: weight ${quote(name)} has shape ${describe(shape)}, not a list of sizes`);
      }
      const elements = shape.reduce((a: number, b: number) => a * b, 1);
      if (elements > LIMITS.elements) throw new FormatError(`${where}: weight ${quote(name)} claims ${elements} elements`);
      if (e.dtype !== 'float32')
        throw new UnsupportedError(`${where}: weight ${quote(name)} is ${describe(e.dtype)}; weights must be float32`);
      const quantization = quantized(e.quantization, name, where);
      const size = quantization ? (quantization.dtype === 'uint8' ? 1 : 2) : 4;
      entries.push({ name, shape, offset, bytes: elements * size, quantization });
      offset += elements * size;
    }
  }
  if (offset !== available) {
    throw new FormatError(
      `${where}: the weights manifest describes ${offset} bytes, but the weights hold ${available}`
        + `${offset > available ? ' (truncated, or a shard missing)' : ''}`,
    );
  }
  return entries;
}

function quantized(value: unknown, name: string, where: string): WeightEntry['quantization'] {
  if (value === undefined || value === null) return null;
  const q = object(value, `${where}: weight ${quote(name)}'s quantization`);
  if (q.dtype === 'float16') return { dtype: 'float16', scale: 1, min: 0 };
  if ((q.dtype === 'uint8' || q.dtype === 'uint16') && Number.isFinite(q.scale) && Number.isFinite(q.min)) {
    return { dtype: q.dtype, scale: q.scale as number, min: q.min as number };
  }
  throw new UnsupportedError(
    `${where}: weight ${quote(name)} has quantization ${describe(q.dtype)}; supported: uint8, uint16 (with scale and min), float16`,
  );
}

/** An entry's values as float32, dequantized: q·scale + min, or IEEE half precision. */
export function read(e: WeightEntry, bytes: Uint8Array, where: string): Tensor {
  const n = e.shape.reduce((a, b) => a * b, 1);
  const view = new DataView(bytes.buffer, bytes.byteOffset + e.offset, e.bytes);
  const data = new Float32Array(n);
  const q = e.quantization;
  if (!q) for (let i = 0; i < n; i++) data[i] = view.getFloat32(4 * i, true);
  else if (q.dtype === 'uint8') for (let i = 0; i < n; i++) data[i] = view.getUint8(i) * q.scale + q.min;
  else if (q.dtype === 'uint16') for (let i = 0; i < n; i++) data[i] = view.getUint16(2 * i, true) * q.scale + q.min;
  else for (let i = 0; i < n; i++) data[i] = half(view.getUint16(2 * i, true));
  const bad = firstNonFinite(data);
  if (bad >= 0) throw new NonFiniteError(`${where}: weight ${quote(e.name)} holds ${data[bad]} at index ${bad}`);
  return { data, shape: e.shape };
}

function half(h: number): number {
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** A JSON object of the model.json, or a FormatError naming `what` it should have been. */
export function object(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new FormatError(`${what} must be an object, got ${describe(value)}`);
  return value as Record<string, unknown>;
}
