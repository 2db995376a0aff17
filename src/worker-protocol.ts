/**
 * The messages between a WorkerRNN (the page's side) and serveRNN() (the worker's side). Both import this
 * module only, never each other, so a page that only drives a worker does not bundle the model code.
 */
import type { BackendName } from './backend.js';
import type { ModelConfig } from './types.js';
import type { RNNOptions } from './options.js';
import type { TrainProgress } from './train.js';

/** Tags every message, so that a worker may carry other traffic beside this protocol's. */
export const PROTOCOL = 'rnn-wasm/worker/1';

/** The RNN methods a WorkerRNN forwards, each run in the worker as it would run on the page. */
export const METHODS = ['unroll', 'cell', 'generate', 'gradients', 'evaluate', 'step', 'train', 'stateDict', 'loadStateDict',
  'optimizerState', 'loadOptimizerState', 'resetOptimizer', 'dispose'] as const;

export type Method = (typeof METHODS)[number];

/** What both sides talk through: a Worker, a worker's global scope, or a MessagePort. */
export interface MessageEndpoint {
  /** Sends a message (structured clone) to the other side. */
  postMessage(message: unknown): void;
  /** Listens for the other side's messages ('message', 'error', 'messageerror'). */
  addEventListener(type: string, listener: (event: Event) => void): void;
  /** Stops listening. */
  removeEventListener(type: string, listener: (event: Event) => void): void;
  /** A MessagePort delivers nothing until started; Workers have no such step. */
  start?: (() => void) | undefined;
}

export type Request =
  | { protocol: typeof PROTOCOL; id: number; op: 'create'; options: RNNOptions }
  | { protocol: typeof PROTOCOL; id: number; op: 'call'; model: number; method: Method; args: unknown[]; progress: boolean };

export type Reply =
  | { protocol: typeof PROTOCOL; id: number; kind: 'progress'; progress: TrainProgress }
  | { protocol: typeof PROTOCOL; id: number; kind: 'result'; value: unknown }
  | { protocol: typeof PROTOCOL; id: number; kind: 'error'; name: string; message: string };

/** A message without its envelope (the tag and the request's number), one variant at a time. */
type Body<M> = M extends unknown ? Omit<M, 'protocol' | 'id'> : never;
export type RequestBody = Body<Request>;
export type ReplyBody = Body<Reply>;

/** The answer to 'create': the model's handle in the worker and what the page may read synchronously. */
export interface ModelInfo {
  model: number;
  backend: BackendName;
  numParameters: number;
  config: ModelConfig;
}
