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
 * Arguments and results cross by structured clone (copies; nothing of the caller's is detached). No call
 * waits forever: worker-connection.ts's Connection watches the worker and rejects every pending call when it ends.
 */
import type { BackendName } from './backend.js';
import { DisposedError, OptionError, WorkerError } from './errors.js';
import type { FileSource } from './io/source.js';
import type { LoadOptions } from './io/checkpoint.js';
import type { ModelJSON } from './io/model-json.js';
import type { SafetensorsOptions } from './io/weights.js';
import type { LossOptions, ModelConfig, TensorInput } from './types.js';
import type { EvaluateResult, RNN } from './model.js';
import { type RNNOptions, WASM_BUILDS, type WasmSource, type WasmSources } from './options.js';
import type { TrainOptions } from './train.js';
import { type Callbacks, Connection, type ConnectOptions, type Endpoint } from './worker-connection.js';
import type { Factory, Method, ModelInfo, Property } from './worker-protocol.js';

/** The arguments of RNN's method M. @inline */
type Args<M extends Method> = Parameters<RNN[M]>;
/** A promise of what RNN's method M returns. @inline */
type Result<M extends Method> = Promise<Awaited<ReturnType<RNN[M]>>>;

/** The page's side of a model that lives in a Web Worker (which runs `serveRNN()`): RNN's methods, each a message to the worker and a promise of its answer, with training progress reported as it happens. Arguments and results cross by structured clone. */
export class WorkerRNN {
  /** Which implementation runs the kernels in the worker. */
  readonly backend: BackendName;
  /** Threads that run the kernels in the worker (a threaded model needs a cross-origin-isolated page). */
  readonly threads: number;
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
    this.threads = info.threads;
    this.numParameters = info.numParameters;
    this.config = Object.freeze(info.config);
  }

  /**
   * Creates a model inside `worker`, which must run `serveRNN()`: a Worker, a MessagePort it serves, or a Node
   * `worker_threads` Worker. The options are RNN.create's; relative `wasm` URLs are resolved against this page,
   * not the worker's script. `connect.timeout` bounds the wait for the worker's first answer.
   */
  static create(worker: Endpoint, options: RNNOptions, connect?: ConnectOptions): Promise<WorkerRNN> {
    return WorkerRNN.make(worker, 'create', [portable(options)], connect);
  }

  /** RNN.load in the worker: `save()`'s bytes, or a URL (relative to this page) that the worker fetches. */
  static load(worker: Endpoint, source: FileSource, options?: LoadOptions, connect?: ConnectOptions): Promise<WorkerRNN> {
    return WorkerRNN.make(worker, 'load', [portableSource(source), portable(options)], connect);
  }

  /** RNN.fromSafetensors in the worker: PyTorch weights as bytes, or a URL that the worker fetches. */
  static fromSafetensors(worker: Endpoint, source: FileSource, options?: SafetensorsOptions, connect?: ConnectOptions): Promise<WorkerRNN> {
    return WorkerRNN.make(worker, 'fromSafetensors', [portableSource(source), portable(options)], connect);
  }

  /** RNN.fromJSON in the worker: `toJSON()`'s object or its JSON text. */
  static fromJSON(worker: Endpoint, json: string | ModelJSON, options?: LoadOptions, connect?: ConnectOptions): Promise<WorkerRNN> {
    return WorkerRNN.make(worker, 'fromJSON', [json, portable(options)], connect);
  }

  /** @internal */
  private static async make(worker: Endpoint, factory: Factory, args: unknown[], connect: ConnectOptions = {}): Promise<WorkerRNN> {
    const connection = Connection.of(worker);
    await connection.ready(connect, `WorkerRNN.${factory}`);
    // Trailing undefined options stay off the wire, so that the worker's defaults apply as they would here.
    while (args.length > 0 && args[args.length - 1] === undefined) args.pop();
    const info = (await connection.request({ op: 'create', factory, args })) as ModelInfo;
    return new WorkerRNN(connection, info);
  }

  /** RNN.unroll in the worker. */
  unroll(...args: Args<'unroll'>): Result<'unroll'> {
    return this.call('unroll', args);
  }
  /** RNN.cell in the worker. */
  cell(...args: Args<'cell'>): Result<'cell'> {
    return this.call('cell', args);
  }
  /** RNN.generate in the worker. */
  generate(...args: Args<'generate'>): Result<'generate'> {
    return this.call('generate', args);
  }
  /** RNN.gradients in the worker. */
  gradients(...args: Args<'gradients'>): Result<'gradients'> {
    return this.call('gradients', args);
  }
  /** RNN.evaluate in the worker: the loss. */
  evaluate(input: TensorInput, target: TensorInput, options?: LossOptions & { withState?: false | undefined }): Promise<number>;
  /** RNN.evaluate in the worker, with `withState: true`: the loss and the state after the batch. */
  evaluate(input: TensorInput, target: TensorInput, options: LossOptions & { withState: true }): Promise<EvaluateResult>;
  evaluate(...args: unknown[]): Promise<number | EvaluateResult> {
    return this.call('evaluate', args as Args<'evaluate'>) as Promise<number | EvaluateResult>;
  }
  /** RNN.step in the worker. */
  step(...args: Args<'step'>): Result<'step'> {
    return this.call('step', args);
  }
  /** RNN.stateDict in the worker: a copy of every parameter. */
  stateDict(): Result<'stateDict'> {
    return this.call('stateDict', []);
  }
  /** RNN.loadStateDict in the worker. */
  loadStateDict(...args: Args<'loadStateDict'>): Result<'loadStateDict'> {
    return this.call('loadStateDict', args);
  }
  /** RNN.optimizerState in the worker. */
  optimizerState(): Result<'optimizerState'> {
    return this.call('optimizerState', []);
  }
  /** RNN.loadOptimizerState in the worker. */
  loadOptimizerState(...args: Args<'loadOptimizerState'>): Result<'loadOptimizerState'> {
    return this.call('loadOptimizerState', args);
  }
  /** RNN.resetOptimizer in the worker. */
  resetOptimizer(): Result<'resetOptimizer'> {
    return this.call('resetOptimizer', []);
  }

  /** RNN.save in the worker: the checkpoint's bytes, moved to this page. */
  save(...args: Args<'save'>): Result<'save'> {
    return this.call('save', args);
  }
  /** RNN.toSafetensors in the worker: the weights' bytes, moved to this page. */
  toSafetensors(): Result<'toSafetensors'> {
    return this.call('toSafetensors', []);
  }
  /**
   * RNN.toJSON in the worker, as a promise: `JSON.stringify(await net.toJSON())`. (JSON.stringify(net) does not
   * wait for promises, and writes `{}`.)
   */
  toJSON(): Result<'toJSON'> {
    return this.call('toJSON', []);
  }

  /** The model's generator state in the worker (RNN's `generatorState`). */
  getGeneratorState(): Promise<number> {
    return this.property('generatorState') as Promise<number>;
  }
  /** Sets the model's generator state in the worker (RNN's `generatorState`). */
  setGeneratorState(state: number): Promise<void> {
    return this.property('generatorState', state) as Promise<void>;
  }
  /** A copy of the model's metadata in the worker (RNN's `metadata`), which `save()` and `toJSON()` write. */
  getMetadata(): Promise<Record<string, string>> {
    return this.property('metadata') as Promise<Record<string, string>>;
  }
  /** Replaces the model's metadata in the worker; refused (OptionError) unless it is an object of strings. */
  setMetadata(metadata: Readonly<Record<string, string>>): Promise<void> {
    return this.property('metadata', metadata) as Promise<void>;
  }

  /** RNN.train in the worker; `onProgress` (after every batch) and `onEpoch` are called on this page. */
  train(data: Args<'train'>[0], options: TrainOptions = {}): Result<'train'> {
    const { onProgress, onEpoch, ...rest } = options ?? {};
    if (onProgress !== undefined && typeof onProgress !== 'function')
      return Promise.reject(new OptionError('train.onProgress must be a function'));
    if (onEpoch !== undefined && typeof onEpoch !== 'function') return Promise.reject(new OptionError('train.onEpoch must be a function'));
    return this.call('train', [data, rest], { onProgress, onEpoch });
  }

  /**
   * Frees the model in the worker; later calls throw DisposedError. The worker itself stays the caller's.
   * Where the worker has ended already, there is nothing left to free, and this resolves.
   */
  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      await this.connection.request({ op: 'call', model: this.model, method: 'dispose', args: [], progress: false, epochs: false });
    } catch (error) {
      if (!(error instanceof WorkerError && this.connection.failed)) throw error;
    }
  }

  /** Whether `dispose()` has been called. */
  get disposed(): boolean {
    return this.released;
  }

  /** @internal */
  private call<M extends Method>(method: M, args: unknown[], callbacks: Callbacks = {}): Result<M> {
    if (this.released) return Promise.reject(new DisposedError('this model was disposed; create a new one'));
    const body = {
      op: 'call',
      model: this.model,
      method,
      args,
      progress: callbacks.onProgress !== undefined,
      epochs: callbacks.onEpoch !== undefined,
    } as const;
    return this.connection.request(body, callbacks) as Result<M>;
  }

  /** @internal */
  private property(property: Property, ...value: [] | [unknown]): Promise<unknown> {
    if (this.released) return Promise.reject(new DisposedError('this model was disposed; create a new one'));
    return this.connection.request(
      value.length === 0 ? { op: 'get', model: this.model, property } : { op: 'set', model: this.model, property, value: value[0] },
    );
  }
}

