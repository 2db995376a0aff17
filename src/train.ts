/**
 * Mini-batch training over a dataset of sequences, the way PyTorch and Keras users expect it: seeded
 * shuffling; sequences of different lengths batched by similar length and padded (packed-sequence semantics,
 * so padding changes nothing); a learning-rate schedule stepped per epoch; a validation split or set; early
 * stopping that restores the best weights; truncated BPTT over long sequences; and a per-epoch history.
 */
import type { Engine } from './engine.js';
import { OptionError, ShapeError } from './errors.js';
import { type Batch, type LossTarget, NO_STATE } from './inputs.js';
import { outputWidth } from './layout.js';
import { optimizerConfig } from './optimizers.js';
import { seed } from './options.js';
import { bool, checkKeys, numberIn, positiveInt } from './checks.js';
import { type Clipping, clipping, lossKind } from './step-options.js';
import { Random } from './random.js';
import { type ScheduleOptions, createSchedule } from './schedules.js';
import { flatten, toFloatTensor, toIdTensor } from './tensor.js';
import type { LossKind, OptimizerConfig, OptimizerOptions, StepResult, TensorInput } from './types.js';

/** One training example for `train`: a sequence and its target. */
export interface Sample {
  /** One sequence, [T, I] (token ids [T] with an embedding); sequences may differ in length. */
  input: TensorInput;
  /**
   * MSE: [T, O] (a target at every step) or [O] (at the last step only).
   * Cross-entropy: class ids [T] (every step) or a single id (last step only).
   */
  target: TensorInput | number;
}

/** One epoch's numbers, in `TrainHistory.epochs` and `onEpoch`. */
export interface EpochRecord {
  /** The epoch, from 1. */
  epoch: number;
  /** Mean training loss, weighted by the number of sequences in each batch. */
  loss: number;
  /** Mean validation loss, when there is validation data. */
  valLoss?: number | undefined;
  /** The learning rate used during the epoch. */
  lr: number;
  /** Mean gradient norm before clipping. */
  gradNorm: number;
}

/** What `onProgress` receives after every optimizer step. */
export interface TrainProgress {
  /** The current epoch, from 1. */
  epoch: number;
  /** Epochs in the run. */
  epochs: number;
  /** The step within the epoch, from 1. */
  batch: number;
  /** Steps per epoch. */
  batches: number;
  /** This batch's loss. */
  loss: number;
  /** This batch's gradient norm before clipping. */
  gradNorm: number;
  /** Mean loss over the epoch's batches so far. */
  epochLoss: number;
  /** The learning rate of this step. */
  lr: number;
  /** The epochs completed so far. */
  history: readonly EpochRecord[];
}

/** When to stop: after `patience` epochs without the validation loss (or the training loss, without validation data) improving by `minDelta`. */
export interface EarlyStopping {
  /** Epochs without improvement before stopping (default 5). */
  patience?: number | undefined;
  /** The smallest decrease that counts as an improvement (default 0). */
  minDelta?: number | undefined;
  /** Put back the weights of the best epoch when stopping or finishing (default true). */
  restoreBestWeights?: boolean | undefined;
}

