/**
 * What every file this library writes says about itself: a format version and the model's configuration.
 *
 * In safetensors files they live in `__metadata__` (strings only, so the configuration is JSON text) beside
 * PyTorch's own `"format": "pt"`; in JSON checkpoints they are fields. A reader refuses a version newer than
 * its own with a VersionError, and checks a configuration with the same rules as `RNN.create`.
 */
import { FormatError, OptionError, VersionError } from '../errors.js';
import { DEFAULT_NAMES, PYTORCH_BEHAVIOUR, type RNNOptions, WHERE_IT_RUNS, modelConfig } from '../options.js';
import type { ModelConfig } from '../types.js';
import { describe, quote } from './describe.js';
import { type JsonValue, parseJson } from './json.js';

/**
 * The version of the formats read here; raised when an older reader would misread a newer file. Version 2 added
 * the parts (embedding, a head on the final states, tied weights, module names): a model without them is
 * written as version 1, which older readers still load.
 */
const FORMAT_VERSION = 3;

/**
 * The oldest version that can describe this model (and the user's metadata, which version 2 added too). Version
 * 3 added the behaviours of other formats' models: gate and candidate functions, the GRU's reset before the
 * product, reading backwards, merge modes, a stack of cores and the head's activation.
 */
export function formatVersion(config: ModelConfig, metadata: Readonly<Record<string, string>> = {}): number {
  if (Object.keys(behaviours(config)).length || (config.cell !== 'rnn' && config.nonlinearity !== 'tanh')) return 3;
  if (Object.keys(metadata).length) return 2;
  const { embedding, headOn, tieWeights, names } = config;
  const plain =
    !embedding
    && headOn === 'steps'
    && !tieWeights
    && (Object.keys(DEFAULT_NAMES) as (keyof typeof DEFAULT_NAMES)[]).every((k) => names[k] === DEFAULT_NAMES[k]);
  return plain ? 1 : 2;
}

/** `__metadata__` keys in the safetensors files this library writes. */
export const METADATA = {
  /** The format version, e.g. "1". */
  version: 'rnn_wasm.version',
  /** The model's configuration: JSON of its `RNN.create` options (without backend). */
  config: 'rnn_wasm.config',
  /** Checkpoints only: JSON `{ optimizer: { config, step } | null, generator }`. */
  training: 'rnn_wasm.training',
  /** Checkpoints only, when there is any (version 2): JSON of the user's `metadata`, an object of strings. */
  user: 'rnn_wasm.metadata',
} as const;

/** A model's configuration as files hold it: the `RNN.create` options that rebuild it, backend excepted. */
export type ConfigJSON = Omit<RNNOptions, 'backend' | 'wasm'>;

/** The options that rebuild the model; the parts' options only where they differ from the defaults. */
export function configToJSON(config: ModelConfig): ConfigJSON {
  const { nonlinearity, embedding, headOn, tieWeights, names, ...rest } = config;
  for (const key of Object.keys(PYTORCH_BEHAVIOUR)) delete (rest as Record<string, unknown>)[key];
  const changedNames = Object.fromEntries(Object.entries(names).filter(([k, v]) => DEFAULT_NAMES[k as keyof typeof names] !== v));
  return {
    ...rest,
    // Versions 1 and 2 refuse a nonlinearity for gated cells, so a gated cell's default one is left out.
    ...((config.cell === 'rnn' || nonlinearity !== 'tanh') && { nonlinearity }),
    ...behaviours(config),
    ...(embedding && {
      embedding: {
        numEmbeddings: embedding.numEmbeddings,
        embeddingDim: embedding.embeddingDim,
        ...(embedding.paddingIdx !== null && { paddingIdx: embedding.paddingIdx }),
      },
    }),
    ...(headOn !== 'steps' && { headOn }),
    ...(tieWeights && { tieWeights }),
    ...(Object.keys(changedNames).length && { names: changedNames }),
  };
}

