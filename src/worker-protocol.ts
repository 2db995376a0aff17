/**
 * The messages between a WorkerRNN (the page's side) and serveRNN() (the worker's side). Both import this
 * module only, never each other, so a page that only drives a worker does not bundle the model code.
 *
 * A conversation: the page says 'hello' and the worker answers at once (with the name of a Web Lock it holds
 * while it lives, where it can take one); then 'create' requests make models and 'call', 'get' and 'set'
 * requests use them. Where the platform cannot tell the page that the worker ended, the page sends 'ping'
 * while calls are pending and the worker answers 'pong'. A worker that stops serving says 'stopped'.
 */
import type { BackendName } from './backend.js';
import type { ModelConfig } from './types.js';
import type { EpochRecord, TrainProgress } from './train.js';

/** Tags every message, so that a worker may carry other traffic beside this protocol's. */
export const PROTOCOL = 'rnn-wasm/worker/2';
/** What every version's tag starts with, so that a worker can name a page of another version instead of ignoring it. */
export const PROTOCOL_FAMILY = 'rnn-wasm/worker/';

/** The RNN methods a WorkerRNN forwards, each run in the worker as it would run on the page. */
export const METHODS = [
  'unroll',
  'cell',
  'generate',
  'gradients',
  'evaluate',
  'step',
  'train',
  'stateDict',
  'loadStateDict',
  'optimizerState',
  'loadOptimizerState',
  'resetOptimizer',
  'save',
  'toSafetensors',
  'toJSON',
  'dispose',
] as const;
export type Method = (typeof METHODS)[number];

/** The RNN's properties a WorkerRNN reads and writes. */
export const PROPERTIES = ['generatorState', 'metadata'] as const;
export type Property = (typeof PROPERTIES)[number];

/** The ways to make a model: RNN.create and the three loaders, run in the worker. */
export const FACTORIES = ['create', 'load', 'fromSafetensors', 'fromJSON'] as const;
export type Factory = (typeof FACTORIES)[number];

/** What both sides talk through: a Worker, a worker's global scope, or a MessagePort. */
export interface MessageEndpoint {
  /**
   * Sends a message (structured clone; `transfer` moves buffers instead of copying them) to the other side.
   * `transfer` is typed `object[]`, not the DOM's `Transferable[]`, so that a project without the DOM library
   * compiles these types; a Worker's or a MessagePort's postMessage fits either way.
   */
  postMessage(message: unknown, transfer?: object[]): void;
  /** Listens for the other side's messages ('message', 'error', 'messageerror'). */
  addEventListener(type: string, listener: (event: Event) => void): void;
  /** Stops listening. */
  removeEventListener(type: string, listener: (event: Event) => void): void;
  /** A MessagePort delivers nothing until started; Workers have no such step. */
  start?: (() => void) | undefined;
}

/**
 * A Node `worker_threads` Worker, which is an EventEmitter: it hands listeners the message itself, not an
 * event, and says 'exit' when its thread ends. WorkerRNN takes one as it is; the thread serves with serveRNN().
 */
export interface NodeWorkerEndpoint {
  /** Sends a message to the thread. */
  postMessage(message: unknown): void;
  /** Listens for the thread's 'message', 'error' and 'exit'. */
  on(type: string, listener: (value: unknown) => void): unknown;
  /** Stops listening. */
  off(type: string, listener: (value: unknown) => void): unknown;
  /** The thread's id, which tells a Node Worker from a MessagePort. */
  readonly threadId: number;
}

export type Request =
  | { protocol: typeof PROTOCOL; id: number; op: 'hello' }
  | { protocol: typeof PROTOCOL; id: number; op: 'create'; factory: Factory; args: unknown[] }
  | {
      protocol: typeof PROTOCOL;
      id: number;
      op: 'call';
      model: number;
      method: Method;
      args: unknown[];
      progress: boolean;
      epochs: boolean;
    }
  | { protocol: typeof PROTOCOL; id: number; op: 'get'; model: number; property: Property }
  | { protocol: typeof PROTOCOL; id: number; op: 'set'; model: number; property: Property; value: unknown }
  | { protocol: typeof PROTOCOL; id: 0; op: 'ping' };

export type Reply =
  | { protocol: typeof PROTOCOL; id: number; kind: 'progress'; progress: TrainProgress }
  | { protocol: typeof PROTOCOL; id: number; kind: 'epoch'; record: EpochRecord; history: EpochRecord[] }
  | { protocol: typeof PROTOCOL; id: number; kind: 'result'; value: unknown }
  | { protocol: typeof PROTOCOL; id: number; kind: 'error'; name: string; message: string }
  | { protocol: typeof PROTOCOL; id: 0; kind: 'pong' }
  | { protocol: typeof PROTOCOL; id: 0; kind: 'stopped' };

/** A message without its envelope (the tag and the request's number), one variant at a time. */
type Body<M> = M extends unknown ? Omit<M, 'protocol' | 'id'> : never;
export type RequestBody = Body<Exclude<Request, { op: 'ping' }>>;
export type ReplyBody = Body<Reply>;

/** The answer to 'hello'. */
export interface Hello {
  /** A Web Lock the worker holds until it ends: granted to the page, it says the worker is gone. Null where there is none. */
  lock: string | null;
}

/** The answer to 'create': the model's handle in the worker and what the page may read synchronously. */
export interface ModelInfo {
  model: number;
  backend: BackendName;
  threads: number;
  numParameters: number;
  config: ModelConfig;
}