/** Options of `train`; each has a default. */
export interface TrainOptions {
  /** Passes over the data (default 1). */
  epochs?: number | undefined;
  /** Sequences per optimizer step (default 32). */
  batchSize?: number | undefined;
  /** Reshuffle the samples every epoch (default true). */
  shuffle?: boolean | undefined;
  /** Seed of the shuffling generator (default: the model's generator). */
  seed?: number | undefined;
  /** 'mse' (default) or 'cross_entropy'. */
  loss?: LossKind | undefined;
  /** The optimizer (default Adam, lr 1e-3). */
  optimizer?: OptimizerOptions | undefined;
  /** A learning-rate schedule, stepped after every epoch (default: constant). */
  schedule?: ScheduleOptions | undefined;
  /** Scale all gradients so that their global L2 norm is at most this. */
  clipGradNorm?: number | undefined;
  /** Clamp every gradient element to [-clipGradValue, clipGradValue] (before clipGradNorm, if both). */
  clipGradValue?: number | undefined;
  /** Hold out this fraction of the dataset (its last samples, as Keras does) for validation. */
  validationSplit?: number | undefined;
  /** Or validate on these samples. */
  validationData?: readonly Sample[] | undefined;
  /** Stop when the validation loss (the training loss without validation data) stops improving. */
  earlyStopping?: EarlyStopping | undefined;
  /**
   * Truncated BPTT: train sequences longer than this in chunks of this many steps, one optimizer step per
   * chunk, carrying the state (detached) from chunk to chunk. Needs a target at every step.
   */
  tbptt?: number | undefined;
  /** Called after every optimizer step. */
  onProgress?: ((progress: TrainProgress) => void) | undefined;
  /** Called after every epoch, with its record appended to the history. */
  onEpoch?: ((record: EpochRecord, history: readonly EpochRecord[]) => void) | undefined;
}

/** What `train` resolves to: the run epoch by epoch. */
export interface TrainHistory {
  /** Every epoch's record. */
  epochs: EpochRecord[];
  /** Training loss per epoch (the same numbers as in `epochs`, for plotting). */
  loss: number[];
  /** Validation loss per epoch, when there is validation data. */
  valLoss: number[];
  /** Learning rate per epoch. */
  lr: number[];
  /** Mean gradient norm per epoch, before clipping. */
  gradNorm: number[];
  /** The epoch (1-based) whose weights the model holds at the end when best weights were restored. */
  bestEpoch?: number | undefined;
  /** Whether early stopping ended training before `epochs`. */
  stoppedEarly: boolean;
}

/** One sequence, checked: x [T, I] (or ids [T]), target [T, O] / [O] (MSE) or ids [T] / [1] (cross-entropy). */
interface Prepared {
  x: Float32Array | Int32Array;
  target: Float32Array | Int32Array;
  T: number;
  lastStep: boolean;
}

/** Let a page repaint and timers fire at least this often while training runs on the calling thread. */
const YIELD_EVERY_MS = 50;
/** Batches are drawn from pools of this many batches' worth of samples, sorted by length within a pool. */
const BUCKET_POOL = 16;

const OPTION_KEYS = [
  'epochs',
  'batchSize',
  'shuffle',
  'seed',
  'loss',
  'optimizer',
  'schedule',
  'clipGradNorm',
  'clipGradValue',
  'validationSplit',
  'validationData',
  'earlyStopping',
  'tbptt',
  'onProgress',
  'onEpoch',
];

/** Training on the engine; if anything throws on the way (a step, a callback), the model is put back as it was. */
export async function trainLoop(model: Engine, data: readonly Sample[], options: TrainOptions): Promise<TrainHistory> {
  checkKeys(options, OPTION_KEYS, 'train');
  const undo = model.mark();
  try {
    return await epochs(model, data, options);
  } catch (error) {
    undo();
    throw error;
  }
}

