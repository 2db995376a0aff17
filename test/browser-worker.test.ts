/**
 * WorkerRNN in headless Chromium, with a module worker running serveRNN(): a worker terminated mid-train, a
 * worker that closes itself, serveRNN's stop with a call in flight, a worker that serves nothing, a function
 * argument, and model files through the worker (save() equal to a model trained on the page, a relative URL
 * fetched by the worker). Browsers signal none of these endings to the page: the worker's Web Lock does.
 * The page and worker are a few lines each, over the package's browser build (rollup.config.mjs's own).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Served, serve } from '../scripts/serve.js';
import { RNN } from '../src/index.js';
import type * as Library from '../src/index.js';
import { launchChromium, writeBrowserBundle } from './chromium.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const folder = join(root, 'build/browser-worker');

const FILES: Record<string, string> = {
  'index.html': `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>WorkerRNN lifecycle</title>
<script type="module">import * as rnn from './index.js'; window.rnn = rnn;</script>`,
  // 'close' ends the worker from inside; 'stop' calls serveRNN's stop function.
  'worker.js': `import { serveRNN } from './index.js';
const stop = serveRNN();
self.addEventListener('message', (event) => {
  if (event.data === 'close') self.close();
  if (event.data === 'stop') stop();
});`,
  'silent.js': '// A worker that serves nothing.\n',
};

const options = { cell: 'lstm', inputSize: 2, hiddenSize: 6, outputSize: 1, seed: 4 } as const;
const train = { epochs: 2, batchSize: 3, optimizer: { kind: 'adam', lr: 0.01 }, seed: 8 } as const;

let browser: Browser;
let server: Served;
let page: Page;

beforeAll(async () => {
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  await writeBrowserBundle(join(folder, 'index.js'));
  for (const [name, text] of Object.entries(FILES)) writeFileSync(join(folder, name), text);
  // A checkpoint for the worker to fetch by a relative URL: the model of `options` trained with `train`, here in Node.
  const local = await RNN.create(options);
  await local.train(samples(), train);
  writeFileSync(join(folder, 'model.rnn'), local.save());

  browser = await launchChromium();
  server = await serve(folder);
  page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(server.url);
  await page.waitForFunction(() => 'rnn' in window);
  expect(errors).toEqual([]);
}, 60_000);
afterAll(async () => {
  await page?.close();
  await browser?.close();
  await server?.close();
});

/** The training data, in Node and (copied) in the page. */
function samples() {
  return Array.from({ length: 9 }, (_, i) => ({
    input: [
      [Math.sin(i), 0.5],
      [Math.cos(i), -0.5],
    ],
    target: [[0.1], [0.05 * i]],
  }));
}

interface Outcome {
  name: string;
  message: string;
  ms: number;
}
type Window = { rnn: typeof Library };

