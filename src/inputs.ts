/**
 * The checks of a call's inputs against a model's configuration: pure functions that either return the input
 * in the engine's terms (time-major, flat, typed) or throw a typed error naming what is wrong. Nothing here
 * touches a model, so a call that fails here has changed nothing.
 */
import { CELLS } from './cells.js';
import { NonFiniteError, OptionError, ShapeError, StateDictError } from './errors.js';
import { type ParamLayout, outputWidth, qualified, stateCore, stateShape } from './layout.js';
import { checkKeys } from './checks.js';
import { firstNonFinite, flatten, formatShape, swapLeadingAxes, toFloatTensor, toIdTensor } from './tensor.js';
import type { InitialState, LossKind, ModelConfig, TensorInput } from './types.js';

/** A batch of sequences, checked and time-major: vectors [T, B, I] or token ids [T, B], and each column's length. */
export interface Batch {
  data: Float32Array | Int32Array;
  T: number;
  B: number;
  /** null: every column runs T steps. */
  lengths: Int32Array | null;
}

/** Initial states in the heap's order, checked; null means zeros. */
export interface States {
  h: Float32Array | null;
  c: Float32Array | null;
}

export const NO_STATE: States = Object.freeze({ h: null, c: null });

/**
 * A loss target, time-major, checked against the model: at every step [T, B, ·], or (`lastStep`) one row per
 * column [B, ·], which goes to each column's last valid step or, for a head on the final states, is the head's.
 */
export type LossTarget =
  | { kind: 'mse'; data: Float32Array; lastStep: boolean }
  | { kind: 'cross_entropy'; ids: Int32Array; lastStep: boolean };

/** A sequence input (and its columns' lengths) checked against the model and made time-major. */
export function checkBatch(c: ModelConfig, input: TensorInput, lengths?: ArrayLike<number>, name = 'input'): Batch {
  const x = c.embedding
    ? toIdTensor(input, name, [null, null], c.embedding.numEmbeddings, 'token ids')
    : toFloatTensor(input, name, [null, null, c.inputSize]);
  const [d0, d1] = x.shape;
  const [T, B] = c.batchFirst ? [d1, d0] : [d0, d1];
  const width = c.embedding ? 1 : c.inputSize;
  return {
    data: c.batchFirst ? swapLeadingAxes(x.data, d0, d1, width) : x.data,
    T,
    B,
    lengths: lengths === undefined ? null : checkLengths(lengths, T, B),
  };
}

/** One step's input for `cell`: vectors [B, I] (finiteness is checked later, in the heap) or token ids [B]. */
export function checkStepInput(c: ModelConfig, input: TensorInput): { data: Float32Array | Int32Array; B: number } {
  const x = c.embedding
    ? toIdTensor(input, 'input', [null], c.embedding.numEmbeddings, 'token ids')
    : toFloatTensor(input, 'input', [null, c.inputSize], false);
  return { data: x.data, B: x.shape[0] };
}

/** Checks a loss target for a sequence of T steps and B columns; its rank picks every step or the last. */
export function checkTarget(c: ModelConfig, target: TensorInput, kind: LossKind, T: number, B: number): LossTarget {
  const O = outputWidth(c);
  const rank = flatten(target, 'target').shape.length;
  const seq = (a: number | null, b: number | null) => (c.batchFirst ? [b, a] : [a, b]);
  const final = c.headOn === 'final';
  if (kind === 'mse') {
    if (rank === 2 || final) return { kind, data: toFloatTensor(target, 'target', [B, O]).data, lastStep: true };
    const t = toFloatTensor(target, 'target', [...seq(T, B), O]);
    return { kind, data: c.batchFirst ? swapLeadingAxes(t.data, B, T, O) : t.data, lastStep: false };
  }
  if (c.headActivation !== 'linear' && c.headActivation !== 'softmax') {
    throw new OptionError(
      `loss 'cross_entropy' reads the head's logits, which a '${c.headActivation}' activation does not give: use 'mse', or a 'linear' or 'softmax' head`,
    );
  }
  if (rank === 1 || final) return { kind, ids: toIdTensor(target, 'target', [B], O).data, lastStep: true };
  const t = toIdTensor(target, 'target', seq(T, B), O);
  return { kind, ids: c.batchFirst ? swapLeadingAxes(t.data, B, T, 1) : t.data, lastStep: false };
}

/** Initial states checked as [L·D, B, H] each; null for zeros. `c0` only for cells with a cell state. */
export function checkStates(c: ModelConfig, value: InitialState, B: number, hName = 'h0', cName = 'c0', finite = true): States {
  const shape = stateShape(c, B);
  const { cell } = stateCore(c);
  if (c.stack.length && (value.h0 !== undefined || value.c0 !== undefined)) {
    throw new OptionError(`${value.h0 !== undefined ? hName : cName}: a model with a stack of cores starts from zero states`);
  }
  if (value.c0 !== undefined && !CELLS[cell].cellState) {
    throw new OptionError(`${cName}: a '${cell}' cell has no cell state; only an LSTM takes ${cName}`);
  }
  return {
    h: value.h0 === undefined ? null : toFloatTensor(value.h0, hName, shape, finite).data,
    c: value.c0 === undefined ? null : toFloatTensor(value.c0, cName, shape, finite).data,
  };
}

