/**
 * The recurrent core: every recurrent layer of the model in the order data flows, as PyTorch's nn.RNN / nn.LSTM /
 * nn.GRU, or a Keras stack of differing layers. Layers come in cores (one module each: the first core, then the
 * configuration's `stack`), each a stack of one cell with one size and one set of options, one or two directions;
 * dropout sits between consecutive layers. A core may read its input backwards (Keras's `go_backwards`: the
 * input reversed first, so its outputs come in that reversed order), and join its last layer's two directions
 * element-wise (Keras's `merge_mode`). Its parameters are PyTorch's, under the core's module name
 * (`rnn.weight_ih_l0`, …); the forward kernels read a packed copy of the recurrent weights, made again whenever
 * the parameters change. With the head on the final states, the core gathers them too: it knows which step ends
 * each direction.
 */
import type { Kernels } from '../backend.js';
import { type CellCall, CELLS, type CellSpec } from '../cells.js';
import { type ParameterPlan, type Take, coreWidth, cores, directions, featureSize, qualified } from '../layout.js';
import type { CoreConfig, ModelConfig } from '../types.js';
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

/** One layer of one core: its cell, its directions' parameters, and where it sits. */
interface Layer {
  readonly core: CoreConfig;
  readonly cell: CellSpec;
  /** Its index in its core (the `_l<k>` of its parameter names), and whether it is the core's first or last. */
  readonly index: number;
  readonly first: boolean;
  readonly last: boolean;
  readonly inputSize: number;
  /** The width of its output [T, B, D·H]: both directions side by side, before any merge. */
  readonly width: number;
  readonly directions: readonly LayerParams[];
  /** Whether it is the state core's (its states are the call's h0, hN, …). */
  readonly holdsState: boolean;
  /** Its index among the state core's layers. */
  readonly stateIndex: number;
}

/** The kernels' flags of a core's options (see CellCall). */
const GATE = { sigmoid: 0, hard_sigmoid: 1, hardsigmoid: 2 } as const;
const MERGE = { concat: 0, sum: 1, ave: 2, mul: 3 } as const;

/** A call's slice of the workspace for the core. */
interface CoreBuffers {
  /** Each layer's input (a reversed copy for the first layer of a core that reads backwards) and output. */
  inputs: number[];
  outputs: number[];
  /** A core reading backwards: its input in forward order, before the reversal (else 0); per layer, on the first. */
  unreversed: number[];
  /** A core joining its directions element-wise: the joined output [T, B, H], on its last layer (else 0). */
  merged: number[];
  /** With dropout, in training: the masks that scale each layer's input but the first, each element 0 or 1/(1-p). */
  masks: number[];
  /** Each layer-direction's forward cache, in `directions` order of each layer. */
  caches: number[][];
  calls: CellCall[][];
  /** Gradients flowing into two consecutive layers' outputs, used in turn, and a reversal's scratch. */
  dOutputs: [number, number];
  dReversed: number;
  /** Zero initial states [B, H] and a sink for their gradients, for the cores whose states nobody gives. */
  zeros: number;
  /** How many floats of `zeros` are still to be zeroed (once, on the layout's first forward). */
  zeroCount: number;
  sink: [number, number];
  /** The cell's scratch for one layer-direction at a time (BPTT's pre-activation gradients). */
  scratch: number;
  /** With the head on the final states: both directions' states [B, D·H] before a merge. */
  finalRaw: number;
  dFinalRaw: number;
}

export class Core implements Part {
  /** Every layer-direction, the first core's layers first. */
  readonly layers: readonly LayerParams[];
  private readonly all: readonly Layer[];
  /** Byte offsets of each layer-direction's packed w_ih and w_hh, in `layers` order. */
  private packed: { ih: number; hh: number }[] = [];
  /** Whether the packed copies hold the current weights. */
  private fresh = false;
  private ws: CoreBuffers | null = null;

