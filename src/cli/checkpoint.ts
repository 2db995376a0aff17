/**
 * The command line's checkpoint: the library's own checkpoint (`net.save()`: configuration, weights,
 * optimizer and generator state, bit for bit) wrapped with what only the command line knows — the
 * vocabulary or the CSV columns and their normalisation, the run's settings, its step count and loss
 * history, and the state carried between chunks — so that generate, predict and --resume need nothing but
 * this one file.
 *
 * Layout, little-endian:
 *   8 bytes   "RNNW-CLI"
 *   u32       format version (CHECKPOINT_FORMAT)
 *   u32       n, the byte length of the metadata
 *   n bytes   metadata, UTF-8 JSON (CheckpointMeta)
 *   the rest  the model, as `net.save()` wrote it and `RNN.load()` reads it
 *
 * A reader refuses a newer format instead of guessing at it, and checks that the metadata and the model
 * inside belong together before anything uses them.
 */
import { RNN } from '../index.js';
import { CliError } from './errors.js';
import { readBytes } from './files.js';
import { type CarriedState, CELLS, type ModelData, OPTIMIZERS, type TrainSettings, inputSize, outputSize } from './task.js';
import { packageVersion } from './version.js';

const CHECKPOINT_FORMAT = 1;
const MAGIC = 'RNNW-CLI';
const HEADER = MAGIC.length + 8;

/** One finished epoch, as the history keeps it. */
export interface EpochSummary {
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
  /** The rnn-wasm version that wrote it, for messages. */
  writer: string;
  model: ModelData;
  settings: TrainSettings;
  /** The training file's name and SHA-256, so that --resume can tell it was given the same data. */
  data: { file: string; sha256: string };
  run: RunRecord;
  carried: CarriedState | null;
}

export function encodeCheckpoint(net: RNN, meta: Omit<CheckpointMeta, 'writer'>): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify({ writer: `rnn-wasm ${packageVersion()}`, ...meta }));
  const model = net.save();
  const bytes = new Uint8Array(HEADER + json.length + model.length);
  bytes.set(new TextEncoder().encode(MAGIC));
  const view = new DataView(bytes.buffer);
  view.setUint32(MAGIC.length, CHECKPOINT_FORMAT, true);
  view.setUint32(MAGIC.length + 4, json.length, true);
  bytes.set(json, HEADER);
  bytes.set(model, HEADER + json.length);
  return bytes;
}

/** Reads and checks a checkpoint: the model comes back as it was saved, optimizer and generator included. */
export async function readCheckpoint(path: string): Promise<{ net: RNN; meta: CheckpointMeta }> {
  const bytes = readBytes(path, 'a checkpoint written by rnn-wasm train');
  const notOurs = `${path} is not an rnn-wasm checkpoint; give a file written by rnn-wasm train`;
  if (bytes.length < HEADER || new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) throw new CliError(notOurs);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const format = view.getUint32(MAGIC.length, true);
  if (format > CHECKPOINT_FORMAT) {
    throw new CliError(`${path} was written by a newer rnn-wasm (checkpoint format ${format}; rnn-wasm ${packageVersion()} `
      + `reads format ${CHECKPOINT_FORMAT}); upgrade rnn-wasm to use it`);
  }
  const damaged = (why: string) => new CliError(`${path} is damaged (${why}); train again or use an earlier copy`);
  if (format < 1) throw damaged(`format ${format}`);
  const length = view.getUint32(MAGIC.length + 4, true);
  if (HEADER + length >= bytes.length) throw damaged('truncated');
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(HEADER, HEADER + length)));
  } catch {
    throw damaged('its metadata is not JSON');
  }
  const problem = metaProblem(meta);
  if (problem) throw damaged(problem);
  let net: RNN;
  try {
    net = await RNN.load(bytes.slice(HEADER + length));
  } catch (error) {
    throw new CliError(`${path}: the model inside cannot be loaded (${(error as Error).message})`);
  }
  const mismatch = modelMismatch(net, meta);
  if (mismatch) {
    net.dispose();
    throw new CliError(`${path}: its model and its metadata belong to different models (${mismatch}); train again`);
  }
  return { net, meta };
}

/** What the model inside disagrees on with the metadata, or null when they agree. */
function modelMismatch(net: RNN, meta: CheckpointMeta): string | null {
  const c = net.config;
  const s = meta.settings;
  const pairs: [string, unknown, unknown][] = [
    ['inputs', c.inputSize, inputSize(meta.model)], ['outputs', c.outputSize, outputSize(meta.model)],
    ['cell', c.cell, s.cell], ['hidden size', c.hiddenSize, s.hidden], ['layers', c.numLayers, s.layers],
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
    if (!Array.isArray(model.vocab) || model.vocab.length < 1 || !model.vocab.every((ch) => typeof ch === 'string' && [...ch].length === 1)) {
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
