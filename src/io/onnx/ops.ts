/**
 * ONNX's shape ops as pure functions over row-major arrays: Transpose, Slice, Squeeze, Unsqueeze, Reshape,
 * Concat, Gather, Expand and broadcasting arithmetic. The importer runs them twice over: on constants (folding a
 * weight's Slice/Concat/Unsqueeze chain at load), and on tensors of references that say which element of which
 * value each element is (the glue between the recurrent layers). Each checks its arguments against the ONNX
 * spec and the element limit before it allocates, and throws an OpError that the importer completes with the node.
 */
import { FormatError } from '../../errors.js';
import { shapeText } from '../describe.js';

export type Data = Float32Array | Float64Array;

export interface Arr {
  readonly dims: readonly number[];
  readonly data: Data;
}

/** No traced tensor may hold more: the glue of a model this library runs is far smaller at any export's batch. */
export const MAX_TRACE = 2 ** 25;

/** What an op cannot do with its arguments; the importer adds the node's name. */
export class OpError extends FormatError {}

const fail = (what: string): never => {
  throw new OpError(what);
};

export function size(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) fail(`a dimension of ${d}`);
    n *= d;
    if (n > MAX_TRACE) fail(`a tensor of shape ${shapeText(dims)}, more than ${MAX_TRACE} elements`);
  }
  return n;
}

const like = (data: Data, n: number): Data => (data instanceof Float32Array ? new Float32Array(n) : new Float64Array(n));

function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

/** An axis in [-rank, rank), made non-negative. */
function axis(a: number, rank: number): number {
  if (!Number.isInteger(a) || a < -rank || a >= rank) fail(`axis ${a} for a tensor of rank ${rank}`);
  return a < 0 ? a + rank : a;
}

export function transpose(x: Arr, perm: readonly number[] | null): Arr {
  const rank = x.dims.length;
  const p = perm ?? x.dims.map((_, i) => rank - 1 - i);
  if (p.length !== rank || new Set(p).size !== rank || p.some((a) => !Number.isInteger(a) || a < 0 || a >= rank)) {
    fail(`perm [${p.join(', ')}] for a tensor of rank ${rank}`);
  }
  const dims = p.map((a) => x.dims[a]);
  const n = size(dims);
  const src = strides(x.dims);
  const step = p.map((a) => src[a]);
  const out = like(x.data, n);
  const index = new Array<number>(rank).fill(0);
  let from = 0;
  for (let i = 0; i < n; i++) {
    out[i] = x.data[from];
    for (let k = rank - 1; k >= 0; k--) {
      index[k]++;
      from += step[k];
      if (index[k] < dims[k]) break;
      from -= step[k] * dims[k];
      index[k] = 0;
    }
  }
  return { dims, data: out };
}

/** Picks `indices` along each axis: the general gather behind Slice and Gather. */
function select(x: Arr, picks: readonly (readonly number[] | null)[]): Arr {
  const rank = x.dims.length;
  const lists = picks.map((p, a) => p ?? Array.from({ length: x.dims[a] }, (_, i) => i));
  const dims = lists.map((l) => l.length);
  const n = size(dims);
  const s = strides(x.dims);
  const out = like(x.data, n);
  const index = new Array<number>(rank).fill(0);
  for (let i = 0; i < n; i++) {
    let from = 0;
    for (let k = 0; k < rank; k++) from += lists[k][index[k]] * s[k];
    out[i] = x.data[from];
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k] < dims[k]) break;
      index[k] = 0;
    }
  }
  return { dims, data: out };
}

export function slice(
  x: Arr,
  starts: readonly number[],
  ends: readonly number[],
  axes: readonly number[] | null,
  steps: readonly number[] | null,
): Arr {
  const rank = x.dims.length;
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => axis(a, rank));
  if (ends.length !== starts.length || ax.length !== starts.length || (steps && steps.length !== starts.length)) {
    fail('Slice with starts, ends, axes and steps of different lengths');
  }
  if (new Set(ax).size !== ax.length) fail('Slice with an axis named twice');
  const picks: (number[] | null)[] = x.dims.map(() => null);
  ax.forEach((a, i) => {
    const d = x.dims[a];
    const step = steps ? steps[i] : 1;
    if (!Number.isInteger(step) || step === 0) fail(`Slice with a step of ${step}`);
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
    const start = step > 0 ? clamp(starts[i], 0, d) : clamp(starts[i], -1, d - 1);
    const end = step > 0 ? clamp(ends[i], 0, d) : clamp(ends[i], -1, d - 1);
    const list: number[] = [];
    for (let v = start; step > 0 ? v < end : v > end; v += step) list.push(v);
    picks[a] = list;
  });
  return select(x, picks);
}

export function gather(x: Arr, indices: Arr, a: number): Arr {
  const rank = x.dims.length;
  const k = axis(a, rank);
  const d = x.dims[k];
  const idx = Array.from(indices.data, (v) => {
    if (!Number.isInteger(v) || v < -d || v >= d) fail(`Gather index ${v} on an axis of ${d}`);
    return v < 0 ? v + d : v;
  });
  const picks: (number[] | null)[] = x.dims.map(() => null);
  picks[k] = idx;
  const picked = select(x, picks);
  return { dims: [...x.dims.slice(0, k), ...indices.dims, ...x.dims.slice(k + 1)], data: picked.data };
}

