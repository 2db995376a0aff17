/**
 * The page's side of a model that lives in a Web Worker: the RNN's methods, each a message to the worker and
 * a promise of its answer, with training progress reported as it happens. The page keeps painting and
 * answering input while the worker computes.
 *
 * ```ts
 * const worker = new Worker(new URL('./rnn.worker.js', import.meta.url), { type: 'module' }); // runs serveRNN()
 * const net = await WorkerRNN.create(worker, { cell: 'gru', inputSize: 30, hiddenSize: 128, outputSize: 30 });
 * await net.train(data, { epochs: 5, onProgress: (p) => chart.add(p.loss) });
 * const { ids } = await net.generate(prompt, { steps: 200, sample: true });
 * ```
 *
 * Arguments and results cross by structured clone (copies; nothing of the caller's is detached).
 */
import type { BackendName } from './backend.js';
import {
  DisposedError, FormatError, MemoryLimitError, NonFiniteError, NotFoundError, OptionError, RnnError, ShapeError, StateDictError, VersionError,
  WasmLoadError, WorkerError,
} from './errors.js';
import type { LossOptions, ModelConfig, TensorInput } from './types.js';
import type { EvaluateResult, RNN } from './model.js';
import type { RNNOptions, WasmSource, WasmSources } from './options.js';
import type { TrainOptions, TrainProgress } from './train.js';
import { type MessageEndpoint, type Method, type ModelInfo, PROTOCOL, type Reply, type RequestBody } from './worker-protocol.js';

/** The errors a worker can report, re-created on the page as the same classes. */
const ERRORS: Record<string, new (message: string) => RnnError> = {
  RnnError, OptionError, ShapeError, NonFiniteError, StateDictError, DisposedError, MemoryLimitError, WasmLoadError,
  WorkerError, FormatError, VersionError, NotFoundError,
};

/** The arguments of RNN's method M. @inline */
type Args<M extends Method> = Parameters<RNN[M]>;
/** A promise of what RNN's method M returns. @inline */
type Result<M extends Method> = Promise<Awaited<ReturnType<RNN[M]>>>;

/** The page's side of a model that lives in a Web Worker (which runs `serveRNN()`): RNN's methods, each a message to the worker and a promise of its answer, with training progress reported as it happens. Arguments and results cross by structured clone. */
export class WorkerRNN {
  /** Which implementation runs the kernels in the worker. */
  readonly backend: BackendName;
  /** Number of trainable parameters (a tied weight counted once). */
  readonly numParameters: number;
  /** The configuration, every default filled in (frozen). */
  readonly config: ModelConfig;
  /** @internal */
  private readonly connection: Connection;
  /** The model's number in the worker. @internal */
  private readonly model: number;
  /** @internal */
  private released = false;

  private constructor(connection: Connection, info: ModelInfo) {
    this.connection = connection;
    this.model = info.model;
    this.backend = info.backend;
    this.numParameters = info.numParameters;
    this.config = Object.freeze(info.config);
  }

  /**
   * Creates a model inside `worker`, which must run `serveRNN()`. The options are RNN.create's; relative
   * `wasm` URLs are resolved against this page, not the worker's script.
   */
  static async create(worker: MessageEndpoint, options: RNNOptions): Promise<WorkerRNN> {
    const connection = Connection.of(worker);
    const info = await connection.request({ op: 'create', options: portable(options) }) as ModelInfo;
    return new WorkerRNN(connection, info);
  }

  /** RNN.unroll in the worker. */
  unroll(...args: Args<'unroll'>): Result<'unroll'> { return this.call('unroll', args); }
  /** RNN.cell in the worker. */
  cell(...args: Args<'cell'>): Result<'cell'> { return this.call('cell', args); }
  /** RNN.generate in the worker. */
  generate(...args: Args<'generate'>): Result<'generate'> { return this.call('generate', args); }
  /** RNN.gradients in the worker. */
  gradients(...args: Args<'gradients'>): Result<'gradients'> { return this.call('gradients', args); }
  /** RNN.evaluate in the worker: the loss. */
  evaluate(input: TensorInput, target: TensorInput, options?: LossOptions & { withState?: false | undefined }): Promise<number>;
  /** RNN.evaluate in the worker, with `withState: true`: the loss and the state after the batch. */
  evaluate(input: TensorInput, target: TensorInput, options: LossOptions & { withState: true }): Promise<EvaluateResult>;
  evaluate(...args: unknown[]): Promise<number | EvaluateResult> {
    return this.call('evaluate', args as Args<'evaluate'>) as Promise<number | EvaluateResult>;
  }
  /** RNN.step in the worker. */
  step(...args: Args<'step'>): Result<'step'> { return this.call('step', args); }
  /** RNN.stateDict in the worker: a copy of every parameter. */
  stateDict(): Result<'stateDict'> { return this.call('stateDict', []); }
  /** RNN.loadStateDict in the worker. */
  loadStateDict(...args: Args<'loadStateDict'>): Result<'loadStateDict'> { return this.call('loadStateDict', args); }
  /** RNN.optimizerState in the worker. */
  optimizerState(): Result<'optimizerState'> { return this.call('optimizerState', []); }
  /** RNN.loadOptimizerState in the worker. */
  loadOptimizerState(...args: Args<'loadOptimizerState'>): Result<'loadOptimizerState'> { return this.call('loadOptimizerState', args); }
  /** RNN.resetOptimizer in the worker. */
  resetOptimizer(): Result<'resetOptimizer'> { return this.call('resetOptimizer', []); }

