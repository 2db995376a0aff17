/**
 * Errors across WorkerRNN in a production build: Vite's `vite build` (minified, as a user's app ships) bundles a
 * page and a module worker over the package's browser build, installed in a throwaway project as `rnn-wasm`. The
 * worker throws each error class; the page, minified too, checks `instanceof` and the literal `name`. Minifiers
 * rename classes (the page checks that this one did), so an error class named by `new.target.name`, or a worker
 * bridge keyed by constructor names, would fail here.
 *
 * Of ERROR_CLASSES, three never come from a worker call: RnnError (the base class, never thrown as such),
 * UnsupportedError (ONNX only, and `rnn-wasm/onnx` is not served by workers) and WorkerError, which the worker
 * sends only for an answer that structured clone cannot copy, and no RNN method returns one; the page's own
 * WorkerError, for a worker that went away, is checked instead.
 */
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { build as vite } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Served, serve } from '../scripts/serve.js';
import { launchChromium, writeBrowserBundle } from './chromium.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const project = join(root, 'build/minified-worker');
const installed = join(project, 'node_modules/rnn-wasm');
const out = join(project, 'out');

/** The classes the page checks, by the name each should arrive with. */
const CLASSES = [
  'RnnError',
  'OptionError',
  'ShapeError',
  'NonFiniteError',
  'StateDictError',
  'DisposedError',
  'MemoryLimitError',
  'WasmLoadError',
  'WorkerError',
  'FormatError',
  'NotFoundError',
  'VersionError',
];

/**
 * The app: each case is a worker call and the class its rejection must be. The page reports, per case, the
 * error's name, whether it is an instance of that class and of RnnError, and its message.
 */
const APP: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'minified-worker-app', private: true, type: 'module' }),
  'index.html': '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./src/main.js"></script>\n',
  'src/worker.js': "import { serveRNN } from 'rnn-wasm';\nserveRNN();\n",
  'src/main.js': `import { ${CLASSES.join(', ')}, WorkerRNN } from 'rnn-wasm';

const CLASSES = { ${CLASSES.join(', ')} };
const options = { cell: 'gru', inputSize: 2, hiddenSize: 3, outputSize: 1, seed: 1 };
const start = () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });

async function cases(worker) {
  const net = await WorkerRNN.create(worker, options);
  return {
    'create with hiddenSize 0': ['OptionError', () => WorkerRNN.create(worker, { ...options, hiddenSize: 0 })],
    'unroll with 3 features for 2': ['ShapeError', () => net.unroll([[[1, 2, 3]]])],
    'unroll with NaN': ['NonFiniteError', () => net.unroll([[[Number.NaN, 2]]])],
    'loadStateDict({})': ['StateDictError', () => net.loadStateDict({})],
    'create with hiddenSize 40000': ['MemoryLimitError', () => WorkerRNN.create(worker, { ...options, hiddenSize: 40000 })],
    'create with a missing .wasm': [
      'WasmLoadError',
      () => WorkerRNN.create(worker, { ...options, backend: 'wasm-simd', wasm: { simd: './missing.wasm' } }),
    ],
    'load of 3 bytes': ['FormatError', () => WorkerRNN.load(worker, new Uint8Array([1, 2, 3]))],
    'load of a missing file': ['NotFoundError', () => WorkerRNN.load(worker, './missing.rnn')],
    'fromJSON of format version 99': ['VersionError', async () => WorkerRNN.fromJSON(worker, { ...(await net.toJSON()), version: 99 })],
    'a model the worker freed': [
      'DisposedError',
      async () => {
        const gone = await WorkerRNN.create(worker, options);
        await gone.dispose();
        gone.released = false; // past the page's own check, so that the worker answers
        return gone.unroll([[[1, 2]]]);
      },
    ],
    'a disposed model, on the page': [
      'DisposedError',
      async () => {
        const gone = await WorkerRNN.create(worker, options);
        await gone.dispose();
        return gone.unroll([[[1, 2]]]);
      },
    ],
    'a worker terminated, on the page': [
      'WorkerError',
      async () => {
        const other = start();
        const doomed = await WorkerRNN.create(other, options);
        other.terminate();
        return doomed.unroll([[[1, 2]]]);
      },
    ],
  };
}

async function run() {
  const results = {};
  for (const [label, [expected, call]] of Object.entries(await cases(start()))) {
    try {
      await call();
      results[label] = { expected, name: 'resolved' };
    } catch (error) {
      const { name, message } = error;
      results[label] = { expected, name, is: error instanceof CLASSES[expected], rnn: error instanceof RnnError, message };
    }
  }
  return results;
}

window.classNames = Object.fromEntries(Object.entries(CLASSES).map(([name, c]) => [name, c.name]));
run().then(
  (results) => { window.results = results; },
  (error) => { window.results = { failed: String(error) }; },
);
`,
};