  constructor(
    private readonly c: ModelConfig,
    params: ParameterPlan,
  ) {
    const all: Layer[] = [];
    const list = cores(c);
    let inputSize = c.inputSize;
    list.forEach((core, k) => {
      const cell = CELLS[core.cell];
      const H = core.hiddenSize;
      const rows = cell.gates * H; // the gate blocks stacked, as PyTorch stores them
      const init = { kind: 'uniform', bound: 1 / Math.sqrt(H) } as const;
      const name = (n: string) => qualified(core.name, n);
      const D = directions(core);
      const holdsState = k === list.length - 1;
      for (let layer = 0; layer < core.numLayers; layer++) {
        const dirs: LayerParams[] = [];
        for (let direction = 0; direction < D; direction++) {
          const suffix = `_l${layer}${direction === 1 ? '_reverse' : ''}`;
          const weightIh = params.add(name(`weight_ih${suffix}`), [rows, inputSize], init);
          const weightHh = params.add(name(`weight_hh${suffix}`), [rows, H], init);
          const biasIh = core.bias ? params.add(name(`bias_ih${suffix}`), [rows], init) : -1;
          const biasHh = core.bias ? params.add(name(`bias_hh${suffix}`), [rows], init) : -1;
          dirs.push({ layer, direction, inputSize, weightIh, weightHh, biasIh, biasHh });
        }
        const last = layer === core.numLayers - 1;
        all.push({
          core,
          cell,
          index: layer,
          first: layer === 0,
          last,
          inputSize,
          width: D * H,
          directions: dirs,
          holdsState,
          stateIndex: layer,
        });
        inputSize = last ? coreWidth(core) : D * H;
      }
    });
    this.all = all;
    this.layers = all.flatMap((l) => l.directions);
  }

  /** Room for the packed copy of every recurrent weight, one pair per layer-direction, as the backend packs it. */
  lasting(take: Take, k: Kernels): void {
    this.packed = this.all.flatMap((l) =>
      l.directions.map((p) => {
        const rows = l.cell.gates * l.core.hiddenSize;
        return { ih: take(k.packed_size(rows, p.inputSize)), hh: take(k.packed_size(rows, l.core.hiddenSize)) };
      }),
    );
  }

  parametersChanged(): void {
    this.fresh = false;
  }

  plan(ctx: Context, s: Stream, take: Take): void {
    const rows = s.T * s.B;
    const dropout = s.training && this.c.dropout > 0;
    const inputs: number[] = [];
    const outputs: number[] = [];
    const unreversed: number[] = [];
    const merged: number[] = [];
    const masks: number[] = [];
    let source = s.x;
    let widest = this.c.inputSize;
    let widestH = 0;
    let scratch = 0;
    for (const [i, l] of this.all.entries()) {
      masks.push(dropout && i > 0 ? take(rows * l.inputSize) : 0);
      // A layer's input is the one below's output, with dropout applied into a buffer of its own in training.
      const input = masks[i] ? take(rows * l.inputSize) : source;
      unreversed.push(l.first && l.core.goBackwards ? input : 0);
      inputs.push(unreversed[i] ? take(rows * l.inputSize) : input);
      outputs.push(take(rows * l.width));
      merged.push(l.last && l.core.mergeMode !== 'concat' ? take(rows * l.core.hiddenSize) : 0);
      source = merged[i] || outputs[i];
      widest = Math.max(widest, l.width, l.inputSize);
      widestH = Math.max(widestH, l.core.hiddenSize);
      scratch = Math.max(scratch, l.cell.scratchPerRow(l.core.hiddenSize));
    }
    const caches = this.all.map((l) => l.directions.map(() => take(rows * l.cell.cachePerRow(l.core.hiddenSize))));
    const F = featureSize(this.c);
    const final = this.c.headOn === 'final';
    const last = this.all[this.all.length - 1];
    const ws: CoreBuffers = {
      inputs,
      outputs,
      unreversed,
      merged,
      masks,
      caches,
      calls: [],
      dOutputs: [take(rows * widest), take(rows * widest)],
      dReversed: unreversed.some((u) => u) ? take(rows * widest) : 0,
      zeros: take(s.B * widestH),
      zeroCount: this.all.some((l) => !l.holdsState) ? s.B * widestH : 0,
      sink: [take(s.B * widestH), take(s.B * widestH)],
      scratch: take(rows * scratch),
      finalRaw: final ? take(s.B * last.width) : 0,
      dFinalRaw: final ? take(s.B * last.width) : 0,
    };
    let packedAt = 0; // the layer-directions in `layers` order, as the packed copies are
    ws.calls = this.all.map((l, i) => l.directions.map((p) => this.call(ctx, s, ws, l, i, p, packedAt++)));
    this.ws = ws;
    s.features = source;
    const concat = last.core.mergeMode === 'concat';
    if (final) {
      s.final = concat ? ws.finalRaw : take(s.B * F);
      s.dFinal = this.c.outputSize === 0 ? s.dy : concat ? ws.dFinalRaw : take(s.B * F);
    }
    // Without a head, y is the features (or the final states), and the loss's gradient lands on them directly.
    s.y = final ? s.final : s.features;
    s.logits = s.y;
    s.dFeatures = s.dy;
  }

