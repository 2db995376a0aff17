/**
 * Weights to and from PyTorch as safetensors: the `state_dict` layout (names, shapes, row-major float32) under
 * the model's module names, which `safetensors.torch.load_file` and `model.load_state_dict` read as they are. A
 * tied weight is written once, under the embedding's name, as `safetensors.torch.save_model` does.
 *
 * Reading infers the parts from the tensors (infer.ts). What tensors cannot tell (nonlinearity, headOn,
 * batchFirst, paddingIdx, dropout, seed) comes from the options, else from the configuration in the metadata
 * when this library wrote the file, else the defaults. A file whose metadata contradicts its tensors is refused.
 */
import { FormatError, NonFiniteError, OptionError, StateDictError } from '../errors.js';
import { type LoadOptions, type RNNOptions, WHERE_IT_RUNS, modelConfig, whereItRuns } from '../options.js';
import { bool, checkKeys } from '../checks.js';
import { parameterLayout } from '../parts/index.js';
import { firstNonFinite } from '../tensor.js';
import type { ModelConfig, PartNames, Snapshot, Tensor } from '../types.js';
import { describe, quote } from './describe.js';
import { type ConfigJSON, METADATA, configFromFile, configToJSON, formatVersion, metadataJson, metadataVersion } from './format.js';
import { type Architecture, inferArchitecture, layoutFileNames } from './infer.js';
import { parseSafetensors, readFloat32, writeSafetensors } from './safetensors.js';

/** What the tensors leave open, the module names to look under, and where the model runs. */
export interface SafetensorsOptions
  extends Pick<RNNOptions, 'nonlinearity' | 'headOn' | 'batchFirst' | 'dropout' | 'seed' | 'tieWeights'>,
    LoadOptions {
  /** The parts' module names in the file (`{ embedding: 'encoder', core: 'rnn', head: 'decoder' }`); default: found. */
  names?: Partial<PartNames> | undefined;
  /** false: tensors that belong to no part are left out instead of refused, as PyTorch's `load_state_dict(strict=False)`. */
  strict?: boolean | undefined;
  /** The embedding's padding_idx, which its weights cannot show. */
  paddingIdx?: number | null | undefined;
  /** The core's module name with a trailing dot (`'rnn.'`), as `names.core` ('rnn'); kept from version 1. */
  prefix?: string | undefined;
  /** The head's module name with a trailing dot (`'head.'`), as `names.head`; kept from version 1. */
  headPrefix?: string | undefined;
}

const OPTION_KEYS = [
  'names',
  'prefix',
  'headPrefix',
  'nonlinearity',
  'headOn',
  'batchFirst',
  'paddingIdx',
  'dropout',
  'seed',
  'tieWeights',
  'strict',
  ...WHERE_IT_RUNS,
] as const;

/** Options that tensors do not determine, taken from the options first and the file's metadata second. */
const OPEN_KEYS = ['nonlinearity', 'headOn', 'batchFirst', 'dropout', 'seed'] as const;

export function encodeWeights(snapshot: Snapshot): Uint8Array {
  const tensors = [...snapshot.parameters].map(([name, t]) => ({ name, ...t }));
  return writeSafetensors(
    tensors,
    new Map([
      ['format', 'pt'],
      [METADATA.version, String(formatVersion(snapshot.config))],
      [METADATA.config, JSON.stringify(configToJSON(snapshot.config))],
    ]),
  );
}

/** A snapshot (no optimizer, the seed's generator) from a safetensors file of weights, and where the model should run. */
export function decodeWeights(bytes: Uint8Array, options: SafetensorsOptions): { snapshot: Snapshot; load: LoadOptions } {
  const where = 'RNN.fromSafetensors';
  checkKeys(options, OPTION_KEYS, where);
  const names = moduleNames(options, where);
  const file = parseSafetensors(bytes);
  if (file.metadata.has(METADATA.training)) {
    throw new FormatError(`${where}: this is an rnn-wasm checkpoint (weights and training state); load it with RNN.load`);
  }
  const stored = storedConfig(file.metadata, where);
  const entries = new Map(file.tensors.map((t) => [t.name, t]));
  const strict = bool(options.strict ?? true, `${where}: strict`);
  const open = Object.fromEntries(OPEN_KEYS.map((key) => [key, options[key] ?? stored?.options[key]]));
  let shared = new Map<string, string>();
  let config: ModelConfig;
  let fileNames: Map<string, string>;
  if (stored && formatVersion(stored.config) === 3) {
    // A configuration of version 3 (stacks, gate functions, merges…) says more than any tensor can: the model is
    // the stored one, and the tensors must be its parameters exactly.
    if (Object.keys(names).length) throw new OptionError(`${where}: this file is rnn-wasm's own, whose configuration names its parts`);
    const paddingIdx = options.paddingIdx !== undefined ? { paddingIdx: options.paddingIdx } : {};
    ({ config } = modelConfig({
      ...stored.options,
      ...open,
      ...(stored.options.embedding && { embedding: { ...stored.options.embedding, ...paddingIdx } }),
    }));
    fileNames = layoutFileNames(parameterLayout(config), entries, "model of the file's configuration");
    const used = new Set([...fileNames.values(), ...parameterLayout(config).aliases.keys()]);
    const extra = file.tensors.find((t) => !used.has(t.name));
    if (extra && strict) {
      throw new StateDictError(`${where}: ${quote(extra.name)} is no parameter of the file's configuration (strict: false leaves it out)`);
    }
  } else {
    shared = sharedNames(file.metadata, entries);
    const shapes = [...file.tensors, ...[...shared].map(([removed, kept]) => ({ name: removed, shape: entries.get(kept)!.shape }))];
    const inferred = inferArchitecture(shapes, {
      names: { ...storedNames(stored?.config), ...names },
      tieWeights: options.tieWeights ?? stored?.config.tieWeights,
      shared,
      strict,
    });
    fileNames = inferred.fileNames;
    if (stored) checkAgainstTensors(stored.config, inferred.architecture, where);
    const paddingIdx = options.paddingIdx !== undefined ? options.paddingIdx : stored?.config.embedding?.paddingIdx;
    const { embedding, ...sizes } = inferred.architecture;
    ({ config } = modelConfig({
      ...sizes,
      ...(embedding && { embedding: { ...embedding, paddingIdx }, inputSize: undefined }),
      ...open,
    }));
  }

  const values = new Map<string, Tensor>();
  for (const [fileName, entry] of entries) {
    const data = readFloat32(file, entry);
    const bad = firstNonFinite(data);
    if (bad >= 0) throw new NonFiniteError(`${where}: tensor ${quote(fileName)} element ${bad} is ${data[bad]}`);
    values.set(fileName, { data, shape: entry.shape });
  }
  for (const [removed, kept] of shared) values.set(removed, values.get(kept)!);
  const layout = parameterLayout(config);
  const parameters = new Map(layout.specs.map((spec) => [spec.name, values.get(fileNames.get(spec.name)!)!]));
  checkTiedCopies(layout.aliases, values, where);
  return {
    snapshot: { config, parameters, optimizer: null, generator: config.seed >>> 0, metadata: {} },
    load: whereItRuns(options),
  };
}