let browser: Browser;
let server: Served;
let output: string[];

beforeAll(async () => {
  rmSync(project, { recursive: true, force: true });
  // The package as installed: package.json's exports map over dist/browser.js and the .wasm files, built by rollup.config.mjs.
  mkdirSync(join(installed, 'dist'), { recursive: true });
  cpSync(join(root, 'package.json'), join(installed, 'package.json'));
  await writeBrowserBundle(join(installed, 'dist/browser.js'), { sourcemap: false });
  for (const [name, text] of Object.entries(APP)) {
    mkdirSync(join(project, name, '..'), { recursive: true });
    writeFileSync(join(project, name), text);
  }
  // A production build: mode 'production', Vite's default minifier, a module worker (the README's new Worker(new URL(…))).
  await vite({
    root: project,
    configFile: false,
    mode: 'production',
    logLevel: 'silent',
    worker: { format: 'es' },
    build: { outDir: out, emptyOutDir: true },
  });
  output = readdirSync(out, { recursive: true, encoding: 'utf8' });
  browser = await launchChromium();
  server = await serve(out);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('error classes across WorkerRNN, in a minified Vite build in Chromium', () => {
  it('the build is minified: no error class keeps its name as a class, in the page or the worker', () => {
    const scripts = output.filter((file) => file.endsWith('.js'));
    expect(scripts.length).toBeGreaterThanOrEqual(2); // the page's bundle and the worker's
    for (const file of scripts) {
      const code = readFileSync(join(out, file), 'utf8');
      expect(code.split('\n').length, file).toBeLessThan(50);
      for (const name of CLASSES) expect(code, `${file}: class ${name}`).not.toMatch(new RegExp(`class ${name}\\b`));
    }
  });

  it('each error the worker throws arrives as its class, with its literal name', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(server.url);
    await page.waitForFunction(() => 'results' in window, undefined, { timeout: 20_000 });
    const { classNames, results } = await page.evaluate(() => {
      const { classNames, results } = window as unknown as { classNames: Record<string, string>; results: object };
      return { classNames, results };
    });
    await page.close();
    expect(errors).toEqual([]);
    // The constructors were renamed: `new.target.name` would have said these.
    expect(Object.entries(classNames).filter(([name, renamed]) => name === renamed)).toEqual([]);
    const arrived = (name: string, message: RegExp) => ({
      expected: name,
      name,
      is: true,
      rnn: true,
      message: expect.stringMatching(message),
    });
    expect(results).toEqual({
      'create with hiddenSize 0': arrived('OptionError', /^hiddenSize must be a positive integer, got 0$/),
      'unroll with 3 features for 2': arrived('ShapeError', /^input: expected shape \[d0, d1, 2\], got \[1, 1, 3\]$/),
      'unroll with NaN': arrived('NonFiniteError', /^input: element 0 is NaN/),
      'loadStateDict({})': arrived('StateDictError', /^loadStateDict: missing /),
      'create with hiddenSize 40000': arrived('MemoryLimitError', /^the model needs \d+ bytes; WebAssembly memory holds at most/),
      'create with a missing .wasm': arrived('WasmLoadError', /missing\.wasm.*404/),
      'load of 3 bytes': arrived('FormatError', /too short/),
      'load of a missing file': arrived('NotFoundError', /missing\.rnn answered 404 Not Found$/),
      'fromJSON of format version 99': arrived('VersionError', /format version 99/),
      'a model the worker freed': arrived('DisposedError', /is not hosted by this worker/),
      'a disposed model, on the page': arrived('DisposedError', /^this model was disposed/),
      'a worker terminated, on the page': arrived('WorkerError', /^WorkerRNN: the worker ended/),
    });
  }, 30_000);
});
