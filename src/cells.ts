/**
 * The one table that knows the recurrent cells. Each entry says how many gate blocks its weights stack,
 * what its forward pass caches and its backward pass needs as scratch, and how a uniform call maps onto its
 * kernels. The model class and the memory plan read this table and never name a cell themselves.
 */
import type { Kernels } from './backend.js';
import type { CellKind } from './types.js';

/** Byte offsets and sizes of one direction of one layer, for one call. */
export interface CellCall {
  /** This direction's H columns of the layer output [T, B, ldo]. */
  out: number;
  /** This layer-direction's forward cache, `cachePerRow(H)` floats per (t, b). */
  cache: number;
  /** Scratch shared by all layer-directions, `scratchPerRow(H)` floats per (t, b). */
  scratch: number;
  x: number;
  /** [B] int32 valid steps per column, or 0 when every column runs T steps. */
  lengths: number;
  h0: number;
  /** Initial cell state [B, H]; 0 for cells without one. */
  c0: number;
  w_ih: number;
  w_hh: number;
  /** w_ih and w_hh as `pack_weights` left them: what the forward kernels read. */
  pw_ih: number;
  pw_hh: number;
  /** 0 when the model has no recurrent biases. */
  b_ih: number;
  b_hh: number;
  T: number;
  B: number;
  I: number;
  H: number;
  ldo: number;
  reverse: number;
  /** 1: relu in place of tanh (the RNN's f; the LSTM's candidate and cell output; the GRU's candidate). */
  relu: number;
  /**
   * The LSTM's and GRU's gate function: 0 the logistic function, 1 the hard sigmoid clip(0.2·x + 0.5, 0, 1)
   * (tf.keras 2, tfjs, ONNX), 2 clip(x/6 + 0.5, 0, 1) (Keras 3, PyTorch's nn.Hardsigmoid). Absent: 0. The RNN
   * has no gates.
   */
  gate: number;
  /**
   * The GRU's reset gate: 1 after the recurrent product, r⊙(h W_hnᵀ + b_hn) (PyTorch; Keras reset_after=True;
   * ONNX linear_before_reset=1), 0 before it, (r⊙h) W_hnᵀ + b_hn (Keras reset_after=False, tfjs). Absent: 1.
   */
  resetAfter: number;
}

/** The backward pass's extra pointers: gradients (+=, except dh0/dc0 which are written) and dout. */
interface CellGradients {
  dx: number;
  dh0: number;
  dc0: number;
  dw_ih: number;
  dw_hh: number;
  db_ih: number;
  db_hh: number;
  dout: number;
}

export interface CellSpec {
  /** Gate blocks stacked in the weight rows, in PyTorch's order. */
  readonly gates: number;
  /** PyTorch's gate order, for documentation and error messages. */
  readonly gateOrder: string;
  /** Whether the cell carries a cell state c beside h (LSTM). */
  readonly cellState: boolean;
  cachePerRow(H: number): number;
  scratchPerRow(H: number): number;
  /** Byte offset of the cell states [T, B, H] inside a layer-direction's cache (cells with `cellState`). */
  cellStates(cache: number): number;
  forward(k: Kernels, a: CellCall): void;
  backward(k: Kernels, a: CellCall, d: CellGradients): void;
}

export const CELLS: Readonly<Record<CellKind, CellSpec>> = {
  rnn: {
    gates: 1,
    gateOrder: 'h',
    cellState: false,
    cachePerRow: () => 0, // the output itself is the cache: f' comes from h
    scratchPerRow: (H) => H, // pre-activation gradients
    cellStates: () => 0,
    forward: (k, a) =>
      k.rnn_forward(a.out, a.x, a.lengths, a.h0, a.pw_ih, a.pw_hh, a.b_ih, a.b_hh, a.T, a.B, a.I, a.H, a.ldo, a.reverse, a.relu),
    backward: (k, a, d) =>
      k.rnn_backward(
        d.dx,
        d.dh0,
        d.dw_ih,
        d.dw_hh,
        d.db_ih,
        d.db_hh,
        a.scratch,
        d.dout,
        a.out,
        a.x,
        a.lengths,
        a.h0,
        a.w_ih,
        a.w_hh,
        a.T,
        a.B,
        a.I,
        a.H,
        a.ldo,
        a.reverse,
        a.relu,
      ),
  },
  lstm: {
    gates: 4,
    gateOrder: 'i, f, g, o',
    cellState: true,
    cachePerRow: (H) => H + 4 * H, // c, then the four activated gates
    scratchPerRow: (H) => 4 * H, // gate pre-activation gradients
    cellStates: (cache) => cache,
    forward: (k, a) =>
      k.lstm_forward(
        a.out,
        a.cache,
        gatesAfterCells(a),
        a.x,
        a.lengths,
        a.h0,
        a.c0,
        a.pw_ih,
        a.pw_hh,
        a.b_ih,
        a.b_hh,
        a.T,
        a.B,
        a.I,
        a.H,
        a.ldo,
        a.reverse,
        a.gate,
        a.relu,
      ),
    backward: (k, a, d) =>
      k.lstm_backward(
        d.dx,
        d.dh0,
        d.dc0,
        d.dw_ih,
        d.dw_hh,
        d.db_ih,
        d.db_hh,
        a.scratch,
        d.dout,
        a.out,
        a.cache,
        gatesAfterCells(a),
        a.x,
        a.lengths,
        a.h0,
        a.c0,
        a.w_ih,
        a.w_hh,
        a.T,
        a.B,
        a.I,
        a.H,
        a.ldo,
        a.reverse,
        a.gate,
        a.relu,
      ),
  },
  gru: {
    gates: 3,
    gateOrder: 'r, z, n',
    cellState: false,
    cachePerRow: (H) => 3 * H + H, // the activated gates, then h W_hnᵀ + b_hn (or r⊙h[t-1] with the reset gate before)
    scratchPerRow: (H) => 6 * H, // input-side and hidden-side pre-activation gradients (either variant)
    cellStates: () => 0,
    // The forward pass borrows the start of the backward scratch for one step's hidden side [B, 3H].
    forward: (k, a) =>
      k.gru_forward(
        a.out,
        a.cache,
        hiddenNAfterGates(a),
        a.scratch,
        a.x,
        a.lengths,
        a.h0,
        a.pw_ih,
        a.pw_hh,
        a.b_ih,
        a.b_hh,
        a.T,
        a.B,
        a.I,
        a.H,
        a.ldo,
        a.reverse,
        a.gate,
        a.relu,
        a.resetAfter,
      ),
    backward: (k, a, d) =>
      k.gru_backward(
        d.dx,
        d.dh0,
        d.dw_ih,
        d.dw_hh,
        d.db_ih,
        d.db_hh,
        a.scratch,
        a.scratch + a.T * a.B * 3 * a.H * 4,
        d.dout,
        a.out,
        a.cache,
        hiddenNAfterGates(a),
        a.x,
        a.lengths,
        a.h0,
        a.w_ih,
        a.w_hh,
        a.T,
        a.B,
        a.I,
        a.H,
        a.ldo,
        a.reverse,
        a.gate,
        a.relu,
        a.resetAfter,
      ),
  },
};

const gatesAfterCells = (a: CellCall) => a.cache + a.T * a.B * a.H * 4;
const hiddenNAfterGates = (a: CellCall) => a.cache + a.T * a.B * 3 * a.H * 4;