  /** RNN.train in the worker; `onProgress` is called on this page after every batch. */
  train(data: Args<'train'>[0], options: TrainOptions = {}): Result<'train'> {
    const { onProgress, ...rest } = options;
    if (onProgress !== undefined && typeof onProgress !== 'function') throw new OptionError('train.onProgress must be a function');
    return this.call('train', [data, rest], onProgress);
  }

  /** Frees the model in the worker; later calls throw DisposedError. The worker itself stays the caller's. */
  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.connection.request({ op: 'call', model: this.model, method: 'dispose', args: [], progress: false });
  }

  /** Whether `dispose()` has been called. */
  get disposed(): boolean {
    return this.released;
  }

  /** @internal */
  private call<M extends Method>(method: M, args: unknown[], onProgress?: (progress: TrainProgress) => void): Result<M> {
    if (this.released) return Promise.reject(new DisposedError('this model was disposed; create a new one'));
    return this.connection.request({ op: 'call', model: this.model, method, args, progress: onProgress !== undefined },
      onProgress) as Result<M>;
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  onProgress?: (progress: TrainProgress) => void;
}

/** One per endpoint, shared by every model in that worker: numbers the requests and routes the replies. */
class Connection {
  private static readonly all = new WeakMap<MessageEndpoint, Connection>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Set when the worker failed; every later request fails with it instead of waiting forever. */
  private failure: WorkerError | null = null;

  static of(endpoint: MessageEndpoint): Connection {
    const e = endpoint as Partial<MessageEndpoint> | null;
    if (e === null || typeof e !== 'object' || typeof e.postMessage !== 'function' || typeof e.addEventListener !== 'function'
      || typeof e.removeEventListener !== 'function') {
      const node = typeof (e as { on?: unknown } | null)?.on === 'function'
        ? ": a Node worker_threads Worker is an EventEmitter; pass a MessagePort of a MessageChannel it serves (serveRNN(port))"
        : '';
      throw new OptionError(`WorkerRNN: expected a Worker, a worker's scope or a MessagePort (postMessage and addEventListener)${node}`);
    }
    let connection = Connection.all.get(endpoint);
    if (!connection) {
      connection = new Connection(endpoint);
      Connection.all.set(endpoint, connection);
    }
    return connection;
  }

  private constructor(private readonly endpoint: MessageEndpoint) {
    endpoint.addEventListener('message', (event) => this.receive((event as MessageEvent).data as Reply | undefined));
    endpoint.addEventListener('messageerror', () => this.fail('a reply from the worker could not be deserialised'));
    // A Worker whose script is missing or throws while loading reports it here, and would never answer.
    endpoint.addEventListener('error', (event) => this.fail((event as ErrorEvent).message
      || 'the worker did not start: check its URL, and that it is served as JavaScript and runs serveRNN()'));
    endpoint.start?.();
  }

  request(body: RequestBody, onProgress?: (progress: TrainProgress) => void): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.endpoint.postMessage({ protocol: PROTOCOL, id, ...body });
    });
  }

  private receive(reply: Reply | undefined) {
    if (reply?.protocol !== PROTOCOL) return;
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    if (reply.kind === 'progress') {
      pending.onProgress?.(reply.progress);
      return;
    }
    this.pending.delete(reply.id);
    if (reply.kind === 'result') pending.resolve(reply.value);
    else pending.reject(new (ERRORS[reply.name] ?? RnnError)(reply.message));
  }

  private fail(reason: string) {
    this.failure = new WorkerError(`WorkerRNN: ${reason}`);
    for (const pending of this.pending.values()) pending.reject(this.failure);
    this.pending.clear();
  }
}

/**
 * RNNOptions as they can cross to the worker: URL objects do not survive structured cloning, and a relative
 * URL must mean what it means on this page, so `wasm` URLs become absolute strings.
 */
function portable(options: RNNOptions): RNNOptions {
  if (options === null || typeof options !== 'object' || options.wasm === undefined) return options;
  const { wasm } = options;
  if (typeof wasm === 'string' || wasm instanceof URL) return { ...options, wasm: absolute(wasm) };
  if (wasm === null || typeof wasm !== 'object') return options; // RNN.create in the worker names the problem
  const sources: WasmSources = { ...wasm };
  for (const build of ['simd', 'scalar'] as const) {
    const source: WasmSource | undefined = sources[build];
    if (typeof source === 'string' || source instanceof URL) sources[build] = absolute(source);
  }
  return { ...options, wasm: sources };
}

function absolute(url: string | URL): string {
  const base = (globalThis as { document?: { baseURI: string } }).document?.baseURI
    ?? (globalThis as { location?: { href: string } }).location?.href;
  try {
    return new URL(url, base).href;
  } catch {
    return String(url); // no page to resolve against (e.g. Node); the worker resolves it or names the problem
  }
}
