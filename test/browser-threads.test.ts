/**
 * Threads in headless Chromium: a WorkerRNN with `threads: 2` on a cross-origin-isolated page (COOP same-origin,
 * COEP require-corp, as scripts/serve.ts sends them with `isolated`) runs on two threads and computes what one
 * thread computes, bit for bit, forward and in training; on a page that is not isolated it runs on one thread
 * and says why; on the page's own thread, which may not block, it runs on one and says to use a worker.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CROSS_ORIGIN_ISOLATION, type Served, serve } from '../scripts/serve.js';
import type * as Library from '../src/index.js';
import { launchChromium, writeBrowserBundle } from './chromium.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const folder = join(root, 'build/browser-threads');

const FILES: Record<string, string> = {
  'index.html': `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>threads</title>
<script type="module">import * as rnn from './index.js'; window.rnn = rnn;</script>`,
  'worker.js': `import { serveRNN } from './index.js';
serveRNN();`,
};

type Window = { rnn: typeof Library };

let browser: Browser;
const servers: Served[] = [];

beforeAll(async () => {
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  await writeBrowserBundle(join(folder, 'index.js'));
  for (const [name, text] of Object.entries(FILES)) writeFileSync(join(folder, name), text);
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  for (const server of servers) await server.close();
});

/** The page, served with or without the isolation headers; `warnings` collects the page's and its workers' console.warn. */
async function open(isolated: boolean): Promise<{ page: Page; warnings: string[] }> {
  const server = await serve(folder, { headers: isolated ? CROSS_ORIGIN_ISOLATION : {} });
  servers.push(server);
  const page = await browser.newPage();
  const warnings: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'warning') warnings.push(message.text());
  });
  page.on('worker', (worker) => worker.on('console', (message) => message.type() === 'warning' && warnings.push(message.text())));
  await page.goto(server.url);
  await page.waitForFunction(() => 'rnn' in window);
  return { page, warnings };
}

/** Runs `check` on a fresh page, served with or without the isolation headers, and closes the page after. */
async function onPage(isolated: boolean, check: (page: Page, warnings: string[]) => Promise<void>): Promise<void> {
  const { page, warnings } = await open(isolated);
  try {
    await check(page, warnings);
  } finally {
    await page.close();
  }
}

interface Outcome {
  isolated: boolean;
  threads: number[];
  sameOutput: boolean;
  sameLosses: boolean;
  sameWeights: boolean;
}

/** A GRU of one column (units split, a barrier every step) and a batch of 16 (columns split), on 1 and 2 threads in workers. */
function compare(page: Page): Promise<Outcome> {
  return page.evaluate(async (): Promise<Outcome> => {
    const { WorkerRNN } = (window as unknown as Window).rnn;
    const options = { cell: 'gru', inputSize: 16, hiddenSize: 192, outputSize: 2, seed: 5 } as const;
    const nets = await Promise.all(
      [1, 2].map((threads) => WorkerRNN.create(new Worker('./worker.js', { type: 'module' }), { ...options, threads })),
    );
    const same = (a: Float32Array, b: Float32Array) =>
      a.length === b.length && new Uint32Array(a.buffer).every((v, i) => v === new Uint32Array(b.buffer)[i]);
    const input = (T: number, B: number) => ({
      data: Float32Array.from({ length: T * B * 16 }, (_, i) => Math.sin(i * 0.41)),
      shape: [T, B, 16],
    });
    let sameOutput = true;
    for (const [T, B] of [
      [60, 1],
      [20, 16],
    ]) {
      const [a, b] = await Promise.all(nets.map((net) => net.unroll(input(T, B))));
      sameOutput &&= same(a.output.data, b.output.data);
    }
    const target = { data: Float32Array.from({ length: 20 * 16 * 2 }, (_, i) => Math.cos(i * 0.3)), shape: [20, 16, 2] };
    const losses = await Promise.all(
      nets.map(async (net) => {
        const out: number[] = [];
        for (let i = 0; i < 2; i++) out.push((await net.step(input(20, 16), target)).loss);
        return out;
      }),
    );
    const weights = await Promise.all(nets.map((net) => net.stateDict()));
    const names = Object.keys(weights[0]);
    const result = {
      isolated: crossOriginIsolated,
      threads: nets.map((net) => net.threads),
      sameOutput,
      sameLosses: losses[0].every((loss, i) => loss === losses[1][i]),
      sameWeights: names.every((name) => same(weights[0][name].data, weights[1][name].data)),
    };
    for (const net of nets) await net.dispose();
    return result;
  });
}

describe('threads in Chromium', () => {
  it('a cross-origin-isolated page: a worker model runs on two threads, with the same bits as one', async () => {
    await onPage(true, async (page, warnings) => {
      expect(await compare(page)).toEqual({ isolated: true, threads: [1, 2], sameOutput: true, sameLosses: true, sameWeights: true });
      expect(warnings).toEqual([]);
    });
  }, 60_000);

  it('a page that is not isolated: one thread, and a note saying which headers isolate it', async () => {
    await onPage(false, async (page, warnings) => {
      expect(await compare(page)).toEqual({ isolated: false, threads: [1, 1], sameOutput: true, sameLosses: true, sameWeights: true });
      expect(warnings).toContainEqual(
        expect.stringMatching(
          /^rnn-wasm: running on one thread: this page is not cross-origin isolated: serve it with Cross-Origin-Opener-Policy: same-origin/,
        ),
      );
    });
  }, 60_000);

  it("the page's own thread, even when isolated: one thread, and a note to use a worker", async () => {
    await onPage(true, async (page, warnings) => {
      const threads = await page.evaluate(async () => {
        const net = await (window as unknown as Window).rnn.RNN.create({ inputSize: 4, hiddenSize: 64, threads: 2 });
        const n = net.threads;
        net.dispose();
        return n;
      });
      expect(threads).toBe(1);
      expect(warnings).toContainEqual(
        expect.stringMatching(/may not block \(a page's main thread\): create the model in a worker, e\.g\. with WorkerRNN/),
      );
    });
  }, 60_000);
});