async function epochs(model: Engine, data: readonly Sample[], options: TrainOptions): Promise<TrainHistory> {
  const modelRandom = model.random;
  const epochs = positiveInt(options.epochs ?? 1, 'train.epochs');
  const batchSize = positiveInt(options.batchSize ?? 32, 'train.batchSize');
  const shuffle = bool(options.shuffle ?? true, 'train.shuffle');
  const kind = lossKind(options.loss);
  const optimizer = optimizerConfig(options.optimizer);
  const schedule = createSchedule(options.schedule, optimizer.lr);
  const clip = clipping(options);
  const tbptt = options.tbptt === undefined ? undefined : positiveInt(options.tbptt, 'train.tbptt');
  for (const name of ['onProgress', 'onEpoch'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw new OptionError(`train.${name} must be a function`);
  }
  const random = options.seed === undefined ? modelRandom : new Random(seed(options.seed, 'train.seed'));

  // Everything is checked before the first step, so that a bad sample cannot stop training half-way.
  const all = prepare(model, data, kind, 'dataset');
  const { train, validation } = splitValidation(model, all, options, kind);
  if (tbptt !== undefined && train.some((s) => s.lastStep)) {
    throw new OptionError('train.tbptt needs a target at every step; a last-step target would only train the final chunk');
  }
  const stopping = earlyStopping(options.earlyStopping);

  const history: TrainHistory = { epochs: [], loss: [], valLoss: [], lr: [], gradNorm: [], stoppedEarly: false };
  let best = { loss: Infinity, epoch: 0, weights: null as Map<string, Float32Array> | null };
  let lastYield = Date.now();
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const lr = schedule.lr;
    const config: OptimizerConfig = { ...optimizer, lr };
    const batches = makeBatches(train, batchSize, shuffle, random, tbptt !== undefined);
    let lossSum = 0;
    let normSum = 0;
    let weight = 0;
    let stepIndex = 0;
    const steps = batches.reduce((n, b) => n + stepCount(train, b, tbptt), 0);
    for (const indices of batches) {
      const samples = indices.map((i) => train[i]);
      for (const result of stepsOnBatch(model, samples, kind, config, clip, tbptt)) {
        lossSum += result.loss * samples.length;
        normSum += result.gradNorm * samples.length;
        weight += samples.length;
        stepIndex += 1;
        options.onProgress?.({
          epoch,
          epochs,
          batch: stepIndex,
          batches: steps,
          loss: result.loss,
          gradNorm: result.gradNorm,
          epochLoss: lossSum / weight,
          lr,
          history: history.epochs,
        });
        if (Date.now() - lastYield > YIELD_EVERY_MS) {
          await new Promise((resolve) => setTimeout(resolve, 0));
          lastYield = Date.now();
        }
      }
    }
    const record: EpochRecord = { epoch, loss: lossSum / weight, lr, gradNorm: normSum / weight };
    if (validation.length) record.valLoss = evaluateSamples(model, validation, kind, batchSize);
    history.epochs.push(record);
    history.loss.push(record.loss);
    if (record.valLoss !== undefined) history.valLoss.push(record.valLoss);
    history.lr.push(lr);
    history.gradNorm.push(record.gradNorm);
    options.onEpoch?.(record, history.epochs);

    const monitored = record.valLoss ?? record.loss;
    schedule.step(monitored);
    if (stopping) {
      if (monitored < best.loss - stopping.minDelta) {
        best = { loss: monitored, epoch, weights: stopping.restoreBestWeights ? model.parameters() : null };
      } else if (epoch - best.epoch >= stopping.patience) {
        history.stoppedEarly = epoch < epochs;
        break;
      }
    }
  }
  if (stopping?.restoreBestWeights && best.weights) {
    model.writeParameters(best.weights);
    history.bestEpoch = best.epoch;
  }
  return history;
}

/** The mean loss of a dataset in inference mode, weighted by sequences per batch. */
function evaluateSamples(model: Engine, samples: readonly Prepared[], kind: LossKind, batchSize: number): number {
  let sum = 0;
  for (const indices of makeBatches(samples, batchSize, false, null, false)) {
    const batch = indices.map((i) => samples[i]);
    const { x, target } = stack(model, batch, kind);
    sum += model.evaluate(x, NO_STATE, target).loss * batch.length;
  }
  return sum / samples.length;
}

