/**
 * The memory plan: where every named tensor of a model lives in its backend's heap.
 *
 * Parameters sit in one flat block in PyTorch's `state_dict` order, so gradients and optimizer state mirror
 * it element for element and an optimizer is one kernel call over the whole block. Activation caches and
 * scratch space come after, sized for the largest (T, B) seen so far and reused across calls.
 */
import { CELLS, type CellKind } from './cells.js';

export interface ModelConfig {
  readonly cell: CellKind;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bidirectional: boolean;
  readonly nonlinearity: 'tanh' | 'relu';
  readonly bias: boolean;
  /** Size of the linear head applied at every step; 0 means no head (y is the RNN output). */
  readonly outputSize: number;
  readonly batchFirst: boolean;
  /** Probability of zeroing each output of every layer but the last, in training (PyTorch's `dropout`). */
  readonly dropout: number;
  readonly seed: number;
}

export interface ParamSpec {
  /** PyTorch's name, e.g. `rnn.weight_hh_l1_reverse` or `head.bias`. */
  readonly name: string;
  readonly shape: readonly number[];
  /** Offset in elements from the start of the parameter block. */
  readonly offset: number;
  readonly size: number;
  /** Bound of PyTorch's default init U(-bound, bound). */
  readonly initBound: number;
}

/** One direction of one layer: where its four parameters are (element offsets, -1 when absent). */
export interface LayerParams {
  readonly layer: number;
  readonly direction: number;
  readonly inputSize: number;
  readonly weightIh: number;
  readonly weightHh: number;
  readonly biasIh: number;
  readonly biasHh: number;
}

export interface ParamLayout {
  readonly specs: readonly ParamSpec[];
  readonly layers: readonly LayerParams[];
  readonly headWeight: number;
  readonly headBias: number;
  /** Total number of parameters. */
  readonly count: number;
}

export const directions = (c: ModelConfig) => (c.bidirectional ? 2 : 1);

/** Width of the last layer's output, D·H: the head's input and, without a head, the model's output. */
export const featureSize = (c: ModelConfig) => directions(c) * c.hiddenSize;

/** Width of y: the head's outputs, or the RNN's features when there is no head. */
export const outputWidth = (c: ModelConfig) => c.outputSize || featureSize(c);

export function parameterLayout(c: ModelConfig): ParamLayout {
  const specs: ParamSpec[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], initBound: number) => {
    const size = shape.reduce((a, b) => a * b, 1);
    specs.push({ name, shape, offset, size, initBound });
    offset += size;
    return offset - size;
  };
  const H = c.hiddenSize;
  const rows = CELLS[c.cell].gates * H; // the gate blocks stacked, as PyTorch stores them
  const rnnBound = 1 / Math.sqrt(H);
  const layers: LayerParams[] = [];
  for (let layer = 0; layer < c.numLayers; layer++) {
    const inputSize = layer === 0 ? c.inputSize : featureSize(c);
    for (let direction = 0; direction < directions(c); direction++) {
      const suffix = `_l${layer}${direction === 1 ? '_reverse' : ''}`;
      const weightIh = add(`rnn.weight_ih${suffix}`, [rows, inputSize], rnnBound);
      const weightHh = add(`rnn.weight_hh${suffix}`, [rows, H], rnnBound);
      const biasIh = c.bias ? add(`rnn.bias_ih${suffix}`, [rows], rnnBound) : -1;
      const biasHh = c.bias ? add(`rnn.bias_hh${suffix}`, [rows], rnnBound) : -1;
      layers.push({ layer, direction, inputSize, weightIh, weightHh, biasIh, biasHh });
    }
  }
  // nn.Linear's default init draws weight and bias from U(-1/√fan_in, 1/√fan_in).
  const headBound = 1 / Math.sqrt(featureSize(c));
  const headWeight = c.outputSize ? add('head.weight', [c.outputSize, featureSize(c)], headBound) : -1;
  const headBias = c.outputSize ? add('head.bias', [c.outputSize], headBound) : -1;
  return { specs, layers, headWeight, headBias, count: offset };
}

/** Byte offsets of one layer-direction's packed copies of w_ih and w_hh: what the forward kernels read. */
export interface PackedWeights {
  readonly ih: number;
  readonly hh: number;
}

/**
 * Room for the packed copy of every recurrent weight from `start`, one pair per layer-direction in `layers`
 * order, each `packedSize(rows, columns)` floats as the backend packs it. Returns the offsets and the first
 * byte after them.
 */
