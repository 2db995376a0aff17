/**
 * WorkerRNN and serveRNN over a MessageChannel (the same protocol a Web Worker carries; the browser test runs
 * it in a real worker): the same numbers as a model on this thread, progress as it happens, calls in order,
 * errors re-created as their own classes, and a worker that fails reported instead of awaited forever.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  DisposedError,
  type MessageEndpoint,
  OptionError,
  RNN,
  type RNNOptions,
  ShapeError,
  WorkerError,
  WorkerRNN,
  serveRNN,
} from '../src/index.js';

const options: RNNOptions = { cell: 'lstm', inputSize: 2, hiddenSize: 6, outputSize: 1, seed: 3 };
const data = Array.from({ length: 12 }, (_, i) => ({
  input: [
    [Math.sin(i), 0.5],
    [Math.cos(i), -0.5],
    [0.1 * i, 0],
  ],
  target: [[0.1], [0.2], [0.05 * i]],
}));

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((close) => close()));

/** A page end and a worker end; serveRNN() answers on the worker end. */
function channel(): MessageEndpoint {
  const { port1, port2 } = new MessageChannel();
  const stop = serveRNN(port2);
  closers.push(() => {
    stop();
    port1.close();
    port2.close();
  });
  return port1;
}

describe('WorkerRNN', () => {
  it('gives the numbers of a model on this thread: create, unroll, train with progress, generate, state dict', async () => {
    const local = await RNN.create(options);
    const remote = await WorkerRNN.create(channel(), options);
    expect([remote.backend, remote.numParameters, remote.config]).toEqual([local.backend, local.numParameters, local.config]);
    expect(await remote.unroll([[[0.5, 1]], [[-1, 0]]])).toEqual(local.unroll([[[0.5, 1]], [[-1, 0]]]));

    const progress: number[] = [];
    const train = { epochs: 2, batchSize: 4, optimizer: { kind: 'adam', lr: 0.01 }, seed: 5 } as const;
    const history = await remote.train(data, { ...train, onProgress: (p) => progress.push(p.loss) });
    const expected = await local.train(data, train);
    expect(history).toEqual(expected);
    expect(progress).toHaveLength(6);

    const prompt = [[[0.2, 0.1]]];
    await expect(remote.generate(prompt, { steps: 4 })).rejects.toThrow(OptionError); // O ≠ I: refused in the worker
    expect(await remote.stateDict()).toEqual(local.stateDict());
    expect(
      await remote.evaluate(
        data[0].input.map((x) => [x]),
        data[0].target.map((t) => [t]),
      ),
    ).toBe(
      local.evaluate(
        data[0].input.map((x) => [x]),
        data[0].target.map((t) => [t]),
      ),
    );
  });

  it('runs calls to one model in the order they were made, training included', async () => {
    const remote = await WorkerRNN.create(channel(), options);
    const x = [[[1, 1]]];
    const before = remote.unroll(x);
    const training = remote.train(data, { epochs: 3, batchSize: 2, optimizer: { kind: 'sgd', lr: 0.1 } });
    const after = remote.unroll(x);
    const [b, , a] = await Promise.all([before, training, after]);
    const local = await RNN.create(options);
    expect(b).toEqual(local.unroll(x));
    await local.train(data, { epochs: 3, batchSize: 2, optimizer: { kind: 'sgd', lr: 0.1 } });
    expect(a).toEqual(local.unroll(x));
  });

  it('re-creates errors as their classes, and refuses calls after dispose', async () => {
    const endpoint = channel();
    const misspelt = WorkerRNN.create(endpoint, { ...options, hiddenSzie: 3 } as RNNOptions);
    await expect(misspelt).rejects.toThrow(OptionError);
    await expect(misspelt).rejects.toThrow(/RNN.create: unknown option 'hiddenSzie'/);
    const remote = await WorkerRNN.create(endpoint, options);
    await expect(remote.unroll([[[1, 2, 3]]])).rejects.toThrow(ShapeError);
    const other = await WorkerRNN.create(endpoint, { ...options, backend: 'js' });
    expect(other.backend).toBe('js');
    await remote.dispose();
    expect(remote.disposed).toBe(true);
    await expect(remote.unroll([[[1, 2]]])).rejects.toThrow(DisposedError);
    expect((await other.unroll([[[1, 2]]])).y.shape).toEqual([1, 1, 1]); // the worker's other model lives on
  });

  it('reports a worker that fails instead of waiting for it forever', async () => {
    const listeners: Record<string, ((event: Event) => void)[]> = {};
    const broken: MessageEndpoint = {
      postMessage: () => queueMicrotask(() => listeners.error?.forEach((l) => l(new Event('error')))),
      addEventListener: (type, listener) => (listeners[type] ??= []).push(listener),
      removeEventListener: () => undefined,
    };
    await expect(WorkerRNN.create(broken, options)).rejects.toThrow(
      new WorkerError('WorkerRNN: the worker did not start: check its URL, and that it is served as JavaScript and runs serveRNN()'),
    );
    await expect(WorkerRNN.create(broken, options)).rejects.toThrow(WorkerError);
  });

  it('refuses to serve from a page or a process that is not a worker', () => {
    expect(() => serveRNN()).toThrow(/serves from inside a Web Worker/);
  });
});