  forward(ctx: Context, s: Stream): void {
    const ws = this.ws!;
    const k = ctx.k;
    const n = s.T * s.B;
    if (!this.fresh) this.pack(ctx);
    // Nothing writes the zero states of the cores whose states nobody gives: once per layout, after the heap
    // has grown to hold it, is enough.
    if (ws.zeroCount) {
      ctx.heap.fill(ws.zeros, ws.zeroCount);
      ws.zeroCount = 0;
    }
    // Indexed loops: this runs on every `cell` call, where an iterator's allocations show.
    for (let i = 0; i < this.all.length; i++) {
      const l = this.all[i];
      if (ws.masks[i]) this.dropout(ctx, ws.masks[i], i > 0 ? this.below(i) : s.x, ws.unreversed[i] || ws.inputs[i], n * l.inputSize);
      if (ws.unreversed[i]) k.reverse_sequence(ws.inputs[i], ws.unreversed[i], s.lengths, s.T, s.B, l.inputSize);
      const calls = ws.calls[i];
      for (let d = 0; d < calls.length; d++) l.cell.forward(k, calls[d]);
      if (ws.merged[i]) k.merge_forward(ws.merged[i], ws.outputs[i], n, l.core.hiddenSize, MERGE[l.core.mergeMode]);
    }
    if (s.final) this.gatherFinal(ctx, s);
  }

  backward(ctx: Context, s: Stream): void {
    const ws = this.ws!;
    const k = ctx.k;
    const { T, B } = s;
    const n = T * B;
    const top = this.all.length - 1;
    // The gradient on the last layer's own output [T, B, D·H]: through the merge, or from the final states.
    let dTop = s.dFeatures;
    if (s.final || ws.merged[top]) {
      const last = this.all[top];
      dTop = ws.dOutputs[0];
      if (s.final) this.scatterFinal(ctx, s, dTop);
      else k.merge_backward(dTop, s.dFeatures, ws.outputs[top], n, last.core.hiddenSize, MERGE[last.core.mergeMode]);
    }
    let free = dTop === ws.dOutputs[0] ? 1 : 0;
    for (let i = top; i >= 0; i--) {
      const l = this.all[i];
      // Both directions of a layer read the same input, so their input gradients add up in one buffer.
      let dInput = i > 0 ? ws.dOutputs[free] : s.dx;
      const reversed = ws.unreversed[i] && dInput ? dInput : 0;
      if (reversed) dInput = ws.dReversed;
      if (dInput) ctx.heap.fill(dInput, n * l.inputSize);
      for (let d = 0; d < l.directions.length; d++) {
        const p = l.directions[d];
        l.cell.backward(k, ws.calls[i][d], {
          dx: dInput,
          dh0: this.state(s.dh0, ws.sink[0], l, d, B),
          dc0: l.cell.cellState ? this.state(s.dc0, ws.sink[1], l, d, B) : 0,
          dw_ih: ctx.grad(p.weightIh),
          dw_hh: ctx.grad(p.weightHh),
          db_ih: ctx.grad(p.biasIh),
          db_hh: ctx.grad(p.biasHh),
          dout: dTop + d * l.core.hiddenSize * 4,
        });
      }
      if (reversed) {
        k.reverse_sequence(reversed, ws.dReversed, s.lengths, T, B, l.inputSize);
        dInput = reversed;
      }
      // Back through the dropout below this layer: the same mask scales the gradient.
      if (ws.masks[i] && dInput) k.multiply(dInput, dInput, ws.masks[i], n * l.inputSize);
      // Into the layer below: through its core's merge when it is that core's last layer.
      if (i > 0 && ws.merged[i - 1]) {
        const below = this.all[i - 1];
        const into = ws.dOutputs[free ^ 1];
        k.merge_backward(into, dInput, ws.outputs[i - 1], n, below.core.hiddenSize, MERGE[below.core.mergeMode]);
        dTop = into;
      } else {
        dTop = dInput;
        free ^= 1;
      }
    }
  }

