/**
 * One-to-many generation on top of the public API: the prompt goes through `unroll`, then each prediction
 * is fed back through `cell`, either as it is (regression) or as the one-hot encoding of a class sampled
 * from its softmax (classification, e.g. characters).
 */
import { OptionError } from './errors.js';
import { outputWidth } from './layout.js';
import type { CellState, RNN } from './model.js';
import { bool, checkKeys, nonNegativeInt, numberIn, positiveInt } from './options.js';
import { Random } from './random.js';
import { type IdTensor, type Tensor, type TensorInput, swapLeadingAxes } from './tensor.js';

export interface GenerateOptions {
  /** How many values (or tokens) to produce after the prompt. */
  steps: number;
  /** Initial state [L, B, H] for the prompt; zeros when omitted. */
  h0?: TensorInput;
  /** LSTM only: initial cell state [L, B, H]; zeros when omitted. */
  c0?: TensorInput;
  /**
   * false (default): feed each prediction y back as the next input (regression, needs O = inputSize).
   * true: treat y as logits, draw a class from softmax(y / temperature) and feed its one-hot encoding.
   */
  sample?: boolean;
  /** Softmax temperature for sampling; 0 takes the most likely class (default 1). */
  temperature?: number;
  /** Seed of the sampling generator (default: the model's generator). */
  seed?: number;
}

export interface GenerateResult {
  /** The prediction at each generated step: [steps, B, O] ([B, steps, O] with batchFirst). */
  y: Tensor;
  /** With `sample`, the drawn class ids: [steps, B] ([B, steps] with batchFirst). */
  ids?: IdTensor;
  /** State after the last generated step, [L, B, H]. */
  hN: Tensor;
  /** LSTM only: cell state after the last generated step, [L, B, H]. */
  cN?: Tensor;
}

export function generateSequence(model: RNN, prompt: TensorInput, options: GenerateOptions,
  modelRandom: Random): GenerateResult {
  checkKeys(options, ['steps', 'h0', 'c0', 'sample', 'temperature', 'seed'], 'generate');
  const c = model.config;
  const steps = positiveInt(options.steps, 'generate.steps');
  const sample = bool(options.sample ?? false, 'generate.sample');
  const temperature = numberIn(options.temperature ?? 1, 'generate.temperature', { min: 0 });
  if (c.bidirectional) throw new OptionError('generate() needs a unidirectional model: the reverse direction would need the future');
  const O = outputWidth(c);
  if (O !== c.inputSize) {
    throw new OptionError(`generate() feeds each output back as input, so it needs outputSize = inputSize; got ${O} and ${c.inputSize}`);
  }
  const random = options.seed === undefined ? modelRandom : new Random(nonNegativeInt(options.seed, 'generate.seed'));

  const first = model.unroll(prompt, { h0: options.h0, c0: options.c0 });
  const B = first.hN.shape[1];
  let y = lastStep(first.y, c.batchFirst);
  let state: CellState = { h: first.hN, c: first.cN };
  const ys = new Float32Array(steps * B * O);
  const ids = new Int32Array(steps * B);
  for (let s = 0; s < steps; s++) {
    ys.set(y, s * B * O);
    let next = y;
    if (sample) {
      next = new Float32Array(B * O);
      for (let b = 0; b < B; b++) {
        const id = drawClass(y.subarray(b * O, (b + 1) * O), temperature, random);
        ids[s * B + b] = id;
        next[b * O + id] = 1;
      }
    }
    if (s === steps - 1) break;
    const step = model.cell({ data: next, shape: [B, O] }, state);
    y = step.y.data;
    state = step;
  }
  const final = { hN: state.h as Tensor, ...(state.c && { cN: state.c as Tensor }) };
  if (!c.batchFirst) {
    return { y: { data: ys, shape: [steps, B, O] }, ...final, ...(sample && { ids: { data: ids, shape: [steps, B] } }) };
  }
  return {
    y: { data: swapLeadingAxes(ys, steps, B, O), shape: [B, steps, O] },
    ...final,
    ...(sample && { ids: { data: swapLeadingAxes(ids, steps, B, 1), shape: [B, steps] } }),
  };
}

/** The last step's rows [B, O] of a sequence output. */
function lastStep(y: Tensor, batchFirst: boolean): Float32Array {
  const [d0, d1, O] = y.shape;
  if (!batchFirst) return y.data.slice((d0 - 1) * d1 * O);
  const out = new Float32Array(d0 * O);
  for (let b = 0; b < d0; b++) out.set(y.data.subarray((b * d1 + d1 - 1) * O, (b * d1 + d1) * O), b * O);
  return out;
}

/** A class drawn from softmax(logits / temperature); temperature 0 takes the most likely one. */
function drawClass(logits: Float32Array, temperature: number, random: Random): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  if (temperature === 0) return best;
  const weights = Array.from(logits, (l) => Math.exp((l - logits[best]) / temperature));
  let r = random.next() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i];
    if (r < 0) return i;
  }
  return logits.length - 1;
}
