/**
 * The worker's side of WorkerRNN: `serveRNN()` in a Web Worker hosts models for the page, so that training
 * and inference run off the main thread and the page stays responsive.
 *
 * ```ts
 * // rnn.worker.ts, started with new Worker(new URL('./rnn.worker.ts', import.meta.url), { type: 'module' })
 * import { serveRNN } from 'rnn-wasm';
 * serveRNN();
 * ```
 */
import { DisposedError, OptionError } from './errors.js';
import { RNN } from './model.js';
import type { EpochRecord, TrainProgress } from './train.js';
import {
  FACTORIES,
  type Factory,
  type Hello,
  type MessageEndpoint,
  METHODS,
  type Method,
  type ModelInfo,
  PROPERTIES,
  PROTOCOL,
  PROTOCOL_FAMILY,
  type Property,
  type ReplyBody,
  type Request,
} from './worker-protocol.js';

interface Hosted {
  net: RNN;
  /** The end of this model's queue of calls. */
  last: Promise<unknown>;
}

interface Callbacks {
  onProgress?: (progress: TrainProgress) => void;
  onEpoch?: (record: EpochRecord, history: readonly EpochRecord[]) => void;
}

/**
 * Answers WorkerRNN requests arriving at `endpoint` (default: this worker's global scope, or in a Node
 * `worker_threads` thread its `parentPort`). Calls to one model run one at a time in the order they arrived.
 * Returns a function that stops serving: it tells the page (whose pending calls then reject with a
 * WorkerError) and frees the models; answers to calls still running are not sent.
 */
export function serveRNN(endpoint: MessageEndpoint = workerScope()): () => void {
  const models = new Map<number, Hosted>();
  let nextModel = 1;
  let stopped = false;
  const lock = holdLock();

  const post = (message: { id: number } & ReplyBody, transfer?: Transferable[]) => {
    if (stopped) return;
    try {
      endpoint.postMessage({ protocol: PROTOCOL, ...message }, transfer);
    } catch (error) {
      // A result that structured clone cannot copy (the page would wait for it forever): say so instead.
      if (message.kind !== 'result') throw error;
      const reason = error instanceof Error ? error.message : String(error);
      endpoint.postMessage({
        protocol: PROTOCOL,
        id: message.id,
        kind: 'error',
        name: 'WorkerError',
        message: `WorkerRNN: the worker's answer could not be sent: ${reason}`,
      });
    }
  };

  const handle = async (request: Request) => {
    const reply = (message: ReplyBody, transfer?: Transferable[]) => post({ id: request.id, ...message }, transfer);
    try {
      if (request.op === 'hello') {
        const hello: Hello = { lock: await lock.name };
        reply({ kind: 'result', value: hello });
        return;
      }
      if (request.op === 'create') {
        const net = await make(request.factory, request.args);
        if (stopped) {
          net.dispose();
          return;
        }
        const model = nextModel++;
        models.set(model, { net, last: Promise.resolve() });
        const info: ModelInfo = { model, backend: net.backend, threads: net.threads, numParameters: net.numParameters, config: net.config };
        reply({ kind: 'result', value: info });
        return;
      }
      if (request.op === 'ping') return;
      const hosted = models.get(request.model);
      if (!hosted) throw new DisposedError(`model ${request.model} is not hosted by this worker (disposed, or created elsewhere)`);
      const callbacks: Callbacks = {};
      if (request.op === 'call' && request.progress) callbacks.onProgress = (progress) => reply({ kind: 'progress', progress });
      if (request.op === 'call' && request.epochs)
        callbacks.onEpoch = (record, history) => reply({ kind: 'epoch', record, history: [...history] });
      // train() yields to the event loop between batches; a call slipped in there would share its buffers.
      const run = hosted.last.then(() => {
        if (request.op === 'get') return get(hosted.net, request.property);
        if (request.op === 'set') return set(hosted.net, request.property, request.value);
        return call(hosted.net, request.method, request.args, callbacks);
      });
      hosted.last = run.catch(() => undefined);
      const value = await run;
      if (request.op === 'call' && request.method === 'dispose') models.delete(request.model);
      // Bytes made for this answer alone (save(), toSafetensors()) move to the page instead of being copied.
      const own =
        value instanceof Uint8Array
        && value.byteOffset === 0
        && value.byteLength === value.buffer.byteLength
        && value.buffer instanceof ArrayBuffer
        && request.op === 'call'
        && (request.method === 'save' || request.method === 'toSafetensors');
      reply({ kind: 'result', value }, own ? [value.buffer as ArrayBuffer] : undefined);
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      reply({ kind: 'error', name: e.name, message: e.message });
    }
  };

  const listener = (event: Event) => {
    const data = (event as MessageEvent).data as { protocol?: unknown; id?: unknown } | null | undefined;
    if (data?.protocol === PROTOCOL) {
      const request = data as Request;
      if (request.op === 'ping')
        post({ id: 0, kind: 'pong' }); // at once, not behind the model's queue
      else void handle(request);
    } else if (typeof data?.protocol === 'string' && data.protocol.startsWith(PROTOCOL_FAMILY) && typeof data.id === 'number' && !stopped) {
      // A page built with another version of this library: name the mismatch rather than leave it waiting.
      endpoint.postMessage({
        protocol: data.protocol,
        id: data.id,
        kind: 'error',
        name: 'VersionError',
        message: `WorkerRNN: the page speaks ${data.protocol} and this worker ${PROTOCOL}: build both from one version of rnn-wasm`,
      });
    }
  };
  endpoint.addEventListener('message', listener);
  endpoint.start?.();
  return () => {
    if (stopped) return;
    endpoint.removeEventListener('message', listener);
    try {
      endpoint.postMessage({ protocol: PROTOCOL, id: 0, kind: 'stopped' });
    } catch {
      // The endpoint is closed already: nobody is listening.
    }
    stopped = true;
    for (const { net } of models.values()) net.dispose();
    models.clear();
    // After 'stopped' is on its way, so that the page hears the reason before it sees the lock go.
    setTimeout(lock.release, 0);
  };
}