  /**
   * The state core's state after the last step, into h and c [L·D, B, H]: each forward direction's after its
   * column's last step, each reverse direction's after t = 0; the cell state likewise for an LSTM (c null otherwise).
   */
  finalState(ctx: Context, s: Stream, lengths: Int32Array | null, h: Float32Array, cs: Float32Array | null): void {
    const { T, B } = s;
    const m = ctx.heap.f32;
    const ws = this.ws!;
    for (let i = 0; i < this.all.length; i++) {
      const l = this.all[i];
      if (!l.holdsState) continue;
      const H = l.core.hiddenSize;
      for (const p of l.directions) {
        const to = this.state(0, 0, l, p.direction, B) / 4;
        const cellStates = l.cell.cellStates(ws.caches[i][p.direction]) / 4;
        for (let b = 0; b < B; b++) {
          const t = backwards(l, p.direction) ? 0 : (lengths ? lengths[b] : T) - 1;
          const from = ws.outputs[i] / 4 + (t * B + b) * l.width + p.direction * H;
          h.set(m.subarray(from, from + H), to + b * H);
          if (cs) cs.set(m.subarray(cellStates + (t * B + b) * H, cellStates + (t * B + b + 1) * H), to + b * H);
        }
      }
    }
  }

  /** Pointers to a one-step call's new states, one per layer [B, H] (h, and c for an LSTM). */
  stepStates(): { h: number[]; c: number[] | null } {
    const ws = this.ws!;
    const cell = this.all[0].cell;
    return { h: ws.outputs, c: cell.cellState ? ws.caches.map((p) => cell.cellStates(p[0])) : null };
  }

  /** Packs every recurrent weight as the forward kernels read it: once, and again after the weights change. */
  private pack(ctx: Context): void {
    let i = 0;
    for (const l of this.all) {
      const rows = l.cell.gates * l.core.hiddenSize;
      for (const p of l.directions) {
        ctx.k.pack_weights(this.packed[i].ih, ctx.param(p.weightIh), rows, p.inputSize);
        ctx.k.pack_weights(this.packed[i].hh, ctx.param(p.weightHh), rows, l.core.hiddenSize);
        i++;
      }
    }
    this.fresh = true;
  }

  /** The output of the layer below layer i, as the layer i reads it: its core's merged output where it has one. */
  private below(i: number): number {
    const ws = this.ws!;
    return ws.merged[i - 1] || ws.outputs[i - 1];
  }

  /** Draws a fresh dropout mask and applies it: `into` = `from` ⊙ mask. */
  private dropout(ctx: Context, mask: number, from: number, into: number, n: number): void {
    const p = this.c.dropout;
    const m = ctx.heap.f32;
    for (let i = 0; i < n; i++) m[mask / 4 + i] = ctx.random.next() < p ? 0 : 1 / (1 - p);
    ctx.k.multiply(into, from, mask, n);
  }

