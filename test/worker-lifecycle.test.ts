/**
 * WorkerRNN when the worker goes away, in Node: a real worker_threads thread terminated or exiting mid-call,
 * serveRNN's stop function with a call in flight, an endpoint nobody serves, a worker that falls silent where
 * nothing signals its end (the heartbeat). Each pending and later call rejects with a WorkerError that says
 * what happened, within a few seconds. Also: arguments structured clone cannot copy, and model files
 * (save, toSafetensors, toJSON, the loaders) through the worker. test/browser-worker.test.ts does the same
 * in Chromium.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DisposedError,
  FormatError,
  type MessageEndpoint,
  OptionError,
  RNN,
  type RNNOptions,
  type TrainProgress,
  VersionError,
  WorkerError,
  WorkerRNN,
  serveRNN,
} from '../src/index.js';

const THREAD = new URL('./fixtures/workers/serve-thread.mjs', import.meta.url);
const options: RNNOptions = { cell: 'gru', inputSize: 2, hiddenSize: 5, outputSize: 1, seed: 11 };
const data = Array.from({ length: 12 }, (_, i) => ({
  input: [
    [Math.sin(i), 0.5],
    [Math.cos(i), -0.5],
  ],
  target: [[0.1], [0.05 * i]],
}));
const x = [[[0.5, -1]]];
/** Training for minutes (a step takes microseconds; the event loop turns every 50 ms), to be ended mid-way. */
const long = { epochs: 10_000_000, batchSize: 1, optimizer: { kind: 'sgd', lr: 0.01 } } as const;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A worker thread serving WorkerRNN: on its parentPort, or on `port` when given one. */
function thread(port?: MessagePort): Worker {
  const worker = port ? new Worker(THREAD, { workerData: { port }, transferList: [port as never] }) : new Worker(THREAD);
  cleanups.push(() => worker.terminate());
  return worker;
}

/** A page end and a worker end on this thread; serveRNN() answers on the worker end. */
function channel(): { endpoint: MessageEndpoint; stop: () => void } {
  const { port1, port2 } = new MessageChannel();
  const stop = serveRNN(port2 as unknown as MessageEndpoint);
  cleanups.push(() => {
    stop();
    port1.close();
    port2.close();
  });
  return { endpoint: port1 as unknown as MessageEndpoint, stop };
}

/** Starts a long training and resolves once its first step is done, so that it is surely in flight. */
async function training(net: WorkerRNN): Promise<{ done: Promise<unknown>; steps: () => number }> {
  let steps = 0;
  let started!: () => void;
  const first = new Promise<void>((resolve) => {
    started = resolve;
  });
  const done = net.train(data, {
    ...long,
    onProgress: () => {
      steps++;
      started();
    },
  });
  done.catch(() => undefined); // awaited by the test below, after the worker is ended
  await first;
  return { done, steps: () => steps };
}

/** Milliseconds from now until `promise` settles. */
async function settles(promise: Promise<unknown>): Promise<number> {
  const start = performance.now();
  await promise.catch(() => undefined);
  return performance.now() - start;
}