/** `names`, or the version-1 `prefix` / `headPrefix` options, as module names. */
function moduleNames(options: SafetensorsOptions, where: string): Partial<PartNames> {
  const names: { -readonly [K in keyof PartNames]?: string } = {};
  if (options.names !== undefined) {
    checkKeys(options.names, ['embedding', 'core', 'head'], `${where}: names`);
    Object.assign(names, options.names);
  }
  for (const [key, part] of [
    ['prefix', 'core'],
    ['headPrefix', 'head'],
  ] as const) {
    const value: unknown = options[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new OptionError(`${where}: ${key} must be a string, got ${describe(value)}`);
    names[part] = value.replace(/\.$/, '');
  }
  for (const [part, value] of Object.entries(names)) {
    if (typeof value !== 'string') throw new OptionError(`${where}: names.${part} must be a string, got ${describe(value)}`);
  }
  return names;
}

/**
 * What safetensors' `save_model` says of the names it left out: a tied weight is written once, under the first of
 * its names in sorted order (`decoder.weight` before `encoder.weight`), and each other name goes into
 * `__metadata__` as `"removed": "kept"`. Read as a second name of the kept tensor.
 */
function sharedNames(metadata: ReadonlyMap<string, string>, tensors: ReadonlyMap<string, unknown>): Map<string, string> {
  const shared = new Map<string, string>();
  for (const [key, value] of metadata) {
    if (!tensors.has(key) && tensors.has(value) && key !== 'format' && !key.startsWith('rnn_wasm.')) shared.set(key, value);
  }
  return shared;
}

/** The module names a file of ours says it used, for the parts its model has. */
function storedNames(config: ModelConfig | undefined): Partial<PartNames> {
  if (!config) return {};
  return {
    core: config.names.core,
    ...(config.embedding && { embedding: config.names.embedding }),
    ...(config.outputSize && { head: config.names.head }),
  };
}

/** A tied weight stored under both of its names must hold the same values twice. */
function checkTiedCopies(aliases: ReadonlyMap<string, string>, values: ReadonlyMap<string, Tensor>, where: string): void {
  for (const [name, of] of aliases) {
    const a = values.get(name);
    const b = values.get(of);
    if (a && b && !a.data.every((v, i) => Object.is(v, b.data[i]))) {
      throw new StateDictError(
        `${where}: ${quote(name)} and ${quote(of)} are one tied weight, but the file holds different values under them`,
      );
    }
  }
}

/** The configuration this library writes into the metadata, when the file is one of ours. */
function storedConfig(metadata: ReadonlyMap<string, string>, where: string): { options: ConfigJSON; config: ModelConfig } | undefined {
  if (metadataVersion(metadata, where) === undefined) return undefined;
  const json = metadataJson(metadata, METADATA.config, where);
  return json === undefined ? undefined : configFromFile(json, `${where}: metadata ${quote(METADATA.config)}`);
}

function checkAgainstTensors(stored: ModelConfig, architecture: Architecture, where: string): void {
  for (const key of ['cell', 'inputSize', 'hiddenSize', 'numLayers', 'bidirectional', 'bias', 'outputSize', 'tieWeights'] as const) {
    if (stored[key] !== architecture[key]) {
      throw new FormatError(
        `${where}: the metadata's configuration says ${key} ${String(stored[key])}, but the ` + `tensors say ${String(architecture[key])}`,
      );
    }
  }
  if (
    (stored.embedding === null) !== (architecture.embedding === null)
    || (stored.embedding && stored.embedding.numEmbeddings !== architecture.embedding!.numEmbeddings)
  ) {
    throw new FormatError(`${where}: the metadata's configuration and the tensors disagree about the embedding`);
  }
}
