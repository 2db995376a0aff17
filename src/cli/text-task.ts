/**
 * Character-level training on one long text, the char-rnn way: the text is cut into `batch` consecutive
 * streams, one per batch column, and each step trains on the next `seqLen` characters of every stream with
 * the hidden state carried over from the previous chunk (truncated BPTT: `step` with `h0: previous.hN`).
 * An epoch is one pass over the streams and starts from a zero state.
 */
import type { RNN, Tensor } from '../index.js';
import { CliError, UsageError } from './errors.js';
import { type CarriedState, type StepOutcome, type Task, type TextModel, type TrainSettings, stepOptions } from './task.js';

/** The model's view of a text: its characters, sorted, and where the text starts. */
export function textModel(text: string): TextModel {
  return { kind: 'text', vocab: [...new Set(text)].sort(), start: [...text][0] };
}

/** The text as vocabulary ids; `what` names the text for the message about characters the model lacks. */
export function encode(text: string, model: TextModel, what: string): Int32Array {
  const index = new Map(model.vocab.map((ch, i) => [ch, i]));
  const chars = [...text];
  const unknown = [...new Set(chars.filter((ch) => !index.has(ch)))];
  if (unknown.length) {
    const shown = unknown
      .slice(0, 8)
      .map((ch) => JSON.stringify(ch))
      .join(', ');
    throw new CliError(
      `${what} has ${unknown.length} character${unknown.length > 1 ? 's' : ''} the model never saw (${shown}${unknown.length > 8 ? ', …' : ''}); `
        + 'use only characters of the text it was trained on',
    );
  }
  return Int32Array.from(chars, (ch) => index.get(ch)!);
}

export class TextTask implements Task {
  readonly unit = 'tok';
  readonly stepsPerEpoch: number;
  private readonly ids: Int32Array;
  private readonly validation: Int32Array;
  private readonly streamLength: number;
  private state: { h: Tensor; c?: Tensor } | null = null;

  constructor(
    private readonly model: TextModel,
    text: string,
    private readonly settings: TrainSettings,
    path: string,
  ) {
    const all = encode(text, model, path);
    const held = Math.floor(all.length * settings.valSplit);
    if (settings.valSplit > 0 && held < 2) {
      throw new UsageError(
        `--val-split ${settings.valSplit} of ${path}'s ${count(all.length)} characters holds out ${held}; `
          + 'validation needs at least 2 (use --val-split 0 or a longer text)',
      );
    }
    this.ids = all.subarray(0, all.length - held);
    this.validation = all.subarray(all.length - held);
    // Each stream needs its L inputs and, one character later, its L targets.
    this.streamLength = Math.floor((this.ids.length - 1) / settings.batch);
    if (this.streamLength < 1) {
      throw new UsageError(
        `${path} has ${count(this.ids.length)} characters to train on, too few for --batch ${settings.batch} `
          + `streams (at least ${settings.batch + 1}); use a smaller --batch or a longer text`,
      );
    }
    this.stepsPerEpoch = Math.ceil(this.streamLength / settings.seqLen);
  }

  describe(): string {
    const { batch, seqLen } = this.settings;
    return (
      `${count(this.ids.length)} characters (${this.model.vocab.length} distinct) in ${batch} streams of ${count(this.streamLength)}, `
      + `chunks of ${seqLen}: ${this.stepsPerEpoch} steps per epoch`
      + (this.validation.length ? `; ${count(this.validation.length)} held out for validation` : '')
    );
  }

  step(net: RNN, index: number): StepOutcome {
    if (index === 0) this.state = null;
    const { batch: B, seqLen } = this.settings;
    const t0 = index * seqLen;
    const T = Math.min(seqLen, this.streamLength - t0);
    const { x, target } = this.chunk(this.ids, this.streamLength, B, t0, T);
    const result = net.step(x, target, {
      loss: 'cross_entropy',
      ...stepOptions(this.settings),
      h0: this.state?.h,
      c0: this.state?.c,
    });
    this.state = { h: result.hN, ...(result.cN && { c: result.cN }) };
    return { loss: result.loss, items: T * B };
  }

  /**
   * Cross-entropy per character on the held-out end of the text, read as streams too (as many as it has
   * room for, up to the batch size) with the state carried between chunks, as in training.
   */
  validate(net: RNN): number | undefined {
    if (this.validation.length < 2) return undefined;
    const B = Math.max(1, Math.min(this.settings.batch, Math.floor((this.validation.length - 1) / this.settings.seqLen)));
    const L = Math.floor((this.validation.length - 1) / B);
    let state: { h0?: Tensor; c0?: Tensor } = {};
    let sum = 0;
    for (let t0 = 0; t0 < L; t0 += this.settings.seqLen) {
      const T = Math.min(this.settings.seqLen, L - t0);
      const { x, target } = this.chunk(this.validation, L, B, t0, T);
      // The mean over the chunk's T × B characters, weighted back into a mean over all of them.
      const { loss, hN, cN } = net.evaluate(x, target, { loss: 'cross_entropy', ...state, withState: true });
      sum += loss * T * B;
      state = { h0: hN, ...(cN && { c0: cN }) };
    }
    return sum / (L * B);
  }

  carried(): CarriedState | null {
    if (!this.state) return null;
    return { h: Array.from(this.state.h.data), ...(this.state.c && { c: Array.from(this.state.c.data) }) };
  }

  restore(state: CarriedState | null): void {
    if (!state) {
      this.state = null;
      return;
    }
    const shape = [this.settings.layers, this.settings.batch, this.settings.hidden];
    const size = shape.reduce((a, b) => a * b, 1);
    if (state.h.length !== size || (state.c && state.c.length !== size)) {
      throw new CliError(
        `the checkpoint's carried state holds ${state.h.length} values, not ${size} ([layers, batch, hidden]); it is damaged`,
      );
    }
    this.state = {
      h: { data: Float32Array.from(state.h), shape },
      ...(state.c && { c: { data: Float32Array.from(state.c), shape } }),
    };
  }

  /** Steps t0 … t0+T−1 of B streams of length L: one-hot inputs [T, B, V] and next-character ids [T, B]. */
  private chunk(ids: Int32Array, L: number, B: number, t0: number, T: number) {
    const V = this.model.vocab.length;
    const x = new Float32Array(T * B * V);
    const target = new Int32Array(T * B);
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const at = b * L + t0 + t;
        x[(t * B + b) * V + ids[at]] = 1;
        target[t * B + b] = ids[at + 1];
      }
    }
    return { x: { data: x, shape: [T, B, V] }, target: { data: target, shape: [T, B] } };
  }
}

const count = (n: number) => n.toLocaleString('en');