/** The options of version 3 whose values differ from PyTorch's behaviour, each stacked core with its non-default options. */
function behaviours(config: ModelConfig): Partial<ConfigJSON> {
  const changed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(PYTORCH_BEHAVIOUR)) {
    if (key !== 'stack' && config[key as keyof typeof PYTORCH_BEHAVIOUR] !== value) changed[key] = config[key as keyof ModelConfig];
  }
  if (config.stack.length) {
    changed.stack = config.stack.map((core) => {
      const entry: Record<string, unknown> = { name: core.name, cell: core.cell, hiddenSize: core.hiddenSize };
      if (core.numLayers !== 1) entry.numLayers = core.numLayers;
      if (core.bidirectional) entry.bidirectional = true;
      if (core.nonlinearity !== 'tanh') entry.nonlinearity = core.nonlinearity;
      if (!core.bias) entry.bias = false;
      for (const key of ['recurrentActivation', 'resetAfter', 'goBackwards', 'reverse', 'mergeMode'] as const) {
        if (core[key] !== PYTORCH_BEHAVIOUR[key]) entry[key] = core[key];
      }
      return entry;
    });
  }
  return changed as Partial<ConfigJSON>;
}

/** A configuration read from a file, checked as `RNN.create` checks options; its mistakes are the file's. */
export function configFromFile(value: unknown, where: string): { options: ConfigJSON; config: ModelConfig } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new FormatError(`${where}: the configuration must be an object, got ${describe(value)}`);
  }
  for (const key of WHERE_IT_RUNS) {
    if (Object.hasOwn(value, key)) throw new FormatError(`${where}: the configuration names '${key}', which is chosen when loading`);
  }
  // RNN.create reads a null option as its default; in a file a null is a damaged value, never a choice.
  const nulls = (v: object, path: string): void => {
    for (const [key, inner] of Object.entries(v)) {
      if (inner === null) throw new FormatError(`${where}: the configuration's ${path}${key} is null`);
      if (typeof inner === 'object') nulls(inner, `${path}${key}.`);
    }
  };
  nulls(value, '');
  try {
    return { options: value as ConfigJSON, config: modelConfig(value as RNNOptions).config };
  } catch (error) {
    if (error instanceof OptionError) throw new FormatError(`${where}: configuration: ${error.message}`);
    throw error;
  }
}

/** Accepts versions 1…FORMAT_VERSION. */
export function checkVersion(value: unknown, where: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new FormatError(`${where}: the format version must be a positive integer, got ${describe(value)}`);
  }
  if ((value as number) > FORMAT_VERSION) {
    throw new VersionError(
      `${where}: written by a newer rnn-wasm, in format version ${value as number}; this version `
        + `reads format version ${FORMAT_VERSION} and older: upgrade rnn-wasm to load it`,
    );
  }
  return value as number;
}

/** The version in a safetensors file's metadata ("1"), or undefined when the file is not one of ours. */
export function metadataVersion(metadata: ReadonlyMap<string, string>, where: string): number | undefined {
  const text = metadata.get(METADATA.version);
  if (text === undefined) return undefined;
  return checkVersion(/^[0-9]{1,15}$/.test(text) ? Number(text) : text, where);
}

/** The user's metadata, as a file gives it: an object of strings, at most 4096 entries (a file's hostile claims end here). */
export function userMetadata(value: unknown, where: string): Record<string, string> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new FormatError(`${where}: the user's metadata must be an object of strings, got ${describe(value)}`);
  }
  const entries = Object.entries(value);
  if (entries.length > 4096) throw new FormatError(`${where}: the user's metadata has ${entries.length} entries, more than 4096`);
  for (const [key, v] of entries) {
    if (typeof v !== 'string') throw new FormatError(`${where}: the user's metadata ${quote(key)} must be a string, got ${describe(v)}`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

/** A metadata value that holds JSON: small by nature, so parsed with tight limits. */
export function metadataJson(metadata: ReadonlyMap<string, string>, key: string, where: string): JsonValue | undefined {
  const text = metadata.get(key);
  return text === undefined ? undefined : parseJson(text, `${where}: metadata ${quote(key)}`, { maxDepth: 8, maxContainers: 64 });
}