/** Checks every sample up front; every target must have the same kind (every step, or the last step). */
function prepare(model: Engine, data: readonly Sample[], kind: LossKind, name: string): Prepared[] {
  if (!Array.isArray(data) || data.length === 0) throw new ShapeError(`train: ${name} must be a non-empty array of { input, target }`);
  const c = model.config;
  const O = outputWidth(c);
  const final = c.headOn === 'final';
  const prepared = data.map((sample, i) => {
    const where = `${name}[${i}]`;
    checkKeys(sample, ['input', 'target'], where);
    const x = c.embedding
      ? toIdTensor(sample.input, `${where}.input`, [null], c.embedding.numEmbeddings, 'token ids')
      : toFloatTensor(sample.input, `${where}.input`, [null, c.inputSize]);
    const T = x.shape[0];
    const single = typeof sample.target === 'number';
    const target = (single ? [sample.target] : sample.target) as TensorInput;
    const rank = flatten(target, `${where}.target`).shape.length;
    // A head on the final states has one output per sequence: its target is one id, or [O] for MSE.
    const lastStep = final || (kind === 'mse' ? rank === 1 : single);
    return kind === 'mse'
      ? { x: x.data, T, lastStep, target: toFloatTensor(target, `${where}.target`, lastStep ? [O] : [T, O]).data }
      : { x: x.data, T, lastStep, target: toIdTensor(target, `${where}.target`, lastStep ? [1] : [T], O).data };
  });
  const mixed = prepared.findIndex((p) => p.lastStep !== prepared[0].lastStep);
  if (mixed >= 0) {
    throw new ShapeError(
      `${name}[${mixed}].target: a ${prepared[mixed].lastStep ? 'last-step' : 'every-step'} target, but ${name}[0] has the other kind; use one kind`,
    );
  }
  return prepared;
}

function splitValidation(model: Engine, all: Prepared[], options: TrainOptions, kind: LossKind) {
  const split = options.validationSplit;
  if (split !== undefined && options.validationData !== undefined) {
    throw new OptionError('train: give validationSplit or validationData, not both');
  }
  if (options.validationData !== undefined) {
    const validation = prepare(model, options.validationData, kind, 'validationData');
    if (validation[0].lastStep !== all[0].lastStep)
      throw new ShapeError("validationData: its targets must be of the same kind as the dataset's");
    return { train: all, validation };
  }
  if (split === undefined || split === 0) return { train: all, validation: [] };
  numberIn(split, 'train.validationSplit', { min: 0, max: 1, above: true, below: true });
  const held = Math.round(all.length * split);
  if (held < 1 || held >= all.length) {
    throw new OptionError(
      `train.validationSplit ${split} of ${all.length} samples leaves ${all.length - held} to train and ${held} to validate; both need at least one`,
    );
  }
  return { train: all.slice(0, all.length - held), validation: all.slice(all.length - held) };
}

function earlyStopping(options: EarlyStopping | undefined) {
  if (options === undefined) return null;
  checkKeys(options, ['patience', 'minDelta', 'restoreBestWeights'], 'train.earlyStopping');
  return {
    patience: positiveInt(options.patience ?? 5, 'train.earlyStopping.patience'),
    minDelta: numberIn(options.minDelta ?? 0, 'train.earlyStopping.minDelta', { min: 0 }),
    restoreBestWeights: bool(options.restoreBestWeights ?? true, 'train.earlyStopping.restoreBestWeights'),
  };
}

/**
 * Batches of sample indices. With shuffling, samples are shuffled, then sorted by length within pools of a
 * few batches so that each batch pads little, and the batches are shuffled again. `sameLength` (truncated
 * BPTT) keeps only sequences of equal length together, so that every chunk of a batch is full.
 */
function makeBatches(
  samples: readonly Prepared[],
  batchSize: number,
  shuffle: boolean,
  random: Random | null,
  sameLength: boolean,
): number[][] {
  const order = samples.map((_, i) => i);
  if (shuffle && random) random.shuffle(order);
  const batches: number[][] = [];
  const pool = sameLength ? order.length : batchSize * BUCKET_POOL;
  for (let start = 0; start < order.length; start += pool) {
    const group = order.slice(start, start + pool).sort((a, b) => samples[a].T - samples[b].T);
    for (let i = 0; i < group.length; ) {
      let end = Math.min(i + batchSize, group.length);
      if (sameLength) while (samples[group[end - 1]].T !== samples[group[i]].T) end--;
      batches.push(group.slice(i, end));
      i = end;
    }
  }
  if (shuffle && random) random.shuffle(batches);
  return batches;
}

