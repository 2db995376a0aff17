/**
 * One-to-many generation on the engine: the prompt runs as one sequence, then each prediction goes back in
 * through single steps, either as it is (regression), as the one-hot encoding of a class drawn from its softmax
 * (classification over vectors, e.g. one-hot characters), or, with an embedding, as the token id drawn from the
 * head's logits (a language model): greedy, with a temperature, top-k or top-p (nucleus) sampling, and a stop id.
 */
import type { Engine } from './engine.js';
import { OptionError } from './errors.js';
import { checkBatch, checkStates } from './inputs.js';
import { outputWidth, stateShape } from './layout.js';
import { seed } from './options.js';
import { bool, checkKeys, nonNegativeInt, numberIn, positiveInt } from './checks.js';
import { Random } from './random.js';
import { swapLeadingAxes } from './tensor.js';
import type { IdTensor, Tensor, TensorInput } from './types.js';

/** Options of `generate`. */
export interface GenerateOptions {
  /** How many values (or tokens) to produce after the prompt; fewer when every sequence has drawn `stopId`. */
  steps: number;
  /** Initial state [L, B, H] for the prompt; zeros when omitted. */
  h0?: TensorInput | undefined;
  /** LSTM only: initial cell state [L, B, H]; zeros when omitted. */
  c0?: TensorInput | undefined;
  /**
   * Without an embedding: false (default) feeds each prediction y back as the next input (regression, needs
   * O = inputSize); true treats y as logits, draws a class and feeds its one-hot encoding. With an embedding
   * the drawn token id is always what goes back in.
   */
  sample?: boolean | undefined;
  /** Softmax temperature for drawing; 0 takes the likeliest class, the first of equals (default 1). */
  temperature?: number | undefined;
  /** Draw only among the k likeliest classes. */
  topK?: number | undefined;
  /** Draw only among the likeliest classes whose probabilities add up to at least p (nucleus sampling). */
  topP?: number | undefined;
  /** A class id that ends a sequence: after drawing it, a sequence repeats it, and generation stops once all have. */
  stopId?: number | undefined;
  /** Seed of the sampling generator (default: the model's generator). */
  seed?: number | undefined;
}

/** What `generate` returns. */
export interface GenerateResult {
  /** The prediction at each generated step: [steps, B, O] ([B, steps, O] with batchFirst). */
  y: Tensor;
  /** The drawn class or token ids: [steps, B] ([B, steps] with batchFirst); present when drawing. */
  ids?: IdTensor | undefined;
  /** State after the last generated step, [L, B, H]. */
  hN: Tensor;
  /** LSTM only: cell state after the last generated step, [L, B, H]. */
  cN?: Tensor | undefined;
}

const KEYS = ['steps', 'h0', 'c0', 'sample', 'temperature', 'topK', 'topP', 'stopId', 'seed'];