export function packedLayout(c: ModelConfig, layers: readonly LayerParams[], packedSize: (R: number, K: number) => number,
  start: number): { packed: PackedWeights[]; end: number } {
  let at = align16(start);
  const take = (floats: number) => {
    const ptr = at;
    at = align16(at + floats * 4);
    return ptr;
  };
  const rows = CELLS[c.cell].gates * c.hiddenSize;
  const packed = layers.map((p) => ({ ih: take(packedSize(rows, p.inputSize)), hh: take(packedSize(rows, c.hiddenSize)) }));
  return { packed, end: at };
}

/** Byte offsets of the activation caches and scratch space for one (T, B), all 16-byte aligned. */
export interface Workspace {
  readonly T: number;
  readonly B: number;
  /** Input sequence [T, B, I]. */
  readonly x: number;
  /** Valid steps per column [B] int32; the model passes 0 instead when every column runs T steps. */
  readonly lengths: number;
  /** Initial state [L·D, B, H]. */
  readonly h0: number;
  /** Initial cell state [L·D, B, H] (0 for cells without one). */
  readonly c0: number;
  /** Each layer's output [T, B, D·H], kept for backpropagation. */
  readonly outputs: readonly number[];
  /** Each layer-direction's forward cache (gates, cell states), index layer·D + direction. */
  readonly caches: readonly number[];
  /** With dropout, in training: layer k's output with dropout applied [T, B, D·H], the input of layer k+1. */
  readonly dropped: readonly number[];
  /** The dropout masks that made `dropped`: each element 0 or 1/(1-p). */
  readonly masks: readonly number[];
  /** Head output [T, B, O] (the last layer's output when there is no head). */
  readonly y: number;
  /** Loss target: float32 [T, B, O] for MSE, int32 class ids [T, B] for cross-entropy; only counted rows are read. */
  readonly target: number;
  /** Gradient of the loss with respect to y [T, B, O]. */
  readonly dy: number;
  /** Gradients flowing into two consecutive layers' outputs [T, B, D·H], used in turn. */
  readonly dOutputs: readonly [number, number];
  /** Gradient with respect to the input [T, B, I]. */
  readonly dx: number;
  /** Gradient with respect to the initial state [L·D, B, H]. */
  readonly dh0: number;
  /** Gradient with respect to the initial cell state [L·D, B, H] (0 for cells without one). */
  readonly dc0: number;
  /** The cell's scratch for one layer-direction at a time (BPTT's pre-activation gradients). */
  readonly scratch: number;
  /** First byte after the workspace. */
  readonly end: number;
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;

export function workspaceLayout(c: ModelConfig, T: number, B: number, start: number): Workspace {
  let at = align16(start);
  const take = (elements: number) => {
    const ptr = at;
    at = align16(at + elements * 4);
    return ptr;
  };
  const rows = T * B;
  const cell = CELLS[c.cell];
  const stateCount = c.numLayers * directions(c);
  const states = stateCount * B * c.hiddenSize;
  const x = take(rows * c.inputSize);
  const lengths = take(B);
  const h0 = take(states);
  const c0 = cell.cellState ? take(states) : 0;
  const outputs = Array.from({ length: c.numLayers }, () => take(rows * featureSize(c)));
  const caches = Array.from({ length: stateCount }, () => take(rows * cell.cachePerRow(c.hiddenSize)));
  const between = c.dropout > 0 ? c.numLayers - 1 : 0;
  const dropped = Array.from({ length: between }, () => take(rows * featureSize(c)));
  const masks = Array.from({ length: between }, () => take(rows * featureSize(c)));
  const y = c.outputSize ? take(rows * c.outputSize) : outputs[c.numLayers - 1];
  const target = take(rows * outputWidth(c));
  const dy = take(rows * outputWidth(c));
  const dOutputs: [number, number] = [take(rows * featureSize(c)), take(rows * featureSize(c))];
  const dx = take(rows * c.inputSize);
  const dh0 = take(states);
  const dc0 = cell.cellState ? take(states) : 0;
  const scratch = take(rows * cell.scratchPerRow(c.hiddenSize));
  return { T, B, x, lengths, h0, c0, outputs, caches, dropped, masks, y, target, dy, dOutputs, dx, dh0, dc0, scratch, end: at };
}
