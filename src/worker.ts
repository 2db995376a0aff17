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
import type { TrainProgress } from './train.js';
import { type MessageEndpoint, METHODS, type Method, type ModelInfo, PROTOCOL, type ReplyBody, type Request } from './worker-protocol.js';

interface Hosted {
  net: RNN;
  /** The end of this model's queue of calls. */
  last: Promise<unknown>;
}

/**
 * Answers WorkerRNN requests arriving at `endpoint` (default: this worker's global scope). Calls to one model
 * run one at a time in the order they arrived. Returns a function that stops serving and frees the models.
 */
export function serveRNN(endpoint: MessageEndpoint = workerScope()): () => void {
  const models = new Map<number, Hosted>();
  let nextModel = 1;

  const handle = async (request: Request) => {
    const reply = (message: ReplyBody) => endpoint.postMessage({ protocol: PROTOCOL, id: request.id, ...message });
    try {
      if (request.op === 'create') {
        const net = await RNN.create(request.options);
        const model = nextModel++;
        models.set(model, { net, last: Promise.resolve() });
        const info: ModelInfo = { model, backend: net.backend, numParameters: net.numParameters, config: net.config };
        reply({ kind: 'result', value: info });
        return;
      }
      const hosted = models.get(request.model);
      if (!hosted) throw new DisposedError(`model ${request.model} is not hosted by this worker (disposed, or created elsewhere)`);
      // train() yields to the event loop between batches; a call slipped in there would share its buffers.
      const run = hosted.last.then(() => call(hosted.net, request.method, request.args,
        request.progress ? (progress) => reply({ kind: 'progress', progress }) : undefined));
      hosted.last = run.catch(() => undefined);
      const value = await run;
      if (request.method === 'dispose') models.delete(request.model);
      reply({ kind: 'result', value });
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      reply({ kind: 'error', name: e.name, message: e.message });
    }
  };

  const listener = (event: Event) => {
    const request = (event as MessageEvent).data as Request | undefined;
    if (request?.protocol === PROTOCOL) void handle(request);
  };
  endpoint.addEventListener('message', listener);
  endpoint.start?.();
  return () => {
    endpoint.removeEventListener('message', listener);
    for (const { net } of models.values()) net.dispose();
    models.clear();
  };
}

function call(net: RNN, method: Method, args: unknown[], onProgress: ((progress: TrainProgress) => void) | undefined): unknown {
  if (!METHODS.includes(method)) throw new OptionError(`WorkerRNN: '${String(method)}' is not a method a worker serves (${METHODS.join(', ')})`);
  const params = [...args];
  if (method === 'train' && onProgress) params[1] = { ...(params[1] as object | undefined), onProgress };
  return (net[method] as (...a: unknown[]) => unknown).apply(net, params);
}

/** A dedicated worker's global scope; on a page, globalThis is a Window, whose postMessage means something else. */
function workerScope(): MessageEndpoint {
  const scope = globalThis as unknown as Partial<MessageEndpoint> & { document?: unknown };
  if (scope.document !== undefined || typeof scope.postMessage !== 'function' || typeof scope.addEventListener !== 'function') {
    throw new OptionError('serveRNN() with no endpoint serves from inside a Web Worker; elsewhere pass the MessagePort to serve');
  }
  return scope as MessageEndpoint;
}