/** Column lengths checked against the batch: B integers in 1…T. */
function checkLengths(lengths: ArrayLike<number>, T: number, B: number): Int32Array {
  if (typeof lengths !== 'object' || lengths === null || typeof lengths.length !== 'number') {
    throw new ShapeError(`lengths: expected an array of ${B} integers, got ${typeof lengths}`);
  }
  if (lengths.length !== B) throw new ShapeError(`lengths: expected one length per batch column (${B}), got ${lengths.length}`);
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const len = lengths[b];
    if (!Number.isInteger(len) || len < 1 || len > T) {
      throw new ShapeError(`lengths[${b}] is ${len}; each length must be an integer in 1…${T} (the padded length T)`);
    }
    out[b] = len;
  }
  return out;
}

const NO_BUFFERS = Object.freeze({});

/** The `out` objects whose buffers were found apart, with those buffers in key order. */
const checkedApart = new WeakMap<object, Float32Array[]>();

/**
 * The caller's result buffers, checked before anything runs: only the names in `sizes`, each a Float32Array
 * of exactly its size. (No allocation on the way through: a stream of calls passes here every time.)
 */
export function checkOut<K extends string>(
  out: Partial<Record<K, Float32Array>> | undefined,
  where: string,
  sizes: Partial<Record<K, number>>,
): Partial<Record<K, Float32Array>> {
  if (out === undefined) return NO_BUFFERS;
  if (out === null || typeof out !== 'object') checkKeys(out, Object.keys(sizes), `${where}: out`);
  for (const name in out) {
    const size = sizes[name];
    if (size === undefined) checkKeys(out, Object.keys(sizes), `${where}: out`); // throws, naming the known keys
    const buffer: unknown = out[name];
    if (!(buffer instanceof Float32Array) || buffer.length !== size) {
      const got = buffer instanceof Float32Array ? `${buffer.length} floats` : String(buffer);
      throw new ShapeError(`${where}: out.${name} must be a Float32Array of ${size} floats, got ${got}`);
    }
  }
  // Results written through one buffer into another would be silently wrong: the buffers must be apart. A stream
  // of calls passes the same buffers every time: those already found apart are not compared again.
  const known = checkedApart.get(out);
  let same = known !== undefined;
  let count = 0;
  for (const name in out) same = same && known![count++] === out[name];
  if (same && known!.length === count) return out;
  for (const first in out) {
    for (const second in out) {
      const a = out[first]!;
      const b = out[second]!;
      if (
        first < second
        && a.buffer === b.buffer
        && a.byteOffset < b.byteOffset + b.byteLength
        && b.byteOffset < a.byteOffset + a.byteLength
      ) {
        throw new ShapeError(`${where}: out.${first} and out.${second} overlap in memory; each result needs a buffer of its own`);
      }
    }
  }
  checkedApart.set(out, Object.values(out) as Float32Array[]);
  return out;
}

/**
 * A state dict checked against the parameter layout: every parameter present once with its exact shape and
 * finite values. A name may also be given without the core's module name (`weight_ih_l0` for `rnn.weight_ih_l0`),
 * and a tied weight under either of its names or both (then with equal values, as PyTorch's two views of one
 * tensor are). Returns the values by the name each parameter is stored under.
 */
export function checkStateDict(layout: ParamLayout, core: string, dict: unknown, where: string): Map<string, Float32Array> {
  if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) throw new StateDictError(`${where}: expected an object of tensors`);
  const byName = new Map(layout.specs.map((s) => [s.name, s]));
  const known = (name: string) => byName.has(name) || layout.aliases.has(name);
  const values = new Map<string, Float32Array>();
  const givenAs = new Map<string, string>();
  for (const [key, value] of Object.entries(dict as Record<string, TensorInput>)) {
    const name = known(key) ? key : qualified(core, key);
    if (!known(name)) throw new StateDictError(`${where}: unknown parameter '${key}' (this model has ${layout.names.join(', ')})`);
    const stored = layout.aliases.get(name) ?? name;
    const spec = byName.get(stored)!;
    const { data, shape } = flatten(value, key);
    if (shape.length !== spec.shape.length || shape.some((d, i) => d !== spec.shape[i])) {
      throw new ShapeError(`${where}: '${key}' should have shape ${formatShape(spec.shape)}, got ${formatShape(shape)}`);
    }
    const f32 = Float32Array.from(data);
    const bad = firstNonFinite(f32);
    if (bad >= 0) throw new NonFiniteError(`${where}: '${key}' element ${bad} is ${f32[bad]}`);
    const earlier = values.get(stored);
    if (earlier) {
      if (givenAs.get(stored) === name || !earlier.every((v, i) => Object.is(v, f32[i]))) {
        throw new StateDictError(
          givenAs.get(stored) === name
            ? `${where}: '${name}' is given twice (with and without the '${core}.' prefix)`
            : `${where}: '${key}' and '${givenAs.get(stored)}' are one tied weight, but their values differ`,
        );
      }
    }
    values.set(stored, f32);
    givenAs.set(stored, name);
  }
  const missing = layout.specs.filter((s) => !values.has(s.name)).map((s) => s.name);
  if (missing.length) throw new StateDictError(`${where}: missing ${missing.join(', ')}`);
  return values;
}
