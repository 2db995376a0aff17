/**
 * Weights to and from PyTorch as safetensors: the `state_dict` layout (names, shapes, row-major float32),
 * which `safetensors.torch.load_file` and `model.load_state_dict` read as they are, and which a model's
 * `save_file(model.state_dict(), path)` gives.
 *
 * Importing infers the architecture from the tensors (infer.ts). What tensors cannot tell (nonlinearity,
 * batchFirst, dropout, seed) comes from the options, else from the configuration in the metadata when this
 * library wrote the file, else the defaults. A file whose metadata contradicts its tensors is refused.
 */
import { FormatError, NonFiniteError, OptionError } from '../errors.js';
import type { ModelConfig } from '../layout.js';
import type { RNN } from '../model.js';
import { type RNNOptions, checkKeys } from '../options.js';
import { firstNonFinite, type Tensor } from '../tensor.js';
import type { CreateModel } from './checkpoint.js';
import { describe, quote } from './describe.js';
import { FORMAT_VERSION, METADATA, type ConfigJSON, configFromFile, configToJSON, metadataJson, metadataVersion } from './format.js';
import { type Architecture, type NamePrefixes, inferArchitecture } from './infer.js';
import { parseSafetensors, readFloat32, writeSafetensors } from './safetensors.js';

/** What the tensors leave open, the names to look under, and where the model runs. */
export interface SafetensorsOptions extends NamePrefixes,
  Pick<RNNOptions, 'nonlinearity' | 'batchFirst' | 'dropout' | 'seed' | 'backend' | 'wasm'> {}

const OPTION_KEYS = ['prefix', 'headPrefix', 'nonlinearity', 'batchFirst', 'dropout', 'seed', 'backend', 'wasm'] as const;

/** Options that tensors do not determine, taken from the options first and the file's metadata second. */
const OPEN_KEYS = ['nonlinearity', 'batchFirst', 'dropout', 'seed'] as const;

export function exportSafetensors(net: RNN): Uint8Array {
  const tensors = Object.entries(net.stateDict()).map(([name, t]) => ({ name, ...t }));
  return writeSafetensors(tensors, new Map([
    ['format', 'pt'],
    [METADATA.version, String(FORMAT_VERSION)],
    [METADATA.config, JSON.stringify(configToJSON(net.config))],
  ]));
}

export async function importSafetensors(bytes: Uint8Array, options: SafetensorsOptions, create: CreateModel): Promise<RNN> {
  const where = 'RNN.fromSafetensors';
  checkKeys(options, OPTION_KEYS, where);
  for (const key of ['prefix', 'headPrefix'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'string') {
      throw new OptionError(`${where}: ${key} must be a string, got ${describe(options[key])}`);
    }
  }
  const file = parseSafetensors(bytes);
  if (file.metadata.has(METADATA.training)) {
    throw new FormatError(`${where}: this is an rnn-wasm checkpoint (weights and training state); load it with RNN.load`);
  }
  const stored = storedConfig(file.metadata, where);
  const { architecture, fileNames } = inferArchitecture(file.tensors, options);
  if (stored) checkAgainstTensors(stored.config, architecture, where);

  const entries = new Map(file.tensors.map((t) => [t.name, t]));
  const dict: Record<string, Tensor> = {};
  for (const [name, fileName] of fileNames) {
    const entry = entries.get(fileName)!;
    const data = readFloat32(file, entry);
    const bad = firstNonFinite(data);
    if (bad >= 0) throw new NonFiniteError(`${where}: tensor ${quote(fileName)} element ${bad} is ${data[bad]}`);
    dict[name] = { data, shape: entry.shape };
  }
  const open = Object.fromEntries(OPEN_KEYS.map((key) => [key, options[key] ?? stored?.options[key]]));
  const net = await create({ ...architecture, ...open, backend: options.backend, wasm: options.wasm });
  try {
    net.loadStateDict(dict);
    return net;
  } catch (error) {
    net.dispose();
    throw error;
  }
}

/** The configuration this library writes into the metadata, when the file is one of ours. */
function storedConfig(metadata: ReadonlyMap<string, string>, where: string): { options: ConfigJSON; config: ModelConfig } | undefined {
  if (metadataVersion(metadata, where) === undefined) return undefined;
  const json = metadataJson(metadata, METADATA.config, where);
  return json === undefined ? undefined : configFromFile(json, `${where}: metadata ${quote(METADATA.config)}`);
}

function checkAgainstTensors(stored: ModelConfig, architecture: Architecture, where: string): void {
  for (const key of Object.keys(architecture) as (keyof Architecture)[]) {
    if (stored[key] !== architecture[key]) {
      throw new FormatError(`${where}: the metadata's configuration says ${key} ${String(stored[key])}, but the `
        + `tensors say ${String(architecture[key])}`);
    }
  }
}