/** Optimizer steps a batch takes: one, or one per chunk with truncated BPTT (its sequences share a length). */
function stepCount(samples: readonly Prepared[], batch: number[], tbptt: number | undefined): number {
  return tbptt === undefined ? 1 : Math.ceil(samples[batch[0]].T / tbptt);
}

/** Stacks samples into a time-major batch padded to the longest, with its lengths and loss target. */
function stack(model: Engine, samples: readonly Prepared[], kind: LossKind): { x: Batch; target: LossTarget } {
  const T = samples.reduce((max, s) => Math.max(max, s.T), 0);
  const B = samples.length;
  const I = model.config.embedding ? 1 : model.config.inputSize;
  // Padded positions hold id 0 (any valid id would do: no kernel reads a padded step as input).
  const x = model.config.embedding ? new Int32Array(T * B) : new Float32Array(T * B * I);
  samples.forEach((s, b) => {
    for (let t = 0; t < s.T; t++) x.set(s.x.subarray(t * I, (t + 1) * I), (t * B + b) * I);
  });
  const ragged = samples.some((s) => s.T !== T);
  const lengths = ragged ? Int32Array.from(samples, (s) => s.T) : null;
  const lastStep = samples[0].lastStep;
  const width = kind === 'mse' ? outputWidth(model.config) : 1;
  const rows = lastStep ? 1 : T;
  const stacked = kind === 'mse' ? new Float32Array(rows * B * width) : new Int32Array(rows * B);
  samples.forEach((s, b) => {
    const steps = lastStep ? 1 : s.T;
    for (let t = 0; t < steps; t++) stacked.set(s.target.subarray(t * width, (t + 1) * width), (t * B + b) * width);
  });
  const target: LossTarget =
    kind === 'mse' ? { kind, data: stacked as Float32Array, lastStep } : { kind, ids: stacked as Int32Array, lastStep };
  return { x: { data: x, T, B, lengths }, target };
}

/** One optimizer step per batch, or with truncated BPTT one per chunk of `tbptt` steps, carrying the state. */
function* stepsOnBatch(
  model: Engine,
  samples: readonly Prepared[],
  kind: LossKind,
  optimizer: OptimizerConfig,
  clip: Clipping,
  tbptt: number | undefined,
): Generator<StepResult> {
  const { x, target } = stack(model, samples, kind);
  if (tbptt === undefined || x.T <= tbptt) {
    yield model.step(x, NO_STATE, target, optimizer, clip);
    return;
  }
  let state: { h: Float32Array | null; c: Float32Array | null } = NO_STATE;
  for (const chunk of chunks(model, x, target, tbptt)) {
    const result = model.step(chunk.x, state, chunk.target, optimizer, clip);
    state = { h: result.hN.data, c: result.cN?.data ?? null };
    yield result;
  }
}

/** Consecutive chunks of k steps (the last may be shorter) of a full-length, every-step batch. */
function* chunks(model: Engine, x: Batch, target: LossTarget, k: number): Generator<{ x: Batch; target: LossTarget }> {
  const I = model.config.embedding ? 1 : model.config.inputSize;
  const width = target.kind === 'mse' ? outputWidth(model.config) : 1;
  for (let t0 = 0; t0 < x.T; t0 += k) {
    const T = Math.min(k, x.T - t0);
    const rows = (a: Float32Array | Int32Array, w: number) => a.subarray(t0 * x.B * w, (t0 + T) * x.B * w);
    yield {
      x: { data: rows(x.data, I), T, B: x.B, lengths: null },
      target:
        target.kind === 'mse'
          ? { kind: 'mse', data: rows(target.data, width) as Float32Array, lastStep: false }
          : { kind: 'cross_entropy', ids: rows(target.ids, 1) as Int32Array, lastStep: false },
    };
  }
}