describe('WorkerRNN in Chromium, when the worker goes away', () => {
  /** Starts a long training in a fresh module worker, ends the worker with `how` after the first step, and reports the rejection. */
  const endMidTrain = (how: 'terminate' | 'close' | 'stop') =>
    page.evaluate(
      async ({ how, options, data }): Promise<Outcome> => {
        const { WorkerRNN } = (window as unknown as Window).rnn;
        const worker = new Worker('./worker.js', { type: 'module' });
        const net = await WorkerRNN.create(worker, options);
        let first!: () => void;
        const started = new Promise<void>((resolve) => {
          first = resolve;
        });
        const training = net.train(data, { epochs: 10_000_000, batchSize: 1, onProgress: () => first() });
        await started;
        const t0 = performance.now();
        if (how === 'terminate') worker.terminate();
        else worker.postMessage(how);
        try {
          await training;
          return { name: 'resolved', message: '', ms: 0 };
        } catch (error) {
          const ms = performance.now() - t0;
          const later = await net.unroll([[[1, 2]]]).then(
            () => 'resolved',
            (e: Error) => e.message,
          );
          if (later !== (error as Error).message) return { name: 'a later call', message: later, ms };
          worker.terminate();
          return { name: (error as Error).name, message: (error as Error).message, ms };
        }
      },
      { how, options, data: samples() },
    );

  it('terminate() mid-train: the call and later ones reject with a WorkerError within a second', async () => {
    const outcome = await endMidTrain('terminate');
    expect(outcome).toMatchObject({
      name: 'WorkerError',
      message: 'WorkerRNN: the worker ended (it was terminated, closed itself, or crashed)',
    });
    expect(outcome.ms).toBeLessThan(1000);
  }, 30_000);

  it('self.close() in the worker mid-train: rejected the same way', async () => {
    const outcome = await endMidTrain('close');
    expect(outcome).toMatchObject({
      name: 'WorkerError',
      message: 'WorkerRNN: the worker ended (it was terminated, closed itself, or crashed)',
    });
    expect(outcome.ms).toBeLessThan(2000);
  }, 30_000);

  it("serveRNN's stop function with a call in flight: rejected, saying the worker stopped serving", async () => {
    const outcome = await endMidTrain('stop');
    expect(outcome).toMatchObject({
      name: 'WorkerError',
      message: "WorkerRNN: the worker stopped serving (serveRNN's stop function was called)",
    });
    expect(outcome.ms).toBeLessThan(1000);
  }, 30_000);

  it('a worker that serves nothing: create rejects after its timeout', async () => {
    const outcome = await page.evaluate(async (options): Promise<Outcome> => {
      const { WorkerRNN } = (window as unknown as Window).rnn;
      const worker = new Worker('./silent.js', { type: 'module' });
      const t0 = performance.now();
      try {
        await WorkerRNN.create(worker, options, { timeout: 300 });
        return { name: 'resolved', message: '', ms: 0 };
      } catch (error) {
        worker.terminate();
        return { name: (error as Error).name, message: (error as Error).message, ms: performance.now() - t0 };
      }
    }, options);
    expect(outcome).toMatchObject({
      name: 'WorkerError',
      message: expect.stringMatching(/^WorkerRNN.create: no answer from the worker in 300 ms/),
    });
    expect(outcome.ms).toBeGreaterThanOrEqual(290);
    expect(outcome.ms).toBeLessThan(1500);
  });
});

describe('WorkerRNN in Chromium, arguments and files', () => {
  it('a function argument is an OptionError naming it, and the next call works', async () => {
    const outcome = await page.evaluate(async (options) => {
      const { WorkerRNN } = (window as unknown as Window).rnn;
      const worker = new Worker('./worker.js', { type: 'module' });
      const net = await WorkerRNN.create(worker, options);
      const refused = await net.unroll([[[1, 2]]], { onStep: () => 0 } as never).then(
        () => null,
        (e: Error) => [e.name, e.message],
      );
      const pending = (net as unknown as { connection: { pending: Map<number, unknown> } }).connection.pending.size;
      const shape = (await net.unroll([[[1, 2]]])).y.shape;
      worker.terminate();
      return { refused, pending, shape };
    }, options);
    expect(outcome).toEqual({
      refused: [
        'OptionError',
        'WorkerRNN.unroll: options.onStep is a function, which cannot be sent to a worker (structured clone copies data only)',
      ],
      pending: 0,
      shape: [1, 1, 1],
    });
  });

  it('save() through the worker is the bytes of a model trained the same way on the page, and loads back there', async () => {
    const outcome = await page.evaluate(
      async ({ options, train, data }) => {
        const { RNN, WorkerRNN } = (window as unknown as Window).rnn;
        const worker = new Worker('./worker.js', { type: 'module' });
        const remote = await WorkerRNN.create(worker, options);
        const local = await RNN.create(options);
        await remote.train(data, train);
        await local.train(data, train);
        const bytes = await remote.save();
        const back = await RNN.load(bytes);
        const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
        // Relative to this page, fetched in the worker: the checkpoint Node wrote, of the same model trained the same way.
        const fetched = await WorkerRNN.load(worker, 'model.rnn');
        const result = {
          backends: [remote.backend, local.backend],
          bytes: bytes.length,
          equal: same(Array.from(bytes), Array.from(local.save())),
          loaded: same(back.stateDict(), local.stateDict()),
          fetched: same(Array.from(await fetched.save()), Array.from(bytes)),
        };
        worker.terminate();
        return result;
      },
      { options, train, data: samples() },
    );
    expect(outcome).toEqual({
      backends: ['wasm-relaxed', 'wasm-relaxed'],
      bytes: expect.any(Number),
      equal: true,
      loaded: true,
      fetched: true,
    });
    expect(outcome.bytes).toBeGreaterThan(100);
  }, 30_000);
});
