/**
 * JSON checkpoints: what `save()` holds, as an object `JSON.stringify` can write and a person can read.
 *
 * Each tensor is `{ shape, data }` with data flat and row-major, like PyTorch's fixtures. A value is written
 * as the shortest decimal that reads back as the same float32 (0.1 rather than 0.10000000149011612), which
 * `Math.fround` of the parsed number restores exactly. JSON cannot say −0 (`JSON.stringify(-0)` is "0"), so
 * a tensor that holds negative zeros lists their indices in `negativeZeros`: with it, the round trip is
 * exact to the bit.
 */
import { FormatError, NonFiniteError } from '../errors.js';
import type { OptimizerOptions, Snapshot } from '../types.js';
import { type CheckpointContent, type FileTensor, checkFields, checkSnapshot } from './checkpoint.js';
import { describe, quote, shapeText } from './describe.js';
import { type ConfigJSON, checkVersion, configToJSON, formatVersion } from './format.js';
import { parseJson } from './json.js';

/** A tensor in JSON: its shape and its values, flat and row-major. */
export interface TensorJSON {
  /** The size of each axis. */
  shape: number[];
  /** Row-major values; each reads back as its float32 through `Math.fround`. */
  data: number[];
  /** Indices of the values that are −0, which JSON writes as 0; absent when there are none. */
  negativeZeros?: number[];
}

/** A model as `toJSON()` returns it and `RNN.fromJSON` reads it. */
export interface ModelJSON {
  /** Marks the object as this library's. */
  format: 'rnn-wasm';
  /** The format version; a newer one than this library reads is a VersionError. */
  version: number;
  /** The `RNN.create` options that rebuild the model (backend excepted). */
  config: ConfigJSON;
  /** Every parameter under its PyTorch name, in `state_dict` order. */
  parameters: Record<string, TensorJSON>;
  /** null before the first training step. `state` holds the optimizer's tensors, `numParameters` values each. */
  optimizer: {
    /** The optimizer and its hyperparameters. */
    config: OptimizerOptions;
    /** Optimizer steps taken so far. */
    step: number;
    /** Its state tensors (moments, momentum buffers…), in the optimizer's order. */
    state: TensorJSON[];
  } | null;
  /** The state of the model's generator. */
  generator: number;
  /** The user's metadata (`save({ metadata })`), when there is any. */
  metadata?: Record<string, string>;
}

/** Bounds for JSON text: a checkpoint nests five levels and holds about three containers per tensor. */
const LIMITS = { maxDepth: 16, maxContainers: 100_000 };

export function snapshotToJSON(snapshot: Snapshot): ModelJSON {
  const parameters: Record<string, TensorJSON> = {};
  for (const [name, t] of snapshot.parameters) parameters[name] = tensorToJSON(t.shape, t.data);
  const { optimizer } = snapshot;
  return {
    format: 'rnn-wasm',
    version: formatVersion(snapshot.config, snapshot.metadata),
    config: configToJSON(snapshot.config),
    parameters,
    optimizer: optimizer && {
      config: optimizer.config,
      step: optimizer.step,
      state: optimizer.tensors.map((data) => tensorToJSON([data.length], data)),
    },
    generator: snapshot.generator,
    ...(Object.keys(snapshot.metadata).length && { metadata: { ...snapshot.metadata } }),
  };
}

