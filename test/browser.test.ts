/**
 * The demo page in real headless Chromium: it loads, picks the relaxed-SIMD build (and fetches only that one, as
 * application/wasm), trains in workers while the page keeps painting, the loss falls, the model writes, and
 * the WebAssembly and JavaScript lanes compute the same losses step for step. Served with a
 * Content-Security-Policy that refuses WebAssembly, the same page falls back to the JavaScript kernels.
 * Screenshots go to test-output/browser/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Served, serve } from '../scripts/serve.js';
import { OUTPUT, launchChromium } from './chromium.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const screenshots = join(OUTPUT, 'browser');

interface Lane {
  backend: string | null;
  steps: number;
  seconds: number;
  losses: number[];
  loss: number | null;
  sample: string;
  samples: number;
  error: string | null;
}
interface Demo {
  running: boolean;
  lanes: { wasm: Lane; js: Lane };
  frames: { fps: number; longestGapMs: number };
}

const demo = (page: Page) => page.evaluate(() => (window as unknown as { demo: Demo }).demo);

let browser: Browser;
beforeAll(async () => {
  execFileSync(process.execPath, [join(root, 'node_modules/rollup/dist/bin/rollup'), '-c', '--configDemo', '--silent'], {
    cwd: root,
    stdio: 'pipe',
  });
  mkdirSync(screenshots, { recursive: true });
  browser = await launchChromium();
}, 60_000);
afterAll(async () => browser?.close());

async function open(headers: Record<string, string> = {}): Promise<{ page: Page; server: Served; wasm: { url: string; type: string }[] }> {
  const server = await serve(join(root, 'build/demo'), { headers });
  const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
  const wasm: { url: string; type: string }[] = [];
  page.on('response', (response) => {
    if (response.url().endsWith('.wasm')) wasm.push({ url: response.url(), type: response.headers()['content-type'] });
  });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(server.url);
  expect(errors).toEqual([]);
  return { page, server, wasm };
}

describe('demo page in Chromium', () => {
  it('trains in workers with relaxed SIMD while the page stays responsive; the loss falls and the model writes', async () => {
    const { page, server, wasm } = await open();
    try {
      await page.waitForSelector('#lane-wasm[data-backend="wasm-relaxed"]', { timeout: 15_000 });
      await page.waitForFunction(() => (window as unknown as { demo: Demo }).demo.lanes.js.steps > 0, undefined, { timeout: 15_000 });

      // From here both workers are busy; measure the page's own thread for a few seconds.
      const lag = await page.evaluate(async () => {
        (window as unknown as { demo: Demo }).demo.frames.longestGapMs = 0;
        let last = performance.now();
        let longest = 0;
        const timer = setInterval(() => {
          const now = performance.now();
          longest = Math.max(longest, now - last);
          last = now;
        }, 20);
        await new Promise((resolve) => setTimeout(resolve, 3000));
        clearInterval(timer);
        return { timerGapMs: longest, frameGapMs: (window as unknown as { demo: Demo }).demo.frames.longestGapMs };
      });
      // One JavaScript training step of this model alone takes ~0.5 s: on the main thread the gaps would be that long.
      expect(lag.timerGapMs, 'longest wait of a 20 ms timer on the page').toBeLessThan(300);
      expect(lag.frameGapMs, 'longest gap between animation frames').toBeLessThan(300);

      await page.waitForFunction(
        () => {
          const { wasm: w } = (window as unknown as { demo: Demo }).demo.lanes;
          return w.losses.length >= 10 && w.loss! < 0.85 * w.losses[0] && w.samples >= 1;
        },
        undefined,
        { timeout: 30_000 },
      );
      const state = await demo(page);
      const { wasm: w, js: j } = state.lanes;
      expect([w.error, j.error]).toEqual([null, null]);
      expect([w.backend, j.backend]).toEqual(['wasm-relaxed', 'js']);
      expect(w.loss!).toBeLessThan(0.85 * w.losses[0]);
      expect(state.frames.fps, 'frames per second while training').toBeGreaterThan(20);

      // The same model and batches on both lanes: the same losses, to float32 rounding.
      const n = Math.min(w.losses.length, j.losses.length);
      expect(n).toBeGreaterThan(0);
      for (let i = 0; i < n; i++) expect(Math.abs(w.losses[i] - j.losses[i]), `loss of step ${i + 1}`).toBeLessThan(1e-3 * w.losses[i]);

      const sample = await page.textContent('#lane-wasm [data-field="sample"]');
      expect(sample).toMatch(/^the [\s\S]{150,}$/);
      expect(await page.textContent('#speedup')).toMatch(
        /WebAssembly relaxed SIMD trains [\d.]+× as many steps per second as plain JavaScript/,
      );

      // The controls answer while the workers train: pause, resume at once, and training goes on.
      await page.click('#toggle');
      expect([await page.textContent('#toggle'), (await demo(page)).running]).toEqual(['Resume', false]);
      await page.click('#toggle');
      const steps = (await demo(page)).lanes.wasm.steps;
      await page.waitForFunction((n) => (window as unknown as { demo: Demo }).demo.lanes.wasm.steps > n + 3, steps, { timeout: 15_000 });

      expect(wasm.map((r) => [new URL(r.url).pathname, r.type])).toEqual([['/rnn-relaxed.wasm', 'application/wasm']]);
      await page.screenshot({ path: join(screenshots, 'demo.png'), fullPage: true });
    } finally {
      await page.close();
      await server.close();
    }
  }, 60_000);

  it('falls back to the JavaScript kernels where a Content-Security-Policy refuses WebAssembly', async () => {
    const { page, server, wasm } = await open({ 'Content-Security-Policy': "script-src 'self'" });
    try {
      await page.waitForSelector('#lane-wasm[data-backend="js"]', { timeout: 15_000 });
      await page.waitForFunction(() => (window as unknown as { demo: Demo }).demo.lanes.wasm.steps > 0, undefined, { timeout: 15_000 });
      expect(await page.textContent('#speedup')).toBe(
        'WebAssembly is not available in this browser, so both lanes run the JavaScript kernels.',
      );
      expect(wasm).toEqual([]);
      await page.screenshot({ path: join(screenshots, 'demo-without-webassembly.png'), fullPage: true });
    } finally {
      await page.close();
      await server.close();
    }
  }, 60_000);
});
