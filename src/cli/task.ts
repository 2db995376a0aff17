/**
 * The two kinds of data the command line trains on, behind one interface the training loop drives: a text
 * (a character model, src/cli/text-task.ts) and a CSV of numbers (a sequence regressor, series-task.ts).
 */
import { RNN } from '../index.js';

export const CELLS = ['rnn', 'lstm', 'gru'] as const;
type CellKind = (typeof CELLS)[number];
export const OPTIMIZERS = ['adam', 'adamw', 'sgd', 'rmsprop', 'adagrad'] as const;
export type OptimizerKind = (typeof OPTIMIZERS)[number];

/** Everything that shapes a training run; a checkpoint keeps it so that --resume goes on the same way. */
export interface TrainSettings {
  cell: CellKind;
  hidden: number;
  layers: number;
  /** Steps per chunk (text) or per window (CSV). */
  seqLen: number;
  /** Streams (text) or windows (CSV) per step. */
  batch: number;
  optimizer: OptimizerKind;
  lr: number;
  /** Largest global gradient norm; 0 for no clipping. */
  clip: number;
  epochs: number;
  /** Stop after this many steps in all, before the epochs are done; null to run every epoch. */
  steps: number | null;
  seed: number;
  /** The fraction held out for validation (the end of the text, the last windows of a series). */
  valSplit: number;
}

/** A character model: the characters it knows, in the order of its one-hot inputs and logits. */
export interface TextModel {
  kind: 'text';
  vocab: string[];
  /** The training text's first character: the prompt when `generate` is given none. */
  start: string;
}

/** A sequence regressor over the columns of a CSV, in normalised units (value − mean) / std. */
export interface SeriesModel {
  kind: 'series';
  columns: string[];
  /** Whether the training file had a header, so that predict matches columns by name (else by position). */
  header: boolean;
  /** Column indices fed in at each step. */
  inputs: number[];
  /** Column indices predicted at each step. */
  outputs: number[];
  /** 'next': predict every column's next value; 'target': predict the target column from the others. */
  mode: 'next' | 'target';
  mean: number[];
  std: number[];
}

export type ModelData = TextModel | SeriesModel;

/** State carried from one step to the next (text: the hidden state between chunks), as JSON can hold it. */
export interface CarriedState {
  h: number[];
  c?: number[];
}

export interface StepOutcome {
  loss: number;
  /** Tokens or sequences this step trained on, for the speed. */
  items: number;
}

export interface Task {
  /** What `items` counts: 'tok' (characters) or 'seq' (windows). */
  readonly unit: 'tok' | 'seq';
  readonly stepsPerEpoch: number;
  /** One optimizer step: the `index`-th of `epoch` (both from 0). */
  step(net: RNN, index: number, epoch: number): StepOutcome;
  /** The mean loss on the held-out data, in inference mode; undefined without validation data. */
  validate(net: RNN): number | undefined;
  carried(): CarriedState | null;
  restore(state: CarriedState | null): void;
  /** One line about the data, for the start of a run. */
  describe(): string;
}

export const inputSize = (data: ModelData) => (data.kind === 'text' ? data.vocab.length : data.inputs.length);
export const outputSize = (data: ModelData) => (data.kind === 'text' ? data.vocab.length : data.outputs.length);

export function createModel(settings: TrainSettings, data: ModelData): Promise<RNN> {
  return RNN.create({
    cell: settings.cell,
    inputSize: inputSize(data),
    hiddenSize: settings.hidden,
    numLayers: settings.layers,
    outputSize: outputSize(data),
    seed: settings.seed,
  });
}

/** The optimizer options of a step: the family with PyTorch's defaults, at the run's learning rate. */
export function stepOptions(settings: TrainSettings) {
  return {
    optimizer: { kind: settings.optimizer, lr: settings.lr },
    ...(settings.clip > 0 && { clipGradNorm: settings.clip }),
  };
}
