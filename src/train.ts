/**
 * Mini-batch training over a dataset of sequences. Sequences of equal length are stacked into time-major
 * batches (different lengths never share a batch, so no padding is needed), batches are reshuffled every
 * epoch from a seeded generator, and each batch is one `step`.
 */
import { OptionError, ShapeError } from './errors.js';
import { outputWidth } from './layout.js';
import type { LossTarget, RNN, StepResult } from './model.js';
import { type OptimizerConfig, type OptimizerOptions, optimizerConfig } from './optimizers.js';
import { type Clipping, type LossKind, checkKeys, clipping, lossKind, nonNegativeInt, positiveInt } from './options.js';
import { Random } from './random.js';
import { type TensorInput, flatten, toFloatTensor, toIdTensor } from './tensor.js';

export interface Sample {
  /** One sequence, [T, I]. */
  input: TensorInput;
  /**
   * MSE: [T, O] (a target at every step) or [O] (at the last step only).
   * Cross-entropy: class ids [T] (every step) or a single id (last step only).
   */
  target: TensorInput | number;
}

export interface TrainProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  /** This batch's loss. */
  loss: number;
  /** This batch's gradient norm before clipping. */
  gradNorm: number;
  /** Mean loss over the epoch's batches so far, weighted by batch size. */
  epochLoss: number;
}

export interface TrainOptions {
  epochs?: number;
  batchSize?: number;
  /** Reshuffle the samples every epoch (default true). */
  shuffle?: boolean;
  /** Seed of the shuffling generator (default: the model's generator). */
  seed?: number;
  loss?: LossKind;
  optimizer?: OptimizerOptions;
  clipGradNorm?: number;
  clipGradValue?: number;
  /** Called after every batch. */
  onProgress?: (progress: TrainProgress) => void;
}

export interface TrainHistory {
  /** Mean training loss of each epoch, weighted by batch size. */
  loss: number[];
  /** Mean gradient norm (before clipping) of each epoch. */
  gradNorm: number[];
}

interface PreparedSample {
  x: Float32Array; // [T, I]
  target: Float32Array | Int32Array;
  T: number;
  lastStep: boolean;
}

/** Let a page repaint and timers fire at least this often while training runs on the calling thread. */
const YIELD_EVERY_MS = 50;

export async function trainLoop(model: RNN, data: readonly Sample[], options: TrainOptions,
  modelRandom: Random): Promise<TrainHistory> {
  checkKeys(options, ['epochs', 'batchSize', 'shuffle', 'seed', 'loss', 'optimizer', 'clipGradNorm', 'clipGradValue', 'onProgress'], 'train');
  const epochs = positiveInt(options.epochs ?? 1, 'train.epochs');
  const batchSize = positiveInt(options.batchSize ?? 32, 'train.batchSize');
  const kind = lossKind(options.loss);
  const optimizer = optimizerConfig(options.optimizer);
  const clip = clipping(options);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new OptionError('train.onProgress must be a function');
  }
  const random = options.seed === undefined ? modelRandom : new Random(nonNegativeInt(options.seed, 'train.seed'));
  const samples = prepare(model, data, kind);

  const history: TrainHistory = { loss: [], gradNorm: [] };
  let lastYield = Date.now();
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = samples.map((_, i) => i);
    if (options.shuffle ?? true) random.shuffle(order);
    const batches = makeBatches(order, samples, batchSize);
    if (options.shuffle ?? true) random.shuffle(batches);
    let lossSum = 0;
    let normSum = 0;
    let seen = 0;
    for (let i = 0; i < batches.length; i++) {
      const batch = batches[i].map((j) => samples[j]);
      const result: StepResult = stepOnBatch(model, batch, kind, optimizer, clip);
      lossSum += result.loss * batch.length;
      normSum += result.gradNorm * batch.length;
      seen += batch.length;
      options.onProgress?.({ epoch: epoch + 1, epochs, batch: i + 1, batches: batches.length, loss: result.loss,
        gradNorm: result.gradNorm, epochLoss: lossSum / seen });
      if (Date.now() - lastYield > YIELD_EVERY_MS) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        lastYield = Date.now();
      }
    }
    history.loss.push(lossSum / seen);
    history.gradNorm.push(normSum / seen);
  }
  return history;
}

/** Checks every sample up front, so that a bad one fails before any weight changes. */
function prepare(model: RNN, data: readonly Sample[], kind: LossKind): PreparedSample[] {
  if (!Array.isArray(data) || data.length === 0) throw new ShapeError('train: the dataset must be a non-empty array of { input, target }');
  const c = model.config;
  const O = outputWidth(c);
  let lastStep: boolean | undefined;
  return data.map((sample, i) => {
    const where = `dataset[${i}]`;
    checkKeys(sample, ['input', 'target'], where);
    const x = toFloatTensor(sample.input, `${where}.input`, [null, c.inputSize]);
    const T = x.shape[0];
    const targetValue = (typeof sample.target === 'number' ? [sample.target] : sample.target) as TensorInput;
    const rank = flatten(targetValue, `${where}.target`).shape.length;
    let prepared: PreparedSample;
    if (kind === 'mse') {
      const last = rank === 1;
      const t = toFloatTensor(targetValue, `${where}.target`, last ? [O] : [T, O]);
      prepared = { x: x.data, target: t.data, T, lastStep: last };
    } else {
      const last = typeof sample.target === 'number';
      const t = toIdTensor(targetValue, `${where}.target`, last ? [1] : [T], O);
      prepared = { x: x.data, target: t.data, T, lastStep: last };
    }
    lastStep ??= prepared.lastStep;
    if (prepared.lastStep !== lastStep) {
      throw new ShapeError(`${where}.target: mixes a last-step target with every-step targets in dataset[0]; use one kind`);
    }
    return prepared;
  });
}

/** Batches of up to batchSize samples of one length, in the order given. */
function makeBatches(order: number[], samples: PreparedSample[], batchSize: number): number[][] {
  const byLength = new Map<number, number[]>();
  for (const i of order) {
    const bucket = byLength.get(samples[i].T) ?? [];
    bucket.push(i);
    byLength.set(samples[i].T, bucket);
  }
  const batches: number[][] = [];
  for (const bucket of byLength.values()) {
    for (let i = 0; i < bucket.length; i += batchSize) batches.push(bucket.slice(i, i + batchSize));
  }
  return batches;
}

/** Stacks samples of one length into time-major [T, B, ·] tensors and takes one optimizer step. */
function stepOnBatch(model: RNN, batch: PreparedSample[], kind: LossKind,
  optimizer: OptimizerConfig, clip: Clipping): StepResult {
  const T = batch[0].T;
  const B = batch.length;
  const I = model.config.inputSize;
  const x = new Float32Array(T * B * I);
  batch.forEach((s, b) => {
    for (let t = 0; t < T; t++) x.set(s.x.subarray(t * I, (t + 1) * I), (t * B + b) * I);
  });
  const lastStep = batch[0].lastStep;
  const width = kind === 'mse' ? outputWidth(model.config) : 1;
  const steps = lastStep ? 1 : T;
  const stacked = kind === 'mse' ? new Float32Array(steps * B * width) : new Int32Array(steps * B);
  batch.forEach((s, b) => {
    for (let t = 0; t < steps; t++) stacked.set(s.target.subarray(t * width, (t + 1) * width), (t * B + b) * width);
  });
  const target: LossTarget = kind === 'mse'
    ? { kind, data: stacked as Float32Array, lastStep }
    : { kind, ids: stacked as Int32Array, lastStep };
  return model.stepBatch({ x, T, B, lengths: null }, { h: null, c: null }, target, optimizer, clip);
}
