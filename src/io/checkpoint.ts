/**
 * Checkpoints: everything that decides a model's future, so that training resumed from one follows bit for
 * bit the trajectory it would have followed uninterrupted. That is the configuration, every parameter, the
 * optimizer's state (configuration, step count, moment tensors) and the generator's state (shuffling,
 * dropout masks, sampling), all float32 values kept as float32.
 *
 * `save()` writes a safetensors file: the parameters under their PyTorch names, then the optimizer's state
 * tensors as `optimizer.0`, `optimizer.1`, … (`numParameters` values each, in parameter order), with the
 * version, configuration and training state in `__metadata__`, so Python's safetensors reads it too. JSON
 * checkpoints (model-json.ts) carry the same content and are checked by the same `checkSnapshot`, whole and
 * against itself, before a model exists: a model's memory is then sized by tensors the file really holds,
 * never by a size it merely claims. These are pure codecs, bytes ↔ a snapshot; the model is made from that.
 */
import { FormatError, NonFiniteError, OptionError, ShapeError, StateDictError } from '../errors.js';
import { optimizerConfig, optimizerStateTensors } from '../optimizers.js';
import type { LoadOptions } from '../options.js';
import { parameterLayout } from '../parts/index.js';
import { firstNonFinite } from '../tensor.js';
import type { OptimizerConfig, OptimizerOptions, OptimizerSnapshot, Snapshot, Tensor } from '../types.js';
import { describe, list, quote, shapeText } from './describe.js';
import { METADATA, configFromFile, configToJSON, formatVersion, metadataJson, metadataVersion, userMetadata } from './format.js';
import { parseJson } from './json.js';
import { type NamedTensor, parseSafetensors, readFloat32, writeSafetensors } from './safetensors.js';

export type { LoadOptions };

export interface FileTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** A checkpoint as a file gives it, before it is checked. */
export interface CheckpointContent {
  config: unknown;
  parameters: ReadonlyMap<string, FileTensor>;
  optimizer: { config: unknown; step: unknown; tensors: readonly FileTensor[] } | null;
  generator: unknown;
  metadata: unknown;
}

const OPTIMIZER_TENSOR = /^optimizer\.(0|[1-9][0-9]?)$/;

export function encodeCheckpoint(snapshot: Snapshot): Uint8Array {
  const tensors: NamedTensor[] = [...snapshot.parameters].map(([name, t]) => ({ name, ...t }));
  const { optimizer } = snapshot;
  optimizer?.tensors.forEach((data, i) => tensors.push({ name: `optimizer.${i}`, shape: [data.length], data }));
  const training = { optimizer: optimizer && { config: optimizer.config, step: optimizer.step }, generator: snapshot.generator };
  const metadata = new Map([
    ['format', 'pt'],
    [METADATA.version, String(formatVersion(snapshot.config, snapshot.metadata))],
    [METADATA.config, JSON.stringify(configToJSON(snapshot.config))],
    [METADATA.training, JSON.stringify(training)],
  ]);
  if (Object.keys(snapshot.metadata).length) metadata.set(METADATA.user, JSON.stringify(snapshot.metadata));
  return writeSafetensors(tensors, metadata);
}

export function decodeCheckpoint(bytes: Uint8Array): Snapshot {
  const where = 'RNN.load';
  const file = parseSafetensors(bytes);
  if (metadataVersion(file.metadata, where) === undefined) {
    throw new FormatError(
      `${where}: not an rnn-wasm checkpoint (no ${quote(METADATA.version)} in its metadata); `
        + 'load weights from PyTorch with RNN.fromSafetensors',
    );
  }
  const training = metadataJson(file.metadata, METADATA.training, where);
  if (training === undefined) {
    throw new FormatError(
      `${where}: the file holds weights without training state (toSafetensors writes those); load it with RNN.fromSafetensors`,
    );
  }
  if (training === null || typeof training !== 'object' || Array.isArray(training)) {
    throw new FormatError(`${where}: metadata ${quote(METADATA.training)} must be an object, got ${describe(training)}`);
  }
  checkFields(training, ['optimizer', 'generator'], `${where}: metadata ${quote(METADATA.training)}`);
  const parameters = new Map<string, FileTensor>();
  const state: FileTensor[] = [];
  for (const entry of file.tensors) {
    const tensor = { shape: entry.shape, data: readFloat32(file, entry) };
    const match = OPTIMIZER_TENSOR.exec(entry.name);
    if (match) state[Number(match[1])] = tensor;
    else parameters.set(entry.name, tensor);
  }
  for (let i = 0; i < state.length; i++) {
    if (!state[i]) throw new FormatError(`${where}: optimizer.${i} is missing while optimizer.${state.length - 1} is there`);
  }
  const { optimizer } = training;
  if (optimizer !== null && (typeof optimizer !== 'object' || Array.isArray(optimizer))) {
    throw new FormatError(`${where}: the optimizer's metadata must be an object or null, got ${describe(optimizer)}`);
  }
  if (optimizer) checkFields(optimizer, ['config', 'step'], `${where}: the optimizer's metadata`);
  else if (state.length) throw new FormatError(`${where}: the file has optimizer state tensors but no optimizer metadata`);
  return checkSnapshot(
    {
      config: metadataJson(file.metadata, METADATA.config, where),
      parameters,
      optimizer: optimizer && { config: optimizer.config, step: optimizer.step, tensors: state },
      generator: training.generator,
      metadata: file.metadata.has(METADATA.user)
        ? parseJson(file.metadata.get(METADATA.user)!, `${where}: metadata ${quote(METADATA.user)}`, { maxDepth: 2, maxContainers: 2 })
        : undefined,
    },
    where,
  );
}

