/**
 * The command line's checkpoint is the library's own (`net.save()`: configuration, weights, optimizer and
 * generator state, bit for bit), with what only the command line knows in its metadata: under one key,
 * `rnn-wasm-cli`, the JSON of the vocabulary or the CSV columns and their normalisation, the run's settings,
 * its step count and loss history, the state carried between chunks and the training file's hash, so that
 * generate, predict and --resume need nothing but this one file, and `RNN.load` opens it in any program.
 *
 * A reader refuses a newer format instead of guessing at it, and checks that the metadata and the model
 * belong together before anything uses them. A file that is no such checkpoint is named for what it is: a
 * library checkpoint without the command line's metadata, PyTorch weights (which `generate --vocab` reads as
 * a word language model), a damaged file, or something else entirely.
 */
import { RNN, VersionError } from '../index.js';
import { CliError } from './errors.js';
import { readBytes } from './files.js';
import { type CarriedState, CELLS, type ModelData, OPTIMIZERS, type TrainSettings, inputSize, outputSize } from './task.js';
import { packageVersion } from './version.js';

/** The metadata key of the command line's part of a checkpoint. */
const METADATA_KEY = 'rnn-wasm-cli';
/** Raised when an older reader would misread a newer file. Format 1 was a container of its own around the model. */
const CHECKPOINT_FORMAT = 2;
/** The first bytes of a format-1 file. */
const FORMAT_1_MAGIC = 'RNNW-CLI';

/** One finished epoch, as the history keeps it. */
interface EpochSummary {
  epoch: number;
  loss: number;
  valLoss?: number;
}

/** Where a run is and how it went so far. */
export interface RunRecord {
  /** Optimizer steps taken since the start of the run. */
  step: number;
  /** Every step's loss. */
  losses: number[];
  epochs: EpochSummary[];
}

export interface CheckpointMeta {
  /** CHECKPOINT_FORMAT when written. */
  format: number;
  /** The rnn-wasm version that wrote it, for messages. */
  writer: string;
  model: ModelData;
  settings: TrainSettings;
  /** The training file's name and SHA-256, so that --resume can tell it was given the same data. */
  data: { file: string; sha256: string };
  run: RunRecord;
  carried: CarriedState | null;
}

export function encodeCheckpoint(net: RNN, meta: Omit<CheckpointMeta, 'format' | 'writer'>): Uint8Array {
  const text = JSON.stringify({ format: CHECKPOINT_FORMAT, writer: `rnn-wasm ${packageVersion()}`, ...meta });
  return net.save({ metadata: { [METADATA_KEY]: text } });
}

/** What a model file turned out to be; each holds a loaded model that the caller disposes. */
export type ModelFile =
  | { kind: 'checkpoint'; net: RNN; meta: CheckpointMeta }
  /** `net.save()` of some program: a model without the command line's metadata. */
  | { kind: 'library'; net: RNN }
  /** Weights without training state: PyTorch's `state_dict` as safetensors (or `net.toSafetensors()`). */
  | { kind: 'weights'; net: RNN };

/** Reads a checkpoint of rnn-wasm train and checks it; anything else is refused by what it is. */
export async function readCheckpoint(path: string): Promise<{ net: RNN; meta: CheckpointMeta }> {
  const file = await readModelFile(path);
  if (file.kind === 'checkpoint') return file;
  file.net.dispose();
  throw notCheckpointError(path, file);
}

/** Why a model file that is not a checkpoint of rnn-wasm train cannot serve as one. */
export function notCheckpointError(path: string, file: Exclude<ModelFile, { kind: 'checkpoint' }>): CliError {
  if (file.kind === 'library') {
    return new CliError(
      `${path} is a checkpoint of the rnn-wasm library without rnn-wasm train's metadata (its '${METADATA_KEY}' entry: `
        + 'the vocabulary or columns, the settings); give a file written by rnn-wasm train',
    );
  }
  return new CliError(
    `${path} holds weights without training state (as PyTorch saves them), not a checkpoint of rnn-wasm train; `
      + `give a file written by rnn-wasm train${file.net.config.embedding ? ` (or generate from this word model: ${wordCommand(path)})` : ''}`,
  );
}

const wordCommand = (path: string) => `rnn-wasm generate ${path} --vocab <vocab.json>`;

/**
 * A model file of any kind the command line reads: a checkpoint of rnn-wasm train (checked whole, the model
 * as it was saved, optimizer and generator included), another program's `net.save()`, or PyTorch weights.
 */
export async function readModelFile(path: string): Promise<ModelFile> {
  const bytes = readBytes(path, 'a checkpoint written by rnn-wasm train');
  if (new TextDecoder().decode(bytes.subarray(0, FORMAT_1_MAGIC.length)) === FORMAT_1_MAGIC) {
    throw new CliError(
      `${path} is a checkpoint of an earlier rnn-wasm (format 1; rnn-wasm ${packageVersion()} reads format `
        + `${CHECKPOINT_FORMAT}); train again with this version`,
    );
  }
  let net: RNN;
  try {
    net = await RNN.load(bytes);
  } catch (error) {
    return { kind: 'weights', net: await readWeights(path, bytes, error as Error) };
  }
  const text = net.metadata[METADATA_KEY];
  if (text === undefined) return { kind: 'library', net };
  try {
    return { kind: 'checkpoint', net, meta: checkMeta(path, net, text) };
  } catch (error) {
    net.dispose();
    throw error;
  }
}

