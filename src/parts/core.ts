/**
 * The recurrent core: the stack of layers (each one or two directions of a cell from the cell table), with
 * dropout between layers, as PyTorch's nn.RNN / nn.LSTM / nn.GRU. Its parameters are PyTorch's, under the core's
 * module name (`rnn.weight_ih_l0`, …); its forward kernels read a packed copy of the recurrent weights, made
 * again whenever the parameters change.
 */
import type { Kernels } from '../backend.js';
import { type CellCall, CELLS, type CellSpec } from '../cells.js';
import { type ParameterPlan, type Take, directions, featureSize, qualified } from '../layout.js';
import type { ModelConfig } from '../types.js';
import type { Context, Part, PartFactory, Stream } from './part.js';

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

/** A call's slice of the workspace for the core. */
interface CoreBuffers {
  /** Each layer's output [T, B, D·H], kept for backpropagation. */
  outputs: number[];
  /** Each layer-direction's forward cache (gates, cell states), index layer·D + direction. */
  caches: number[];
  /** With dropout, in training: layer k's output with dropout applied [T, B, D·H], the input of layer k+1. */
  dropped: number[];
  /** The dropout masks that made `dropped`: each element 0 or 1/(1-p). */
  masks: number[];
  /** Gradients flowing into two consecutive layers' outputs [T, B, D·H], used in turn. */
  dOutputs: [number, number];
  /** The cell's scratch for one layer-direction at a time (BPTT's pre-activation gradients). */
  scratch: number;
  /** The kernels' arguments for each layer-direction, in `layers` order. */
  calls: CellCall[];
}

export class Core implements Part {
  readonly layers: readonly LayerParams[];
  private readonly cell: CellSpec;
  /** Byte offsets of each layer-direction's packed w_ih and w_hh. */
  private packed: { ih: number; hh: number }[] = [];
  /** Whether the packed copies hold the current weights. */
  private fresh = false;
  private ws: CoreBuffers | null = null;

  constructor(
    private readonly c: ModelConfig,
    params: ParameterPlan,
  ) {
    this.cell = CELLS[c.cell];
    const H = c.hiddenSize;
    const rows = this.cell.gates * H; // the gate blocks stacked, as PyTorch stores them
    const init = { kind: 'uniform', bound: 1 / Math.sqrt(H) } as const;
    const name = (n: string) => qualified(c.names.core, n);
    const layers: LayerParams[] = [];
    for (let layer = 0; layer < c.numLayers; layer++) {
      const inputSize = layer === 0 ? c.inputSize : featureSize(c);
      for (let direction = 0; direction < directions(c); direction++) {
        const suffix = `_l${layer}${direction === 1 ? '_reverse' : ''}`;
        const weightIh = params.add(name(`weight_ih${suffix}`), [rows, inputSize], init);
        const weightHh = params.add(name(`weight_hh${suffix}`), [rows, H], init);
        const biasIh = c.bias ? params.add(name(`bias_ih${suffix}`), [rows], init) : -1;
        const biasHh = c.bias ? params.add(name(`bias_hh${suffix}`), [rows], init) : -1;
        layers.push({ layer, direction, inputSize, weightIh, weightHh, biasIh, biasHh });
      }
    }
    this.layers = layers;
  }

  /** Room for the packed copy of every recurrent weight, one pair per layer-direction, as the backend packs it. */
  lasting(take: Take, k: Kernels): void {
    const rows = this.cell.gates * this.c.hiddenSize;
    this.packed = this.layers.map((p) => ({
      ih: take(k.packed_size(rows, p.inputSize)),
      hh: take(k.packed_size(rows, this.c.hiddenSize)),
    }));
  }

  parametersChanged(): void {
    this.fresh = false;
  }

  plan(ctx: Context, s: Stream, take: Take): void {
    const c = this.c;
    const rows = s.T * s.B;
    const F = featureSize(c);
    const outputs = Array.from({ length: c.numLayers }, () => take(rows * F));
    const caches = this.layers.map(() => take(rows * this.cell.cachePerRow(c.hiddenSize)));
    const between = s.training && c.dropout > 0 ? c.numLayers - 1 : 0;
    const dropped = Array.from({ length: between }, () => take(rows * F));
    const masks = Array.from({ length: between }, () => take(rows * F));
    const dOutputs: [number, number] = [take(rows * F), take(rows * F)];
    const scratch = take(rows * this.cell.scratchPerRow(c.hiddenSize));
    const ws: CoreBuffers = { outputs, caches, dropped, masks, dOutputs, scratch, calls: [] };
    ws.calls = this.layers.map((p, i) => this.call(ctx, s, ws, p, i));
    this.ws = ws;
    s.features = outputs[c.numLayers - 1];
    // Without a head, y is the features, and the loss's gradient lands on them directly.
    s.y = s.features;
    s.dFeatures = s.dy;
  }

  forward(ctx: Context, s: Stream): void {
    const ws = this.ws!;
    if (!this.fresh) this.pack(ctx);
    const D = directions(this.c);
    for (let i = 0; i < this.layers.length; i++) {
      const p = this.layers[i];
      this.cell.forward(ctx.k, ws.calls[i]);
      if (p.direction === D - 1 && p.layer < ws.dropped.length) this.dropout(ctx, s, p.layer);
    }
  }