/** Checks a checkpoint whole: its configuration, every parameter against it, the optimizer and the generator. */
export function checkSnapshot(content: CheckpointContent, where: string): Snapshot {
  const { config } = configFromFile(content.config, where);
  const layout = parameterLayout(config);
  for (const spec of layout.specs) {
    const t = content.parameters.get(spec.name);
    if (!t) throw new StateDictError(`${where}: parameter ${quote(spec.name)} is missing`);
    checkTensor(t, spec.shape, `${where}: parameter ${quote(spec.name)}`);
  }
  const names = new Set(layout.specs.map((s) => s.name));
  for (const name of content.parameters.keys()) {
    if (!names.has(name)) {
      throw new StateDictError(`${where}: unexpected tensor ${quote(name)}; the configuration's parameters are ` + `${list([...names])}`);
    }
  }
  const optimizer = content.optimizer && optimizerSnapshot(content.optimizer, layout.count, where);
  const generator = content.generator;
  if (!Number.isSafeInteger(generator) || (generator as number) < 0 || (generator as number) > 0xffffffff) {
    throw new FormatError(`${where}: the generator state must be an integer in [0, 2³²), got ${describe(generator)}`);
  }
  const parameters = new Map<string, Tensor>(layout.specs.map((spec) => [spec.name, content.parameters.get(spec.name)!]));
  return { config, parameters, optimizer, generator: generator as number, metadata: userMetadata(content.metadata, where) };
}

function optimizerSnapshot(o: NonNullable<CheckpointContent['optimizer']>, count: number, where: string): OptimizerSnapshot {
  let config: OptimizerConfig;
  try {
    config = optimizerConfig(o.config as OptimizerOptions);
  } catch (error) {
    if (error instanceof OptionError) throw new FormatError(`${where}: the optimizer's configuration: ${error.message}`);
    throw error;
  }
  if (!Number.isSafeInteger(o.step) || (o.step as number) < 0) {
    throw new FormatError(`${where}: the optimizer's step must be a non-negative integer, got ${describe(o.step)}`);
  }
  const want = optimizerStateTensors(config);
  if (o.tensors.length !== want) {
    throw new FormatError(
      `${where}: the optimizer (${config.kind}, configured as in the file) keeps ${want} state `
        + `tensors, the file has ${o.tensors.length}`,
    );
  }
  o.tensors.forEach((t, i) => checkTensor(t, [count], `${where}: optimizer state tensor ${i}`));
  return { config, step: o.step as number, tensors: o.tensors.map((t) => t.data) };
}

function checkTensor(t: FileTensor, shape: readonly number[], where: string): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`${where} should have shape ${shapeText(shape)}, got ${shapeText(t.shape)}`);
  }
  const bad = firstNonFinite(t.data);
  if (bad >= 0) throw new NonFiniteError(`${where}: element ${bad} is ${t.data[bad]}`);
}

/** An object read from a file has exactly these fields. */
export function checkFields(value: object, fields: readonly string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (!fields.includes(key)) throw new FormatError(`${where}: unknown field ${quote(key)} (expected ${fields.join(', ')})`);
  }
  for (const key of fields) {
    if (!Object.hasOwn(value, key)) throw new FormatError(`${where}: missing field '${key}'`);
  }
}