export function snapshotFromJSON(json: string | ModelJSON): Snapshot {
  const where = 'RNN.fromJSON';
  const value: unknown = typeof json === 'string' ? parseJson(json, where, LIMITS) : json;
  if (!isRecord(value)) throw new FormatError(`${where}: expected a model's JSON object or its text, got ${describe(value)}`);
  if (value.format !== 'rnn-wasm') {
    throw new FormatError(`${where}: not an rnn-wasm model: 'format' is ${describe(value.format)}, expected "rnn-wasm"`);
  }
  checkVersion(value.version, where);
  const fields = ['format', 'version', 'config', 'parameters', 'optimizer', 'generator'];
  checkFields(value, Object.hasOwn(value, 'metadata') ? [...fields, 'metadata'] : fields, where);
  const { parameters, optimizer } = value;
  if (!isRecord(parameters)) throw new FormatError(`${where}: 'parameters' must be an object of tensors, got ${describe(parameters)}`);
  const content: CheckpointContent = {
    config: value.config,
    parameters: new Map(Object.entries(parameters).map(([name, t]) => [name, tensorFromJSON(t, `${where}: parameter ${quote(name)}`)])),
    optimizer: null,
    generator: value.generator,
    metadata: value.metadata,
  };
  if (optimizer !== null) {
    if (!isRecord(optimizer)) throw new FormatError(`${where}: 'optimizer' must be an object or null, got ${describe(optimizer)}`);
    checkFields(optimizer, ['config', 'step', 'state'], `${where}: optimizer`);
    if (!Array.isArray(optimizer.state)) {
      throw new FormatError(`${where}: optimizer.state must be an array of tensors, got ${describe(optimizer.state)}`);
    }
    const tensors = optimizer.state.map((t, i) => tensorFromJSON(t, `${where}: optimizer.state[${i}]`));
    content.optimizer = { config: optimizer.config, step: optimizer.step, tensors };
  }
  return checkSnapshot(content, where);
}

function tensorToJSON(shape: readonly number[], values: Float32Array): TensorJSON {
  const data = new Array<number>(values.length);
  const negativeZeros: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === 0 && 1 / v < 0) negativeZeros.push(i);
    data[i] = shortestFloat32(v);
  }
  return negativeZeros.length ? { shape: [...shape], data, negativeZeros } : { shape: [...shape], data };
}

/**
 * The number with the fewest significant digits (from 6, below which float32 values rarely reach) whose
 * float32 is `v`; `v` itself, which JSON writes exactly, when no shorter one is.
 */
function shortestFloat32(v: number): number {
  for (let digits = 6; digits < 9; digits++) {
    const d = Number(v.toPrecision(digits));
    if (Math.fround(d) === v) return d;
  }
  return v;
}

function tensorFromJSON(value: unknown, where: string): FileTensor {
  if (!isRecord(value)) throw new FormatError(`${where} must be { shape, data }, got ${describe(value)}`);
  const fields = Object.hasOwn(value, 'negativeZeros') ? ['shape', 'data', 'negativeZeros'] : ['shape', 'data'];
  checkFields(value, fields, where);
  const { shape, data, negativeZeros } = value;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new FormatError(`${where}: shape must be an array of non-negative integers, got ${describe(shape)}`);
  }
  if (!Array.isArray(data)) throw new FormatError(`${where}: data must be an array of numbers, got ${describe(data)}`);
  // The product stops growing at data.length + 1: past the values that are there, any size is wrong alike.
  const size = (shape as number[]).reduce((n, d) => Math.min(n * d, data.length + 1), 1);
  if (size !== data.length) {
    throw new FormatError(`${where}: shape ${shapeText(shape as number[])} does not hold the ${data.length} values of data`);
  }
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v: unknown = data[i];
    if (typeof v !== 'number') throw new FormatError(`${where}: element ${i} is ${describe(v)}, not a number`);
    out[i] = v;
    if (!Number.isFinite(out[i])) {
      throw new NonFiniteError(`${where}: element ${i} is ${v}${Number.isFinite(v) ? ", beyond float32's range" : ''}`);
    }
  }
  if (negativeZeros !== undefined) {
    if (!Array.isArray(negativeZeros))
      throw new FormatError(`${where}: negativeZeros must be an array of indices, got ${describe(negativeZeros)}`);
    for (const i of negativeZeros) {
      if (!Number.isSafeInteger(i) || i < 0 || i >= out.length || out[i] !== 0) {
        throw new FormatError(`${where}: negativeZeros lists ${describe(i)}, which is not the index of a zero`);
      }
      out[i] = -0;
    }
  }
  return { shape: shape as number[], data: out };
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