  backward(ctx: Context, s: Stream): void {
    const c = this.c;
    const ws = this.ws!;
    const { T, B } = s;
    const D = directions(c);
    const DH = featureSize(c);
    let dTop = s.dFeatures;
    let free = 0;
    for (let layer = c.numLayers - 1; layer >= 0; layer--) {
      // Both directions of a layer read the same input, so their input gradients add up in one buffer.
      const dInput = layer > 0 ? ws.dOutputs[free] : s.dx;
      if (dInput) ctx.heap.fill(dInput, T * B * (layer === 0 ? c.inputSize : DH));
      for (let direction = 0; direction < D; direction++) {
        const i = layer * D + direction;
        const p = this.layers[i];
        this.cell.backward(ctx.k, ws.calls[i], {
          dx: dInput,
          dh0: this.stateAt(s.dh0, p, B),
          dc0: s.dc0 && this.stateAt(s.dc0, p, B),
          dw_ih: ctx.grad(p.weightIh),
          dw_hh: ctx.grad(p.weightHh),
          db_ih: ctx.grad(p.biasIh),
          db_hh: ctx.grad(p.biasHh),
          dout: dTop + direction * c.hiddenSize * 4,
        });
      }
      // Back through the dropout between this layer and the one below: the same mask scales the gradient.
      if (layer > 0 && layer - 1 < ws.dropped.length) ctx.k.multiply(dInput, dInput, ws.masks[layer - 1], T * B * DH);
      dTop = dInput;
      free ^= 1;
    }
  }

  /**
   * The state after the last step, into h and c [L·D, B, H]: each forward direction's after its column's last
   * step, each reverse direction's after t = 0; the cell state likewise for an LSTM (c null otherwise).
   */
  finalState(ctx: Context, s: Stream, lengths: Int32Array | null, h: Float32Array, cs: Float32Array | null): void {
    const c = this.c;
    const { T, B } = s;
    const H = c.hiddenSize;
    const m = ctx.heap.f32;
    const ws = this.ws!;
    this.layers.forEach((p, i) => {
      const to = this.stateAt(0, p, B) / 4;
      const cellStates = this.cell.cellStates(ws.caches[i]) / 4;
      for (let b = 0; b < B; b++) {
        const t = p.direction === 1 ? 0 : (lengths ? lengths[b] : T) - 1;
        const from = ws.outputs[p.layer] / 4 + (t * B + b) * featureSize(c) + p.direction * H;
        h.set(m.subarray(from, from + H), to + b * H);
        if (cs) cs.set(m.subarray(cellStates + (t * B + b) * H, cellStates + (t * B + b + 1) * H), to + b * H);
      }
    });
  }

  /** Pointers to a one-step call's new states, one per layer [B, H] (h, and c for an LSTM). */
  stepStates(): { h: number[]; c: number[] | null } {
    const ws = this.ws!;
    return { h: ws.outputs, c: this.cell.cellState ? ws.caches.map((p) => this.cell.cellStates(p)) : null };
  }

  /** Packs every recurrent weight as the forward kernels read it: once, and again after the weights change. */
  private pack(ctx: Context): void {
    const rows = this.cell.gates * this.c.hiddenSize;
    this.layers.forEach((p, i) => {
      ctx.k.pack_weights(this.packed[i].ih, ctx.param(p.weightIh), rows, p.inputSize);
      ctx.k.pack_weights(this.packed[i].hh, ctx.param(p.weightHh), rows, this.c.hiddenSize);
    });
    this.fresh = true;
  }

  /** Draws a fresh dropout mask for layer k's output and applies it: the input of layer k+1. */
  private dropout(ctx: Context, s: Stream, layer: number): void {
    const ws = this.ws!;
    const n = s.T * s.B * featureSize(this.c);
    const p = this.c.dropout;
    const m = ctx.heap.f32;
    const mask = ws.masks[layer] / 4;
    for (let i = 0; i < n; i++) m[mask + i] = ctx.random.next() < p ? 0 : 1 / (1 - p);
    ctx.k.multiply(ws.dropped[layer], ws.outputs[layer], ws.masks[layer], n);
  }

  /** Byte offset of one layer-direction's [B, H] slice of a [L·D, B, H] state tensor. */
  private stateAt(base: number, p: LayerParams, B: number): number {
    return base + (p.layer * directions(this.c) + p.direction) * B * this.c.hiddenSize * 4;
  }

  /** The pointers and sizes of one direction of one layer, as the cell kernels take them. */
  private call(ctx: Context, s: Stream, ws: CoreBuffers, p: LayerParams, i: number): CellCall {
    const c = this.c;
    const H = c.hiddenSize;
    const input = p.layer === 0 ? s.x : p.layer - 1 < ws.dropped.length ? ws.dropped[p.layer - 1] : ws.outputs[p.layer - 1];
    return {
      out: ws.outputs[p.layer] + p.direction * H * 4,
      cache: ws.caches[i],
      scratch: ws.scratch,
      x: input,
      lengths: s.lengths,
      h0: this.stateAt(s.h0, p, s.B),
      c0: s.c0 && this.stateAt(s.c0, p, s.B),
      w_ih: ctx.param(p.weightIh),
      w_hh: ctx.param(p.weightHh),
      pw_ih: this.packed[i].ih,
      pw_hh: this.packed[i].hh,
      b_ih: ctx.param(p.biasIh),
      b_hh: ctx.param(p.biasHh),
      T: s.T,
      B: s.B,
      I: p.inputSize,
      H,
      ldo: featureSize(c),
      reverse: p.direction,
      relu: c.nonlinearity === 'relu' ? 1 : 0,
    };
  }
}

export const core: PartFactory = (c, params) => new Core(c, params);