describe('a worker that ends mid-call', () => {
  it('terminate() on a Node Worker (passed as it is): the call and every later one reject, naming the exit', async () => {
    const worker = thread();
    const net = await WorkerRNN.create(worker, options);
    expect(net.backend).toBe('wasm-relaxed'); // a thread of this process, whose engine has relaxed SIMD
    const { done } = await training(net);
    const unroll = net.unroll(x); // queued behind the training
    void worker.terminate();
    expect(await settles(done)).toBeLessThan(3000);
    await expect(done).rejects.toThrow(new WorkerError('WorkerRNN: the worker thread exited (exit code 1)'));
    await expect(unroll).rejects.toThrow(WorkerError);
    await expect(net.unroll(x)).rejects.toThrow(/exited/);
    await expect(WorkerRNN.create(worker, options)).rejects.toThrow(/exited/);
    await net.dispose(); // nothing left to free: resolves
    expect(net.disposed).toBe(true);
  }, 20_000);

  it('process.exit() in a thread served over a MessagePort: rejected when its end of the channel closes', async () => {
    const { port1, port2 } = new MessageChannel();
    const worker = thread(port2 as unknown as MessagePort);
    const endpoint = port1 as unknown as MessageEndpoint;
    const net = await WorkerRNN.create(endpoint, options);
    const { done, steps } = await training(net);
    worker.postMessage('exit');
    expect(await settles(done)).toBeLessThan(3000);
    await expect(done).rejects.toThrow(/WorkerRNN: the worker's end of the channel closed/);
    expect(steps()).toBeGreaterThan(0);
    await expect(net.stateDict()).rejects.toThrow(WorkerError);
    port1.close();
  }, 20_000);

  it("serveRNN's stop function with a call in flight: the call rejects, and so does everything after", async () => {
    const { endpoint, stop } = channel();
    const net = await WorkerRNN.create(endpoint, options);
    const { done } = await training(net);
    stop();
    expect(await settles(done)).toBeLessThan(1000);
    await expect(done).rejects.toThrow(new WorkerError("WorkerRNN: the worker stopped serving (serveRNN's stop function was called)"));
    await expect(net.unroll(x)).rejects.toThrow(/stopped serving/);
    await expect(WorkerRNN.create(endpoint, options)).rejects.toThrow(/stopped serving/);
  });

  it("serveRNN's stop in a thread, through its own message", async () => {
    const worker = thread();
    const net = await WorkerRNN.create(worker, options);
    const { done } = await training(net);
    worker.postMessage('stop');
    await expect(done).rejects.toThrow(/stopped serving/);
  }, 20_000);
});

describe('a worker that never answers', () => {
  it('an endpoint nobody serves: create rejects after its timeout, and a server that starts later is still found', async () => {
    const { port1, port2 } = new MessageChannel();
    cleanups.push(() => {
      port1.close();
      port2.close();
    });
    const endpoint = port1 as unknown as MessageEndpoint;
    const waiting = WorkerRNN.create(endpoint, options, { timeout: 200 });
    const waited = await settles(waiting);
    await expect(waiting).rejects.toThrow(
      new WorkerError(
        'WorkerRNN.create: no answer from the worker in 200 ms: is it running serveRNN() on this endpoint (a Worker, a MessagePort it serves, or a Node Worker)?',
      ),
    );
    expect(waited).toBeGreaterThanOrEqual(190);
    expect(waited).toBeLessThan(1000);
    await expect(WorkerRNN.load(endpoint, new Uint8Array(8), {}, { timeout: 50 })).rejects.toThrow(/WorkerRNN.load: no answer/);

    cleanups.push(serveRNN(port2 as unknown as MessageEndpoint));
    const net = await WorkerRNN.create(endpoint, options, { timeout: 1000 });
    expect((await net.unroll(x)).y.shape).toEqual([1, 1, 1]);
  });

  it('refuses timeouts that are not a positive number of milliseconds', async () => {
    const { endpoint } = channel();
    await expect(WorkerRNN.create(endpoint, options, { timeout: 0 })).rejects.toThrow(
      new OptionError('WorkerRNN.create: timeout must be a positive number of milliseconds or Infinity, got 0'),
    );
    await expect(WorkerRNN.create(endpoint, options, { timeout: '5' as never })).rejects.toThrow(/got string/);
    await expect(WorkerRNN.create(endpoint, options, { timout: 5 } as never)).rejects.toThrow(/unknown connect option 'timout'/);
  });

  it('a worker that falls silent where nothing signals its end: the heartbeat gives up after the timeout, and a busy one is not mistaken for it', async () => {
    // An endpoint of no known kind (no 'close', no 'exit', no Web Lock in Node 20) in front of a served port; `alive = false` drops all traffic.
    const { endpoint: port } = channel();
    let alive = true;
    const listeners: ((event: Event) => void)[] = [];
    port.addEventListener('message', (event) => alive && listeners.forEach((l) => l(event)));
    const silent: MessageEndpoint = {
      postMessage: (message) => alive && port.postMessage(message),
      addEventListener: (type, listener) => type === 'message' && listeners.push(listener),
      removeEventListener: () => undefined,
    };
    const net = await WorkerRNN.create(silent, options, { timeout: 1000 });
    // Healthy and busy for 2.5 times the timeout, with no progress reported: the worker answers the pings between steps.
    const done = net.train(data, long);
    let settled = false;
    done.finally(() => (settled = true)).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(settled).toBe(false);
    alive = false;
    const waited = await settles(done);
    await expect(done).rejects.toThrow(/WorkerRNN: no answer from the worker for 1000 ms with calls pending/);
    // Counted from the last pong, which came up to a ping's interval (250 ms) and a training turn (50 ms) before the cut.
    expect(waited).toBeGreaterThanOrEqual(650);
    expect(waited).toBeLessThan(3000);
  }, 20_000);

  it('a page of another protocol version is answered with a VersionError instead of silence', async () => {
    const { endpoint } = channel();
    const answer = new Promise<{ name: string; message: string }>((resolve) => {
      endpoint.addEventListener('message', (event) => resolve((event as MessageEvent).data));
    });
    endpoint.postMessage({ protocol: 'rnn-wasm/worker/1', id: 1, op: 'create', options });
    expect(await answer).toMatchObject({ protocol: 'rnn-wasm/worker/1', id: 1, kind: 'error', name: new VersionError('').name });
    expect((await answer).message).toMatch(/the page speaks rnn-wasm\/worker\/1 and this worker rnn-wasm\/worker\/2/);
  });
});

describe('arguments structured clone cannot copy', () => {
  it('a function is an OptionError naming it, nothing is left pending, and the next call works', async () => {
    const { endpoint } = channel();
    const net = await WorkerRNN.create(endpoint, options);
    const pending = () => (net as unknown as { connection: { pending: Map<number, unknown> } }).connection.pending.size;
    await expect(net.unroll(x, { onStep: () => 1 } as never)).rejects.toThrow(
      new OptionError(
        'WorkerRNN.unroll: options.onStep is a function, which cannot be sent to a worker (structured clone copies data only)',
      ),
    );
    await expect(net.train(data, { epochs: 1, schedule: { kind: 'step', stepSize: 1, gamma: () => 0.5 } } as never)).rejects.toThrow(
      /WorkerRNN.train: options.schedule.gamma is a function/,
    );
    await expect(net.train([{ input: [[1, 2]], target: [[0]], weight: Symbol('w') }] as never)).rejects.toThrow(
      /data\[0\].weight is a symbol/,
    );
    await expect(net.loadStateDict({ 'rnn.weight_ih_l0': () => 0 } as never)).rejects.toThrow(
      /WorkerRNN.loadStateDict: dict.rnn.weight_ih_l0 is a function/,
    );
    await expect(net.setMetadata({ vocab: (() => 'abc') as never })).rejects.toThrow(
      /WorkerRNN.set metadata: metadata.vocab is a function/,
    );
    await expect(WorkerRNN.create(endpoint, { ...options, seed: (() => 1) as never })).rejects.toThrow(
      /WorkerRNN.create: options.seed is a function/,
    );
    expect(pending()).toBe(0);
    expect(await net.unroll(x)).toEqual((await RNN.create(options)).unroll(x));
    expect(pending()).toBe(0);
  });

  it('onProgress and onEpoch run on the page; other callbacks are refused', async () => {
    const { endpoint } = channel();
    const net = await WorkerRNN.create(endpoint, options);
    const progress: TrainProgress[] = [];
    const epochs: number[][] = [];
    const history = await net.train(data, {
      epochs: 3,
      batchSize: 6,
      onProgress: (p) => progress.push(p),
      onEpoch: (_, all) => epochs.push(all.map((r) => r.loss)),
    });
    expect(progress).toHaveLength(6);
    expect(epochs).toEqual([history.loss.slice(0, 1), history.loss.slice(0, 2), history.loss]);
    await expect(net.train(data, { onEpoch: 'yes' as never })).rejects.toThrow(new OptionError('train.onEpoch must be a function'));
  });
});

describe('model files through the worker', () => {
  const train = { epochs: 2, batchSize: 4, optimizer: { kind: 'adam', lr: 0.01 }, seed: 5 } as const;

  it('save() in a worker thread is the checkpoint of a local model trained the same way, and loads back on the page', async () => {
    const worker = thread();
    const remote = await WorkerRNN.create(worker, options);
    const local = await RNN.create(options);
    await remote.train(data, train);
    await local.train(data, train);
    local.metadata = { vocab: 'ab' };
    await remote.setMetadata({ vocab: 'ab' });

    const bytes = await remote.save();
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(bytes).toEqual(local.save());
    const back = await RNN.load(bytes);
    expect(back.stateDict()).toEqual(local.stateDict());
    expect(back.metadata).toEqual({ vocab: 'ab' });
    expect(back.unroll(x)).toEqual(await remote.unroll(x));
    expect(await remote.toSafetensors()).toEqual(local.toSafetensors());
    expect(await remote.toJSON()).toEqual(local.toJSON());
    expect(await remote.save({ metadata: { other: '1' } })).toEqual(local.save({ metadata: { other: '1' } }));
  }, 20_000);

  it('load, fromSafetensors and fromJSON make the model in the worker; generator state and metadata read and write', async () => {
    const { endpoint } = channel();
    const local = await RNN.create(options);
    await local.train(data, train);
    local.metadata = { note: 'trained' };

    const loaded = await WorkerRNN.load(endpoint, local.save());
    expect(await loaded.stateDict()).toEqual(local.stateDict());
    expect(await loaded.optimizerState()).toEqual(local.optimizerState());
    expect(await loaded.getGeneratorState()).toBe(local.generatorState);
    expect(await loaded.getMetadata()).toEqual({ note: 'trained' });
    // Training resumed in the worker continues exactly as it would here.
    await loaded.train(data, { epochs: 1, batchSize: 4 });
    await local.train(data, { epochs: 1, batchSize: 4 });
    expect(await loaded.save()).toEqual(local.save());

    await loaded.setGeneratorState(1234);
    local.generatorState = 1234;
    expect(await loaded.getGeneratorState()).toBe(1234);
    await expect(loaded.setGeneratorState(-1)).rejects.toThrow(OptionError);
    await expect(loaded.setMetadata({ n: 3 } as never)).rejects.toThrow(new OptionError('metadata.n must be a string, got number'));
    expect(await loaded.getMetadata()).toEqual({ note: 'trained' });

    const weights = await WorkerRNN.fromSafetensors(endpoint, local.toSafetensors(), { seed: 2 });
    expect(await weights.stateDict()).toEqual(local.stateDict());
    const json = await WorkerRNN.fromJSON(endpoint, JSON.stringify(local));
    expect(await json.save()).toEqual(local.save());
    const object = await WorkerRNN.fromJSON(endpoint, local.toJSON(), { backend: 'js' });
    expect(object.backend).toBe('js');

    await expect(WorkerRNN.load(endpoint, new Uint8Array([1, 2, 3]))).rejects.toThrow(
      new FormatError('safetensors: the file is 3 bytes, too short for the 8-byte header length'),
    );
    await loaded.dispose();
    await expect(loaded.getMetadata()).rejects.toThrow(DisposedError);
  });

  it('a path is read in the worker thread', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'rnn-worker-'));
    cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
    const local = await RNN.create(options);
    writeFileSync(join(folder, 'model.rnn'), local.save());
    const net = await WorkerRNN.load(thread(), join(folder, 'model.rnn'));
    expect(await net.stateDict()).toEqual(local.stateDict());
    await expect(WorkerRNN.load(thread(), join(folder, 'missing.rnn'))).rejects.toThrow(/there is no file/);
  }, 20_000);
});
