/**
 * One Connection per endpoint, shared by every WorkerRNN in that worker: it numbers the requests, routes the
 * replies, and watches the worker so that no call waits forever. What ends a worker, and what says so:
 *
 *   the worker's script fails to load or throws      'error' on a Worker (a Node Worker's 'error')
 *   a reply cannot be deserialised                  'messageerror'
 *   Node: the thread exits, is terminated, or a port closes      a Node Worker's 'exit'; a Node MessagePort's 'close'
 *   browser: terminate(), self.close(), a crash       nothing; but the worker's Web Lock is released (see Hello)
 *   serveRNN's stop function                          the worker's 'stopped' message
 *   nobody serves the endpoint                        nothing: the first answer is awaited for `timeout` ms
 *
 * Where none of these can be had (no Web Locks: an insecure context, an opaque origin, a cross-origin port)
 * the page pings while calls are pending and gives up after `timeout` ms of silence. The worker answers a ping
 * between its tasks, so there a synchronous call (a step, an unroll) longer than `timeout` counts as silence.
 */
import { ERROR_CLASSES, OptionError, RnnError, WorkerError } from './errors.js';
import type { EpochRecord, TrainProgress } from './train.js';
import { type Hello, type MessageEndpoint, type NodeWorkerEndpoint, PROTOCOL, type Reply, type RequestBody } from './worker-protocol.js';

/** What a WorkerRNN talks through. */
export type Endpoint = MessageEndpoint | NodeWorkerEndpoint;

/** How long WorkerRNN waits for a worker. */
export interface ConnectOptions {
  /**
   * Milliseconds to wait for the worker's first answer (default 30 000): an endpoint nobody serves rejects
   * with a WorkerError after this long. Where the platform cannot say that a worker ended, also the longest
   * silence allowed while calls are pending. Infinity waits forever.
   */
  timeout?: number | undefined;
}

const DEFAULT_TIMEOUT = 30_000;
/** Between a Web Lock's grant and the rejections: the worker's last messages (a result, 'stopped') arrive first. */
const LOCK_GRACE_MS = 50;

export interface Callbacks {
  onProgress?: (progress: TrainProgress) => void;
  onEpoch?: (record: EpochRecord, history: readonly EpochRecord[]) => void;
}

interface Pending extends Callbacks {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** The endpoint as the Connection uses it, whichever kind it is. */
interface Port {
  post(message: unknown): void;
  on(type: string, listener: (value: unknown) => void): void;
  /** Whether the platform reports this endpoint's end ('exit', 'close'), so that no heartbeat is needed. */
  watched: boolean;
}

export class Connection {
  private static readonly all = new WeakMap<Endpoint, Connection>();
  private readonly port: Port;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Set when the worker ended or stopped; every later request fails with it instead of waiting forever. */
  private failure: WorkerError | null = null;
  /** The worker's first answer, once asked for. */
  private hello: Promise<void> | null = null;
  private opened = false;
  /** The longest silence allowed while calls are pending, where the worker is not watched otherwise. */
  private silence = 0;
  private lastHeard = 0;
  private pinger: ReturnType<typeof setInterval> | null = null;

  static of(endpoint: Endpoint): Connection {
    let connection = Connection.all.get(endpoint);
    if (!connection) {
      connection = new Connection(endpoint, adapt(endpoint));
      Connection.all.set(endpoint, connection);
    }
    return connection;
  }

  private constructor(endpoint: Endpoint, port: Port) {
    this.port = port;
    port.on('message', (data) => this.receive(data as Reply | undefined));
    port.on('messageerror', () => this.fail('a reply from the worker could not be deserialised'));
    port.on('error', (error) =>
      this.fail(errorMessage(error) || 'the worker did not start: check its URL, and that it is served as JavaScript and runs serveRNN()'),
    );
    port.on('exit', (code) => this.fail(`the worker thread exited (exit code ${String(code)})`));
    port.on('close', () => this.fail("the worker's end of the channel closed (the worker ended, or the port was closed)"));
    (endpoint as Partial<MessageEndpoint>).start?.();
  }

  get failed(): boolean {
    return this.failure !== null;
  }

