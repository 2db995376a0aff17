/**
 * Sequence regression on a CSV of numbers. Every column is normalised to mean 0 and standard deviation 1
 * (the statistics stay in the checkpoint, so predictions come back in the file's units). The samples are
 * windows of `seqLen` consecutive rows with a target at every step: by default each column's next value,
 * or with --target one column from the others. Windows are shuffled afresh every epoch from the seed and the
 * epoch number, so that a resumed run draws the same batches; the last `valSplit` of the windows (in time
 * order, as Keras' validation_split) are held out.
 */
import { type RNN, Random } from '../index.js';
import type { NumericTable } from './csv.js';
import { CliError, UsageError } from './errors.js';
import { type CarriedState, type SeriesModel, type StepOutcome, type Task, type TrainSettings, stepOptions } from './task.js';

/** The model's view of a table: which columns go in and come out, and each column's mean and spread. */
export function seriesModel(table: NumericTable, target: string | undefined, path: string): SeriesModel {
  const C = table.columns.length;
  const all = table.columns.map((_, i) => i);
  const mean = all.map((c) => {
    let sum = 0;
    for (let r = 0; r < table.rows; r++) sum += table.values[r * C + c];
    return sum / table.rows;
  });
  // A constant column has no spread; dividing by 1 keeps it at 0 instead of dividing by zero.
  const std = all.map((c) => {
    let sum = 0;
    for (let r = 0; r < table.rows; r++) sum += (table.values[r * C + c] - mean[c]) ** 2;
    return Math.sqrt(sum / table.rows) || 1;
  });
  // Values near ±1e308 overflow the sums: refused here, before training, not in a checkpoint nothing can read.
  const bad = all.find((c) => !Number.isFinite(mean[c]) || !Number.isFinite(std[c]) || Math.fround(std[c]) === 0);
  if (bad !== undefined) {
    throw new CliError(
      `${path}: column ${table.columns[bad]}'s values are too large to normalise (mean ${mean[bad]}, spread `
        + `${std[bad]}); scale the column (e.g. to other units) and train again`,
    );
  }
  const base = { kind: 'series' as const, columns: table.columns, header: table.header, mean, std };
  if (target === undefined) return { ...base, inputs: all, outputs: all, mode: 'next' };
  const k = targetColumn(table, target, path);
  return { ...base, inputs: all.filter((c) => c !== k), outputs: [k], mode: 'target' };
}

/** A column by name, or by number from 1. */
function targetColumn(table: NumericTable, target: string, path: string): number {
  const C = table.columns.length;
  if (C < 2) {
    throw new UsageError(
      `--target needs at least two columns (the others are the inputs), but ${path} has one; `
        + 'leave --target out to predict the next value',
    );
  }
  const byName = table.columns.indexOf(target);
  if (byName >= 0) return byName;
  const n = Number(target);
  if (Number.isInteger(n) && n >= 1 && n <= C) return n - 1;
  throw new UsageError(
    `--target '${target}' is not a column of ${path} (${table.columns.map((c) => `'${c}'`).join(', ')}); `
      + `give one of those names or a number 1…${C}`,
  );
}

/** The table's values in the model's normalised units, as float32, row-major. */
function normalise(table: NumericTable, model: SeriesModel): Float32Array {
  const C = model.columns.length;
  return Float32Array.from(table.values, (v, i) => (v - model.mean[i % C]) / model.std[i % C]);
}

export class SeriesTask implements Task {
  readonly unit = 'seq';
  readonly stepsPerEpoch: number;
  private readonly values: Float32Array;
  private readonly training: number;
  private readonly held: number;
  private order: { epoch: number; starts: number[] } | null = null;

