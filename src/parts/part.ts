/**
 * What a part of a model is to the engine: a slice of the parameter block (declared once, from the
 * configuration), a slice of each call's workspace, and its kernels' forward and backward. The parts are chained
 * through one `Stream` per call: the embedding writes the core's input, the core its features, the head y; the
 * gradients flow back the same way. The engine runs them in the order of the table in parts/index.ts.
 */
import type { Kernels } from '../backend.js';
import type { Heap } from '../heap.js';
import type { ParameterPlan, Take } from '../layout.js';
import type { Random } from '../random.js';
import type { ModelConfig } from '../types.js';

/** One call's buffers that the parts share (byte offsets into the heap; 0 means absent). */
export interface Stream {
  readonly T: number;
  readonly B: number;
  /** [B] int32 valid steps per column, or 0 when every column runs T steps. */
  readonly lengths: number;
  /** Dropout on (gradients, step, train, or unroll with `training`). */
  readonly training: boolean;
  /** The core's input [T, B, I]: the caller's vectors, or what the embedding gathered. */
  readonly x: number;
  /** The token ids [T, B] int32, with an embedding: set by it. */
  ids: number;
  /** The gradient into x [T, B, I], or 0 when nothing needs it (a training step without an embedding). */
  dx: number;
  /** Initial states [L·D, B, H] and their gradients; c0 and dc0 only for an LSTM. */
  readonly h0: number;
  readonly c0: number;
  readonly dh0: number;
  readonly dc0: number;
  /** The loss's gradient on y: [T·B, O], or [B, O] for a head on the final states. */
  readonly dy: number;
  /** The last core's output [T, B, D·H] (D·H becomes H where a merge joins the directions): set by the core. */
  features: number;
  /** With the head on the final states: the last core's final states [B, D·H] (merged likewise) and their gradient, set by the core; else 0. */
  final: number;
  dFinal: number;
  /** Where the gradient on `features` is: the head's buffer, or dy itself without a head. */
  dFeatures: number;
  /** The model's output: the head's, or the features without a head. */
  y: number;
  /** The head's output before its activation (y itself for a linear head, or without a head): what cross-entropy reads. */
  logits: number;
  /** Set by the loss: its gradient `dy` is on the logits (cross-entropy), not on y. */
  lossOnLogits: boolean;
}

/** What a part's kernels reach through: the backend, its heap, the generator, and the parameter block. */
export interface Context {
  readonly k: Kernels;
  readonly heap: Heap;
  readonly random: Random;
  /** Byte offset of a parameter (an element offset in the block; -1, absent, is 0). */
  param(offset: number): number;
  grad(offset: number): number;
}

export interface Part {
  /** Memory the part keeps for the model's lifetime (the core's packed weights), laid out once after the gradients. */
  lasting?(take: Take, k: Kernels): void;
  /** The parameters were written: anything derived from them (packed copies) is stale. */
  parametersChanged?(): void;
  /** Lays out this part's slice of a call's workspace and links it into the stream. */
  plan(ctx: Context, s: Stream, take: Take): void;
  forward(ctx: Context, s: Stream): void;
  backward(ctx: Context, s: Stream): void;
}

/**
 * A row of the table of parts: declares the part's parameters in `state_dict` order and returns the part, or null
 * when a model of this configuration has no such part. Pure: the memory plan and the file readers call it too.
 */
export type PartFactory = (c: ModelConfig, params: ParameterPlan) => Part | null;