  /** Resolves once the worker has answered at all; rejects after `timeout` ms without an answer. */
  async ready(options: ConnectOptions, where: string): Promise<void> {
    const timeout = checkTimeout(options, where);
    this.silence = Math.max(this.silence, timeout);
    if (this.failure) throw this.failure;
    if (!this.hello) {
      this.hello = this.request({ op: 'hello' }).then((hello) => this.watch(hello as Hello));
      this.hello.catch(() => undefined); // each caller awaits it below, or has timed out and gone
    }
    if (timeout === Number.POSITIVE_INFINITY) return this.hello;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new WorkerError(
              `${where}: no answer from the worker in ${timeout} ms: is it running serveRNN() `
                + 'on this endpoint (a Worker, a MessagePort it serves, or a Node Worker)?',
            ),
          ),
        timeout,
      );
    });
    try {
      await Promise.race([this.hello, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  request(body: RequestBody, callbacks: Callbacks = {}): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      try {
        this.port.post({ protocol: PROTOCOL, id, ...body });
      } catch (error) {
        reject(unsendable(error, body)); // nothing is pending: the worker never saw this request
        return;
      }
      this.pending.set(id, { resolve, reject, ...callbacks });
      this.beat();
    });
  }

  private receive(reply: Reply | undefined) {
    if (reply?.protocol !== PROTOCOL) return;
    this.lastHeard = Date.now();
    if (reply.kind === 'pong') return;
    if (reply.kind === 'stopped') {
      this.fail("the worker stopped serving (serveRNN's stop function was called)");
      return;
    }
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    if (reply.kind === 'progress') {
      pending.onProgress?.(reply.progress);
      return;
    }
    if (reply.kind === 'epoch') {
      pending.onEpoch?.(reply.record, reply.history);
      return;
    }
    this.pending.delete(reply.id);
    if (reply.kind === 'result') pending.resolve(reply.value);
    else pending.reject(new (ERROR_CLASSES[reply.name] ?? RnnError)(reply.message));
  }

  /** After the first answer: asks for the worker's Web Lock, whose grant means the worker is gone. */
  private async watch({ lock }: Hello): Promise<void> {
    this.opened = true;
    this.lastHeard = Date.now();
    const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
    if (this.port.watched || lock === null || !locks) return;
    try {
      // A lock of another origin's manager (a cross-origin port) is not in this one: asking would be granted at once.
      const { held = [] } = await locks.query();
      if (!held.some((l) => l.name === lock)) return;
      this.port.watched = true;
      locks
        .request(lock, () => {
          setTimeout(() => this.fail('the worker ended (it was terminated, closed itself, or crashed)'), LOCK_GRACE_MS);
        })
        .catch(() => undefined);
    } catch {
      // No lock after all (a SecurityError): the heartbeat watches instead.
    }
  }

  /** Where nothing else would say that the worker ended: pings while calls are pending, and fails after `silence` ms of quiet. */
  private beat() {
    if (this.port.watched || !this.opened || this.pinger !== null || this.silence === Number.POSITIVE_INFINITY) return;
    this.lastHeard = Date.now();
    this.pinger = setInterval(
      () => {
        if (this.pending.size === 0 || this.failure) {
          clearInterval(this.pinger!);
          this.pinger = null;
        } else if (Date.now() - this.lastHeard > this.silence) {
          this.fail(
            `no answer from the worker for ${this.silence} ms with calls pending, and this platform does not say when a worker `
              + 'ends: it was terminated or closed, or one call kept it busy that long (raise the { timeout } given to WorkerRNN.create)',
          );
        } else {
          try {
            this.port.post({ protocol: PROTOCOL, id: 0, op: 'ping' });
          } catch {
            // A closed endpoint: the silence will tell.
          }
        }
      },
      Math.min(1000, this.silence / 4),
    );
    (this.pinger as { unref?: () => void }).unref?.(); // a Node process with nothing else to do may exit
  }

  private fail(reason: string) {
    if (this.failure) return;
    this.failure = new WorkerError(`WorkerRNN: ${reason}`);
    for (const pending of this.pending.values()) pending.reject(this.failure);
    this.pending.clear();
  }
}