  constructor(
    private readonly model: SeriesModel,
    table: NumericTable,
    private readonly settings: TrainSettings,
    path: string,
  ) {
    if (table.columns.length !== model.columns.length) {
      throw new CliError(`${path} has ${table.columns.length} columns but the model was trained on ${model.columns.length}`);
    }
    this.values = normalise(table, model);
    const T = settings.seqLen;
    const shift = model.mode === 'next' ? 1 : 0;
    const windows = table.rows - T - shift + 1;
    if (windows < 1) {
      throw new UsageError(
        `${path} has ${table.rows} rows; --seq-len ${T} needs at least ${T + shift}${shift ? ' (a window and the row after it)' : ''}; `
          + 'use a smaller --seq-len or a longer series',
      );
    }
    this.held = Math.round(windows * settings.valSplit);
    this.training = windows - this.held;
    if (this.training < 1 || (settings.valSplit > 0 && this.held < 1)) {
      throw new UsageError(
        `--val-split ${settings.valSplit} of ${path}'s ${windows} windows leaves ${this.training} to train `
          + `and ${this.held} to validate; both need at least one (change --val-split or --seq-len)`,
      );
    }
    this.stepsPerEpoch = Math.ceil(this.training / settings.batch);
  }

  describe(): string {
    const m = this.model;
    const what =
      m.mode === 'next'
        ? `the next value of ${m.columns.length === 1 ? `'${m.columns[0]}'` : `all ${m.columns.length} columns`}`
        : `'${m.columns[m.outputs[0]]}' from ${m.inputs.map((c) => `'${m.columns[c]}'`).join(', ')}`;
    const count = (n: number) => n.toLocaleString('en');
    return (
      `${count(this.training + this.held)} windows of ${this.settings.seqLen} rows predicting ${what}: `
      + `${count(this.stepsPerEpoch)} steps per epoch of ${this.settings.batch}`
      + (this.held ? `; the last ${count(this.held)} windows held out for validation` : '')
    );
  }

  step(net: RNN, index: number, epoch: number): StepOutcome {
    const starts = this.epochOrder(epoch).slice(index * this.settings.batch, (index + 1) * this.settings.batch);
    const { x, target } = this.windows(starts);
    return { loss: net.step(x, target, { loss: 'mse', ...stepOptions(this.settings) }).loss, items: starts.length };
  }

  validate(net: RNN): number | undefined {
    if (this.held === 0) return undefined;
    let sum = 0;
    for (let from = this.training; from < this.training + this.held; from += this.settings.batch) {
      const starts = Array.from({ length: Math.min(this.settings.batch, this.training + this.held - from) }, (_, i) => from + i);
      const { x, target } = this.windows(starts);
      sum += net.evaluate(x, target) * starts.length;
    }
    return sum / this.held;
  }

  /** Windows carry no state from one step to the next: each starts from zeros. */
  carried(): CarriedState | null {
    return null;
  }

  restore(state: CarriedState | null): void {
    if (state) throw new CliError('the checkpoint carries a recurrent state, which a CSV model never has; it is damaged');
  }

  /** The training windows' start rows in this epoch's order: a shuffle seeded by the run's seed and the epoch. */
  private epochOrder(epoch: number): number[] {
    if (this.order?.epoch !== epoch) {
      const random = new Random((this.settings.seed + Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
      this.order = { epoch, starts: random.shuffle(Array.from({ length: this.training }, (_, i) => i)) };
    }
    return this.order.starts;
  }

  /** Windows starting at the given rows: inputs [T, B, I] and targets [T, B, O]. */
  private windows(starts: readonly number[]) {
    const m = this.model;
    const T = this.settings.seqLen;
    const B = starts.length;
    const C = m.columns.length;
    const [I, O] = [m.inputs.length, m.outputs.length];
    const shift = m.mode === 'next' ? 1 : 0;
    const x = new Float32Array(T * B * I);
    const y = new Float32Array(T * B * O);
    starts.forEach((start, b) => {
      for (let t = 0; t < T; t++) {
        const row = (start + t) * C;
        m.inputs.forEach((c, i) => (x[(t * B + b) * I + i] = this.values[row + c]));
        m.outputs.forEach((c, o) => (y[(t * B + b) * O + o] = this.values[row + shift * C + c]));
      }
    });
    return { x: { data: x, shape: [T, B, I] }, target: { data: y, shape: [T, B, O] } };
  }
}