export function squeeze(x: Arr, axes: readonly number[] | null): Arr {
  const rank = x.dims.length;
  const ax = axes ? axes.map((a) => axis(a, rank)) : x.dims.flatMap((d, i) => (d === 1 ? [i] : []));
  for (const a of ax) if (x.dims[a] !== 1) fail(`Squeeze of axis ${a}, of size ${x.dims[a]}`);
  return { dims: x.dims.filter((_, i) => !ax.includes(i)), data: x.data };
}

export function unsqueeze(x: Arr, axes: readonly number[]): Arr {
  const rank = x.dims.length + axes.length;
  const ax = axes.map((a) => axis(a, rank));
  if (new Set(ax).size !== ax.length) fail('Unsqueeze with an axis named twice');
  const dims: number[] = [];
  let from = 0;
  for (let i = 0; i < rank; i++) dims.push(ax.includes(i) ? 1 : x.dims[from++]);
  return { dims, data: x.data };
}

export function reshape(x: Arr, shape: readonly number[], allowZero: boolean): Arr {
  const n = x.data.length;
  let known = 1;
  let infer = -1;
  const dims = shape.map((d, i) => {
    if (d === 0 && !allowZero) {
      if (i >= x.dims.length) fail(`Reshape to ${shapeText(shape)}: no dimension ${i} to copy`);
      return x.dims[i];
    }
    return d;
  });
  dims.forEach((d, i) => {
    if (d === -1) {
      if (infer >= 0) fail(`Reshape to ${shapeText(shape)} with two -1`);
      infer = i;
    } else if (!Number.isSafeInteger(d) || d < 0) fail(`Reshape to ${shapeText(shape)}`);
    else known *= d;
  });
  if (infer >= 0) {
    if (known === 0 || n % known !== 0) fail(`Reshape of ${shapeText(x.dims)} to ${shapeText(shape)}`);
    dims[infer] = n / known;
  }
  if (size(dims) !== n) fail(`Reshape of ${shapeText(x.dims)} (${n} elements) to ${shapeText(shape)}`);
  return { dims, data: x.data };
}

export function concat(xs: readonly Arr[], a: number): Arr {
  if (xs.length === 0) fail('Concat of nothing');
  const rank = xs[0].dims.length;
  const k = axis(a, rank);
  for (const x of xs) {
    if (x.dims.length !== rank || x.dims.some((d, i) => i !== k && d !== xs[0].dims[i])) {
      fail(`Concat of ${shapeText(xs[0].dims)} and ${shapeText(x.dims)} on axis ${k}`);
    }
  }
  const dims = xs[0].dims.slice();
  dims[k] = xs.reduce((s, x) => s + x.dims[k], 0);
  const out = like(xs[0].data, size(dims));
  const outer = xs[0].dims.slice(0, k).reduce((p, d) => p * d, 1);
  const inner = xs[0].dims.slice(k + 1).reduce((p, d) => p * d, 1);
  let at = 0;
  for (let o = 0; o < outer; o++) {
    for (const x of xs) {
      const chunk = x.dims[k] * inner;
      out.set(x.data.subarray(o * chunk, (o + 1) * chunk), at);
      at += chunk;
    }
  }
  return { dims, data: out };
}

/** Numpy broadcasting of two shapes. */
function broadcastDims(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) fail(`broadcasting ${shapeText(a)} with ${shapeText(b)}`);
    dims.push(x === 1 ? y : x);
  }
  return dims;
}

export function expand(x: Arr, shape: readonly number[]): Arr {
  const dims = broadcastDims(x.dims, shape);
  return binary(x, { dims, data: like(x.data, size(dims)) }, (v) => v);
}

export function binary(a: Arr, b: Arr, f: (x: number, y: number) => number): Arr {
  const dims = broadcastDims(a.dims, b.dims);
  const n = size(dims);
  const rank = dims.length;
  const sa = padStrides(a.dims, rank);
  const sb = padStrides(b.dims, rank);
  const out = like(a.data, n);
  const index = new Array<number>(rank).fill(0);
  for (let i = 0; i < n; i++) {
    let ia = 0;
    let ib = 0;
    for (let k = 0; k < rank; k++) {
      ia += index[k] * sa[k];
      ib += index[k] * sb[k];
    }
    out[i] = f(a.data[ia], b.data[ib]);
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k] < dims[k]) break;
      index[k] = 0;
    }
  }
  return { dims, data: out };
}

/** Strides of a broadcast operand, 0 on its size-1 and missing axes. */
function padStrides(dims: readonly number[], rank: number): number[] {
  const s = strides(dims);
  const out = new Array<number>(rank).fill(0);
  for (let i = 0; i < dims.length; i++) out[rank - dims.length + i] = dims[i] === 1 ? 0 : s[i];
  return out;
}