function adapt(endpoint: Endpoint): Port {
  const e = endpoint as Partial<MessageEndpoint & NodeWorkerEndpoint> | null;
  if (e !== null && typeof e === 'object' && typeof e.postMessage === 'function') {
    if (typeof e.addEventListener === 'function' && typeof e.removeEventListener === 'function') {
      const target = e as MessageEndpoint;
      return {
        post: (message) => target.postMessage(message),
        on: (type, listener) =>
          target.addEventListener(type, (event) => listener(type === 'message' ? (event as MessageEvent).data : event)),
        // Node's MessagePort (it has ref and unref) says 'close' when the other end closes or its thread ends; measured in Node 20.
        watched:
          typeof (e as { ref?: unknown }).ref === 'function'
          && typeof (e as { on?: unknown }).on === 'function'
          && !(globalThis as { process?: { versions?: { bun?: string } } }).process?.versions?.bun,
      };
    }
    if (typeof e.on === 'function' && typeof e.threadId === 'number') {
      const worker = e as NodeWorkerEndpoint;
      return { post: (message) => worker.postMessage(message), on: (type, listener) => worker.on(type, listener), watched: true };
    }
  }
  throw new OptionError(
    "WorkerRNN: expected a Worker, a worker's scope, a MessagePort (postMessage and addEventListener) " + 'or a Node worker_threads Worker',
  );
}

function checkTimeout(options: ConnectOptions, where: string): number {
  if (options === null || typeof options !== 'object')
    throw new OptionError(`${where}: expected connect options ({ timeout }), got ${options === null ? 'null' : typeof options}`);
  for (const key of Object.keys(options)) {
    if (key !== 'timeout') throw new OptionError(`${where}: unknown connect option '${key}' (known: timeout)`);
  }
  const { timeout = DEFAULT_TIMEOUT } = options;
  if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout <= 0) {
    throw new OptionError(
      `${where}: timeout must be a positive number of milliseconds or Infinity, got ${typeof timeout === 'number' ? timeout : typeof timeout}`,
    );
  }
  return timeout;
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return `the worker threw: ${error.message}`;
  return (error as ErrorEvent | null)?.message ?? '';
}

/**
 * Why a request could not be posted, as the caller's error: a function (or a symbol) somewhere in the arguments,
 * named by its path, is an OptionError; anything else the platform refused is a WorkerError.
 */
function unsendable(error: unknown, body: RequestBody): Error {
  const what =
    body.op === 'call' ? body.method : body.op === 'create' ? body.factory : `${body.op} ${'property' in body ? body.property : ''}`.trim();
  const names = PARAMETERS[what] ?? [];
  const values = body.op === 'call' || body.op === 'create' ? body.args : body.op === 'set' ? [body.value] : [];
  for (let i = 0; i < values.length; i++) {
    const found = uncopyable(values[i], names[i] ?? `argument ${i + 1}`, new Set(), 0);
    if (found) return new OptionError(`WorkerRNN.${what}: ${found}, which cannot be sent to a worker (structured clone copies data only)`);
  }
  return new WorkerError(
    `WorkerRNN.${what}: the request could not be sent to the worker: ${error instanceof Error ? error.message : String(error)}`,
  );
}

/** Parameter names, for messages that name an argument as the caller wrote it. */
const PARAMETERS: Record<string, readonly string[]> = {
  unroll: ['input', 'options'],
  cell: ['input', 'state', 'options'],
  generate: ['prompt', 'options'],
  gradients: ['input', 'target', 'options'],
  evaluate: ['input', 'target', 'options'],
  step: ['input', 'target', 'options'],
  train: ['data', 'options'],
  loadStateDict: ['dict'],
  loadOptimizerState: ['snapshot'],
  save: ['options'],
  create: ['options'],
  load: ['source', 'options'],
  fromSafetensors: ['source', 'options'],
  fromJSON: ['json', 'options'],
  'set metadata': ['metadata'],
  'set generatorState': ['state'],
};

/** The path of the first function or symbol inside `value` ("options.onBatch is a function"), or null. */
function uncopyable(value: unknown, path: string, seen: Set<object>, depth: number): string | null {
  if (typeof value === 'function') return `${path} is a function`;
  if (typeof value === 'symbol') return `${path} is a symbol`;
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || seen.has(value) || depth > 64) return null;
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = uncopyable(value[i], `${path}[${i}]`, seen, depth + 1);
      if (found) return found;
    }
    return null;
  }
  for (const [key, v] of Object.entries(value)) {
    const found = uncopyable(v, `${path}.${key}`, seen, depth + 1);
    if (found) return found;
  }
  return null;
}