export function generateSequence(engine: Engine, prompt: TensorInput, options: GenerateOptions): GenerateResult {
  checkKeys(options, KEYS, 'generate');
  const c = engine.config;
  const steps = positiveInt(options.steps, 'generate.steps');
  if (steps > 2 ** 24) throw new OptionError(`generate.steps ${steps} is past the limit of ${2 ** 24}`);
  const ids = c.embedding !== null;
  const sample = options.sample === undefined ? undefined : bool(options.sample, 'generate.sample');
  if (ids && sample === false) {
    throw new OptionError('generate: a model of token ids feeds back the ids it draws; sample: false (feeding back y) needs vector inputs');
  }
  const draw = ids || sample === true;
  const O = outputWidth(c);
  const rule: DrawRule = {
    temperature: numberIn(options.temperature ?? 1, 'generate.temperature', { min: 0 }),
    topK: options.topK === undefined ? O : Math.min(O, positiveInt(options.topK, 'generate.topK')),
    topP: options.topP === undefined ? 1 : numberIn(options.topP, 'generate.topP', { min: 0, max: 1, above: true }),
  };
  if (c.bidirectional) throw new OptionError('generate() needs a unidirectional model: the reverse direction would need the future');
  if (c.goBackwards || c.reverse || c.stack.length) {
    throw new OptionError(
      `generate() steps forward in time, which ${c.stack.length ? 'a model with a stack of cores' : 'a model reading backwards'} cannot`,
    );
  }
  const fed = c.embedding ? c.embedding.numEmbeddings : c.inputSize;
  if (O !== fed) {
    throw new OptionError(
      `generate() feeds each output back as the next ${ids ? 'token' : 'input'}, so it needs `
        + `outputSize = ${ids ? 'numEmbeddings' : 'inputSize'}; got ${O} and ${fed}`,
    );
  }
  const stopId = options.stopId === undefined ? -1 : nonNegativeInt(options.stopId, 'generate.stopId');
  if (stopId >= O) throw new OptionError(`generate.stopId ${stopId} is not a class id: there are ${O}`);
  if (!draw && (options.topK !== undefined || options.topP !== undefined || options.stopId !== undefined)) {
    throw new OptionError('generate: topK, topP and stopId choose among classes; give sample: true to draw them');
  }
  const random = options.seed === undefined ? engine.random : new Random(seed(options.seed, 'generate.seed'));

  const batch = checkBatch(c, prompt);
  const B = batch.B;
  const first = engine.unroll(batch, checkStates(c, { h0: options.h0, c0: options.c0 }, B), false, {});
  let y = lastRows(first.y, c.batchFirst, c.headOn === 'final');
  let h = first.hN.data;
  let cs = first.cN?.data ?? null;
  const ys = new Float32Array(steps * B * O);
  const drawn = new Int32Array(steps * B);
  const stopped = new Uint8Array(B);
  let made = 0;
  while (made < steps) {
    ys.set(y, made * B * O);
    let next: Float32Array | Int32Array = y;
    if (draw) {
      next = ids ? new Int32Array(B) : new Float32Array(B * O);
      for (let b = 0; b < B; b++) {
        const id = stopped[b] ? stopId : drawClass(logits(y.subarray(b * O, (b + 1) * O), c.headActivation === 'softmax'), rule, random);
        if (id === stopId) stopped[b] = 1;
        drawn[made * B + b] = id;
        if (ids) next[b] = id;
        else next[b * O + id] = 1;
      }
    }
    made += 1;
    if (made === steps || (stopId >= 0 && stopped.every(Boolean))) break;
    const step = engine.cell(next, B, { h, c: cs }, ['h', 'c'], {});
    y = step.y.data;
    h = step.h.data;
    cs = step.c?.data ?? null;
  }
  const shape = stateShape(c, B);
  const final = { hN: { data: h, shape }, ...(cs && { cN: { data: cs, shape } }) };
  const yOut = ys.subarray(0, made * B * O);
  const idsOut = drawn.subarray(0, made * B);
  if (!c.batchFirst) {
    return { y: { data: yOut.slice(), shape: [made, B, O] }, ...final, ...(draw && { ids: { data: idsOut.slice(), shape: [made, B] } }) };
  }
  return {
    y: { data: swapLeadingAxes(yOut, made, B, O), shape: [B, made, O] },
    ...final,
    ...(draw && { ids: { data: swapLeadingAxes(idsOut, made, B, 1), shape: [B, made] } }),
  };
}

/** The last step's rows [B, O] of a sequence output (or the head's own rows when it reads the final states). */
function lastRows(y: Tensor, batchFirst: boolean, final: boolean): Float32Array {
  if (final) return y.data.slice();
  const [d0, d1, O] = y.shape;
  if (!batchFirst) return y.data.slice((d0 - 1) * d1 * O);
  const out = new Float32Array(d0 * O);
  for (let b = 0; b < d0; b++) out.set(y.data.subarray((b * d1 + d1 - 1) * O, (b * d1 + d1) * O), b * O);
  return out;
}

interface DrawRule {
  temperature: number;
  topK: number;
  topP: number;
}

/**
 * A class drawn from softmax(logits / temperature), restricted to the topK likeliest and then to the smallest
 * set of them whose probability reaches topP; temperature 0 takes the likeliest (the first of equals).
 */
/** A row of the head's output as logits to draw from: a softmax head's probabilities go back through the log. */
function logits(row: Float32Array, probabilities: boolean): Float32Array {
  return probabilities ? row.map(Math.log) : row;
}

function drawClass(logits: Float32Array, rule: DrawRule, random: Random): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  if (rule.temperature === 0) return best;
  let order = Array.from(logits.keys());
  if (rule.topK < logits.length || rule.topP < 1) {
    order.sort((a, b) => logits[b] - logits[a] || a - b);
    order = order.slice(0, rule.topK);
  }
  const weights = order.map((i) => Math.exp((logits[i] - logits[best]) / rule.temperature));
  let total = weights.reduce((a, b) => a + b, 0);
  if (rule.topP < 1) {
    let kept = 0;
    let mass = 0;
    while (kept < weights.length && mass < rule.topP * total) mass += weights[kept++];
    order.length = kept;
    weights.length = kept;
    total = mass;
  }
  let r = random.next() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i];
    if (r < 0) return order[i];
  }
  return order[order.length - 1];
}