/** A model file's source as it can cross: bytes as they are (copied), a URL made absolute against this page. */
function portableSource(source: FileSource): FileSource {
  return typeof source === 'string' || source instanceof URL ? absolute(source) : source;
}

/**
 * RNNOptions as they can cross to the worker: URL objects do not survive structured cloning, and a relative
 * URL must mean what it means on this page, so `wasm` URLs become absolute strings.
 */
function portable<T extends Pick<RNNOptions, 'wasm'>>(options: T): T;
function portable<T extends Pick<RNNOptions, 'wasm'>>(options: T | undefined): T | undefined;
function portable<T extends Pick<RNNOptions, 'wasm'>>(options: T | undefined): T | undefined {
  if (options === null || typeof options !== 'object' || options.wasm === undefined) return options;
  const { wasm } = options;
  if (typeof wasm === 'string' || wasm instanceof URL) return { ...options, wasm: absolute(wasm) };
  if (wasm === null || typeof wasm !== 'object') return options; // RNN.create in the worker names the problem
  const sources: WasmSources = { ...wasm };
  for (const build of WASM_BUILDS) {
    const source: WasmSource | undefined = sources[build];
    if (typeof source === 'string' || source instanceof URL) sources[build] = absolute(source);
  }
  return { ...options, wasm: sources };
}

function absolute(url: string | URL): string {
  const base =
    (globalThis as { document?: { baseURI: string } }).document?.baseURI ?? (globalThis as { location?: { href: string } }).location?.href;
  try {
    return new URL(url, base).href;
  } catch {
    return String(url); // no page to resolve against (e.g. Node): a path, read by the worker as this thread would
  }
}