/** The model of a file that `RNN.load` refused (`loadError`): weights, or a message for what the file is instead. */
async function readWeights(path: string, bytes: Uint8Array, loadError: Error): Promise<RNN> {
  if (loadError instanceof VersionError) {
    throw new CliError(`${path} was written by a newer rnn-wasm (${loadError.message}); upgrade rnn-wasm to use it`);
  }
  try {
    return await RNN.fromSafetensors(bytes);
  } catch (weightsError) {
    // safetensors begins with its header's length, a u64 far below 2³², then the header's JSON object.
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const safetensors = bytes.length > 8 && view.getUint32(4, true) === 0 && bytes[8] === 0x7b;
    if (!safetensors) throw new CliError(`${path} is not an rnn-wasm checkpoint; give a file written by rnn-wasm train`);
    const message = (weightsError as Error).message;
    // Both readers stopping at the same point means the container itself is broken, whatever it held.
    if (message === loadError.message) throw new CliError(`${path} is damaged (${message}); train again or use an earlier copy`);
    throw new CliError(
      `${path} is neither a checkpoint of rnn-wasm train (${loadError.message}) nor weights of a recurrent model (${message})`,
    );
  }
}

/** The command line's metadata of a loaded checkpoint, checked on its own and against the model. */
function checkMeta(path: string, net: RNN, text: string): CheckpointMeta {
  const damaged = (why: string) => new CliError(`${path} is damaged (${why}); train again or use an earlier copy`);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(text);
  } catch {
    throw damaged('its metadata is not JSON');
  }
  const format = (meta as { format?: unknown } | null)?.format;
  if (!Number.isSafeInteger(format) || (format as number) < CHECKPOINT_FORMAT) throw damaged(`format ${String(format)}`);
  if ((format as number) > CHECKPOINT_FORMAT) {
    throw new CliError(
      `${path} was written by a newer rnn-wasm (checkpoint format ${format}; rnn-wasm ${packageVersion()} `
        + `reads format ${CHECKPOINT_FORMAT}); upgrade rnn-wasm to use it`,
    );
  }
  const problem = metaProblem(meta);
  if (problem) throw damaged(problem);
  const mismatch = modelMismatch(net, meta);
  if (mismatch) throw new CliError(`${path}: its model and its metadata belong to different models (${mismatch}); train again`);
  return meta;
}

/** What the model inside disagrees on with the metadata, or null when they agree. */
function modelMismatch(net: RNN, meta: CheckpointMeta): string | null {
  const c = net.config;
  const s = meta.settings;
  const pairs: [string, unknown, unknown][] = [
    ['inputs', c.inputSize, inputSize(meta.model)],
    ['outputs', c.outputSize, outputSize(meta.model)],
    ['cell', c.cell, s.cell],
    ['hidden size', c.hiddenSize, s.hidden],
    ['layers', c.numLayers, s.layers],
    ['bidirectional', c.bidirectional, false],
  ];
  const bad = pairs.find(([, actual, expected]) => actual !== expected);
  return bad ? `${bad[0]}: the model has ${String(bad[1])}, the metadata says ${String(bad[2])}` : null;
}

/** The first thing wrong with metadata read from a file, or null. Only what the commands rely on is checked. */
function metaProblem(meta: CheckpointMeta): string | null {
  const isInt = (v: unknown, min = 0) => Number.isSafeInteger(v) && (v as number) >= min;
  const numbers = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (meta === null || typeof meta !== 'object') return 'no metadata';
  const { model, settings: s, run, data } = meta;
  if (!model || typeof model !== 'object') return 'no model description';
  if (model.kind === 'text') {
    if (
      !Array.isArray(model.vocab)
      || model.vocab.length < 1
      || !model.vocab.every((ch) => typeof ch === 'string' && [...ch].length === 1)
    ) {
      return 'a bad vocabulary';
    }
    if (!model.vocab.includes(model.start)) return 'a start character outside the vocabulary';
  } else if (model.kind === 'series') {
    const C = Array.isArray(model.columns) ? model.columns.length : 0;
    const column = (i: unknown) => isInt(i) && (i as number) < C;
    if (!C || !model.columns.every((n) => typeof n === 'string')) return 'bad column names';
    if (!Array.isArray(model.inputs) || !model.inputs.length || !model.inputs.every(column)) return 'bad input columns';
    if (!Array.isArray(model.outputs) || !model.outputs.length || !model.outputs.every(column)) return 'bad output columns';
    if (model.mode !== 'next' && model.mode !== 'target') return `an unknown mode '${String(model.mode)}'`;
    if (!numbers(model.mean) || !numbers(model.std) || model.mean.length !== C || model.std.length !== C) return 'bad normalisation';
  } else {
    return `an unknown kind of model '${String((model as { kind?: unknown }).kind)}'`;
  }
  if (!s || typeof s !== 'object' || !CELLS.includes(s.cell) || !OPTIMIZERS.includes(s.optimizer)) return 'bad settings';
  if (![s.hidden, s.layers, s.seqLen, s.batch, s.epochs].every((v) => isInt(v, 1)) || !isInt(s.seed)) return 'bad settings';
  if (!(s.steps === null || isInt(s.steps, 1)) || !numbers([s.lr, s.clip, s.valSplit])) return 'bad settings';
  if (!run || !isInt(run.step) || !numbers(run.losses) || !Array.isArray(run.epochs)) return 'a bad run record';
  if (!data || typeof data.sha256 !== 'string' || typeof data.file !== 'string') return 'no record of its training data';
  if (meta.carried !== null && (!meta.carried || !numbers(meta.carried.h) || !(meta.carried.c === undefined || numbers(meta.carried.c)))) {
    return 'a bad carried state';
  }
  return null;
}