async function make(factory: Factory, args: unknown[]): Promise<RNN> {
  if (!FACTORIES.includes(factory))
    throw new OptionError(`WorkerRNN: '${String(factory)}' is not a way to make a model (${FACTORIES.join(', ')})`);
  return (RNN[factory] as (...a: unknown[]) => Promise<RNN>)(...args);
}

function call(net: RNN, method: Method, args: unknown[], { onProgress, onEpoch }: Callbacks): unknown {
  if (!METHODS.includes(method))
    throw new OptionError(`WorkerRNN: '${String(method)}' is not a method a worker serves (${METHODS.join(', ')})`);
  const params = [...args];
  if (method === 'train' && (onProgress || onEpoch)) params[1] = { ...(params[1] as object | undefined), onProgress, onEpoch };
  return (net[method] as (...a: unknown[]) => unknown).apply(net, params);
}

function get(net: RNN, property: Property): unknown {
  if (!PROPERTIES.includes(property))
    throw new OptionError(`WorkerRNN: '${String(property)}' is not a property a worker serves (${PROPERTIES.join(', ')})`);
  if (net.disposed) throw new DisposedError('this model was disposed; create a new one');
  return net[property];
}

function set(net: RNN, property: Property, value: unknown): void {
  if (!PROPERTIES.includes(property))
    throw new OptionError(`WorkerRNN: '${String(property)}' is not a property a worker serves (${PROPERTIES.join(', ')})`);
  if (net.disposed) throw new DisposedError('this model was disposed; create a new one');
  if (property === 'generatorState') net.generatorState = value as number;
  else net.metadata = metadata(value);
}

/** Checked now, as save() would check it, so that a bad value is refused here and not at the next save. */
function metadata(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new OptionError(
      `metadata must be an object of strings, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
    );
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new OptionError(`metadata.${key} must be a string, got ${typeof v}`);
  }
  return { ...(value as Record<string, string>) };
}

/**
 * A Web Lock held while this worker lives: the page asks for it, and is granted it when the worker ends
 * (terminated, closed, or crashed), which no other event tells a page. Null where there are no Web Locks
 * (Node, an insecure context, an opaque origin).
 */
function holdLock(): { name: Promise<string | null>; release: () => void } {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
  if (!locks) return { name: Promise.resolve(null), release: () => undefined };
  const name = `rnn-wasm/worker/${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`; // unique, not secret
  let release: () => void = () => undefined;
  const kept = new Promise<void>((resolve) => {
    release = resolve;
  });
  const held = new Promise<string | null>((resolve) => {
    locks
      .request(name, () => {
        resolve(name);
        return kept;
      })
      .catch(() => resolve(null));
  });
  return { name: held, release: () => release() };
}

/**
 * A dedicated worker's global scope, or a Node worker thread's parentPort. On a page globalThis is a Window,
 * whose postMessage means something else; Node's main thread has no parentPort.
 */
function workerScope(): MessageEndpoint {
  const scope = globalThis as unknown as Partial<MessageEndpoint> & { document?: unknown };
  if (scope.document === undefined && typeof scope.postMessage === 'function' && typeof scope.addEventListener === 'function') {
    return scope as MessageEndpoint;
  }
  const node = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const threads = node?.getBuiltinModule?.('worker_threads') as { parentPort: MessageEndpoint | null } | undefined;
  if (threads?.parentPort) return threads.parentPort;
  throw new OptionError(
    'serveRNN() with no endpoint serves from inside a Web Worker or a Node worker thread; elsewhere pass the MessagePort to serve',
  );
}