  /** final[b] = the last layer's state at each direction's last step (cat(h_n[-2], h_n[-1])), then merged. */
  private gatherFinal(ctx: Context, s: Stream): void {
    const ws = this.ws!;
    const top = this.all.length - 1;
    const l = this.all[top];
    const m = ctx.heap.f32;
    this.eachFinalRow(ctx, s, l, (from, to, n) =>
      m.copyWithin(ws.finalRaw / 4 + to, ws.outputs[top] / 4 + from, ws.outputs[top] / 4 + from + n),
    );
    if (s.final !== ws.finalRaw) ctx.k.merge_forward(s.final, ws.finalRaw, s.B, l.core.hiddenSize, MERGE[l.core.mergeMode]);
  }

  /** The final states' gradient back into the last layer's output rows; every other row's gradient is zero. */
  private scatterFinal(ctx: Context, s: Stream, into: number): void {
    const ws = this.ws!;
    const l = this.all[this.all.length - 1];
    const m = ctx.heap.f32;
    let raw = s.dFinal;
    if (l.core.mergeMode !== 'concat') {
      ctx.k.merge_backward(ws.dFinalRaw, s.dFinal, ws.finalRaw, s.B, l.core.hiddenSize, MERGE[l.core.mergeMode]);
      raw = ws.dFinalRaw;
    }
    ctx.heap.fill(into, s.T * s.B * l.width);
    // Each half of a final state is one output row's half, and nothing else reaches it: a copy, not a sum.
    this.eachFinalRow(ctx, s, l, (from, to, n) => m.copyWithin(into / 4 + from, raw / 4 + to, raw / 4 + to + n));
  }

  /** For each column and direction: where its final state sits in the layer's output, where it goes in [B, D·H], and H. */
  private eachFinalRow(ctx: Context, s: Stream, l: Layer, visit: (from: number, to: number, n: number) => void): void {
    const { T, B } = s;
    const H = l.core.hiddenSize;
    const lengths = ctx.heap.i32;
    for (let b = 0; b < B; b++) {
      const last = (s.lengths ? lengths[s.lengths / 4 + b] : T) - 1;
      for (let d = 0; d < l.directions.length; d++) {
        const t = backwards(l, d) ? 0 : last; // a reverse direction ends at t = 0
        visit((t * B + b) * l.width + d * H, b * l.width + d * H, H);
      }
    }
  }

  /**
   * Byte offset of one layer-direction's [B, H] slice of a [L·D, B, H] state tensor at `base`, for the state
   * core's layers; for any other core's, the shared `other` buffer (zeros in, or the gradient's sink).
   */
  private state(base: number, other: number, l: Layer, direction: number, B: number): number {
    if (!l.holdsState) return other;
    return base + (l.stateIndex * l.directions.length + direction) * B * l.core.hiddenSize * 4;
  }

  /** The pointers and sizes of one direction of one layer, as the cell kernels take them. */
  private call(ctx: Context, s: Stream, ws: CoreBuffers, l: Layer, i: number, p: LayerParams, index: number): CellCall {
    const H = l.core.hiddenSize;
    return {
      out: ws.outputs[i] + p.direction * H * 4,
      cache: ws.caches[i][p.direction],
      scratch: ws.scratch,
      x: ws.inputs[i],
      lengths: s.lengths,
      h0: this.state(s.h0, ws.zeros, l, p.direction, s.B),
      c0: l.cell.cellState ? this.state(s.c0, ws.zeros, l, p.direction, s.B) : 0,
      w_ih: ctx.param(p.weightIh),
      w_hh: ctx.param(p.weightHh),
      pw_ih: this.packed[index].ih,
      pw_hh: this.packed[index].hh,
      b_ih: ctx.param(p.biasIh),
      b_hh: ctx.param(p.biasHh),
      T: s.T,
      B: s.B,
      I: p.inputSize,
      H,
      ldo: l.width,
      reverse: backwards(l, p.direction) ? 1 : 0,
      relu: l.core.nonlinearity === 'relu' ? 1 : 0,
      gate: GATE[l.core.recurrentActivation],
      resetAfter: l.core.resetAfter ? 1 : 0,
    };
  }
}

/** Whether direction d of the layer runs from the end of the sequence: a bidirectional's second, or a reverse core's only one. */
const backwards = (l: Layer, d: number) => d === 1 || l.core.reverse;

export const core: PartFactory = (c, params) => new Core(c, params);
