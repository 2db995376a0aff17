/**
 * The package as a user gets it: `npm pack`, then a throwaway project outside the repository installs the
 * tarball offline and uses it every way the README promises. Node imports each entry (ESM and CommonJS,
 * main and inline); TypeScript type-checks against the bundled declarations; rollup bundles the inline entry
 * with no configuration beyond resolving packages, and the main entry with the .wasm files at a custom path;
 * Vite bundles (and its dev server serves) the main entry with no configuration at all. Each runs in Chromium,
 * and every run gives the same numbers on a PyTorch fixture as Node does, within float32 rounding of PyTorch's.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import type { Browser } from 'playwright-core';
import { rollup } from 'rollup';
import { createServer as viteDevServer, build as vite } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve } from '../scripts/serve.js';
import { BUDGET_BYTES, BUDGETED, budgeted, sizes } from '../scripts/size.js';
import { OUTPUT, launchChromium } from './chromium.js';
import { expectClose } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtureFolder = resolve(root, (process.env.TORCH_FIXTURES ?? '../shared/fixtures/torch').split(':')[0]);
const fixtureText = readFileSync(join(fixtureFolder, 'lstm_small.json'), 'utf8');
const fixture = JSON.parse(fixtureText) as { expected: { y: { data: number[] }; h_n: { data: number[] } } };

interface Result {
  backend: string;
  y: number[];
  hN: number[];
  error?: string;
}

/** The consumer's sources: one function that runs the fixture, and one entry per way of loading the package. */
const CONSUMER: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'rnn-wasm-consumer', private: true, type: 'module' }),
  'src/app.js': `// Loads the fixture's weights and unrolls its input from its initial state.
export async function run(RNN, fixture, options = {}) {
  const c = fixture.config;
  const net = await RNN.create({
    cell: fixture.module.toLowerCase(), inputSize: c.input_size, hiddenSize: c.hidden_size, numLayers: c.num_layers,
    bidirectional: c.bidirectional, outputSize: fixture.head.out_features, ...options,
  });
  net.loadStateDict(fixture.state_dict);
  const { y, hN } = net.unroll(fixture.input, { h0: fixture.h0, c0: fixture.c0 });
  return { backend: net.backend, y: Array.from(y.data), hN: Array.from(hN.data) };
}
`,
  'src/page.js': `import { run } from './app.js';
export function show(RNN, options) {
  fetch('./fixture.json').then((response) => response.json()).then((fixture) => run(RNN, fixture, options)).then(
    (result) => { window.result = result; document.body.textContent = result.backend; },
    (error) => { window.result = { error: error.name + ': ' + error.message }; });
}
`,
  'src/rollup-inline.js': "import { RNN } from 'rnn-wasm/inline';\nimport { show } from './page.js';\nshow(RNN);\n",
  'src/rollup-custom-path.js': "import { RNN } from 'rnn-wasm';\nimport { show } from './page.js';\nshow(RNN, { wasm: '/cdn/rnn-wasm/' });\n",
  'src/vite.js': "import { RNN } from 'rnn-wasm';\nimport { show } from './page.js';\nshow(RNN);\n",
  'index.html': '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./src/vite.js"></script>\n',
  'tsconfig.json': JSON.stringify({
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'],
      types: [], strict: true, noEmit: true, skipLibCheck: false },
    files: ['types.ts', 'types.cts'],
  }),
  'types.ts': `import { RNN, type RNNOptions, WasmLoadError, WorkerRNN, type MessageEndpoint } from 'rnn-wasm';
import { RNN as InlineRNN } from 'rnn-wasm/inline';
const options: RNNOptions = { cell: 'gru', inputSize: 2, hiddenSize: 4, wasm: { simd: new URL('https://cdn.example/rnn-simd.wasm') } };
const net: RNN = await RNN.create(options);
const y: Float32Array = net.unroll([[[1, 2]]]).y.data;
const inline: InlineRNN = await InlineRNN.create({ inputSize: 1, hiddenSize: 1, backend: 'wasm-simd' });
declare const worker: MessageEndpoint;
const remote: Promise<WorkerRNN> = WorkerRNN.create(worker, options);
export const checks = [y, inline, remote, new WasmLoadError('x') instanceof Error];
import { fromONNX, toONNX } from 'rnn-wasm/onnx';
export const imported: Promise<RNN> = fromONNX(toONNX(net), { backend: 'js' });
`,
  'types.cts': `import rnn = require('rnn-wasm');
import inline = require('rnn-wasm/inline');
export const created: Promise<rnn.RNN> = rnn.RNN.create({ inputSize: 1, hiddenSize: 2 });
export const alsoCreated: Promise<inline.RNN> = inline.RNN.create({ inputSize: 1, hiddenSize: 2 });
`,
};

let consumer: string;
let packed: { files: { path: string }[]; filename: string };

beforeAll(() => {
  const run = (file: string, args: string[], cwd: string) => execFileSync(file, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  // dist/ from the current sources (pretest built the .wasm files); then the tarball exactly as `npm publish` would make it.
  run(process.execPath, [join(root, 'node_modules/rollup/dist/bin/rollup'), '-c', '--silent'], root);
  consumer = mkdtempSync(join(tmpdir(), 'rnn-wasm-consumer-'));
  packed = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', consumer], root))[0];
  for (const [file, text] of Object.entries(CONSUMER)) {
    mkdirSync(join(consumer, file, '..'), { recursive: true });
    writeFileSync(join(consumer, file), text);
  }
  // Offline: the package has no dependencies, so nothing may need the registry.
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(consumer, packed.filename)], consumer);
}, 120_000);

afterAll(() => {
  if (consumer) rmSync(consumer, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds the three builds, both .wasm files, the types and the command, and nothing else of the repository', () => {
    const files = packed.files.map((f) => f.path).filter((f) => !f.endsWith('.map')).sort();
    expect(files).toEqual(['LICENSE', 'README.md', 'dist/browser.js', 'dist/cli.js', 'dist/index.cjs', 'dist/index.d.cts', 'dist/index.d.ts',
      'dist/index.js', 'dist/inline.cjs', 'dist/inline.js', 'dist/onnx.browser.js', 'dist/onnx.cjs', 'dist/onnx.d.cts', 'dist/onnx.d.ts', 'dist/onnx.js',
      'dist/rnn-scalar.wasm', 'dist/rnn-simd.wasm', 'package.json']);
    const installed = JSON.parse(readFileSync(join(consumer, 'node_modules/rnn-wasm/package.json'), 'utf8'));
    expect(installed.sideEffects).toBe(false);
    expect(installed.dependencies).toBeUndefined();
    for (const file of ['browser.js', 'inline.js', 'onnx.browser.js']) {
      expect(readFileSync(join(root, 'dist', file), 'utf8'), `${file} must not import Node's modules`).not.toMatch(/['"]node:/);
    }
  });

  it(`keeps ${BUDGETED.join(' + ')} under ${BUDGET_BYTES / 1024} KB gzipped`, () => {
    const all = sizes(join(root, 'dist'));
    console.log(all.map((s) => `${s.file}: ${s.bytes} B, ${s.gzipped} B gzipped`).join('\n'));
    expect(budgeted(all)).toBeLessThan(BUDGET_BYTES);
  });
});

describe('a project that installs the tarball', () => {
  /** Node's numbers, the reference every bundle must reproduce. */
  const node: Record<string, Result> = {};
  const runNode = (script: string, type: 'module' | 'commonjs') => JSON.parse(execFileSync(process.execPath,
    [`--input-type=${type}`, '-e', script], { cwd: consumer, encoding: 'utf8', env: { ...process.env, FIXTURE: fixtureText } })) as Result;

  it('imports every entry in Node, ESM and CommonJS, and matches PyTorch', () => {
    const esm = (entry: string) => `import { RNN } from '${entry}'; import { run } from './src/app.js';
      console.log(JSON.stringify(await run(RNN, JSON.parse(process.env.FIXTURE))));`;
    const cjs = (entry: string) => `const { RNN } = require('${entry}');
      import('./src/app.js').then(({ run }) => run(RNN, JSON.parse(process.env.FIXTURE))).then((r) => console.log(JSON.stringify(r)));`;
    node['esm'] = runNode(esm('rnn-wasm'), 'module');
    node['cjs'] = runNode(cjs('rnn-wasm'), 'commonjs');
    node['inline esm'] = runNode(esm('rnn-wasm/inline'), 'module');
    node['inline cjs'] = runNode(cjs('rnn-wasm/inline'), 'commonjs');
    for (const [entry, result] of Object.entries(node)) {
      expect(result.backend, entry).toBe('wasm-simd');
      expectClose(result.y, fixture.expected.y.data, `${entry} y`);
      expectClose(result.hN, fixture.expected.h_n.data, `${entry} h_n`);
      expect(result, entry).toEqual(node['esm']);
    }
  }, 60_000);

  it('imports rnn-wasm/onnx in Node, ESM and CommonJS, sharing the core\'s RNN and error classes', () => {
    const check = `const net = await RNN.create({ cell: 'gru', inputSize: 2, hiddenSize: 3, outputSize: 2, backend: 'js' });
      const back = await fromONNX(toONNX(net), { backend: 'js' });
      const error = await fromONNX(new Uint8Array(0)).catch((e) => e);
      console.log(JSON.stringify({ same: back instanceof RNN, typed: error instanceof FormatError, y: Array.from(back.unroll([[[1, 2]]]).y.data) }));`;
    const esm = runNode(`import { RNN, FormatError } from 'rnn-wasm'; import { fromONNX, toONNX } from 'rnn-wasm/onnx'; ${check}`, 'module');
    const cjs = runNode(`const { RNN, FormatError } = require('rnn-wasm'); const { fromONNX, toONNX } = require('rnn-wasm/onnx');
      (async () => { ${check} })();`, 'commonjs');
    for (const result of [esm, cjs] as unknown as { same: boolean; typed: boolean; y: number[] }[]) {
      expect(result.same).toBe(true);
      expect(result.typed).toBe(true);
    }
    expect(cjs).toEqual(esm);
  }, 60_000);

  it('gets the rnn-wasm command, which finds the .wasm files beside it', () => {
    const command = join(consumer, 'node_modules/.bin/rnn-wasm');
    const installed = JSON.parse(readFileSync(join(consumer, 'node_modules/rnn-wasm/package.json'), 'utf8'));
    expect(execFileSync(command, ['--version'], { cwd: consumer, encoding: 'utf8' })).toBe(`rnn-wasm ${installed.version}\n`);
    const info = execFileSync(command, ['info'], { cwd: consumer, encoding: 'utf8' });
    expect(info).toMatch(/^default backend +wasm-simd:/m);
    expect(info).toMatch(/node_modules\/rnn-wasm\/dist\/rnn-simd\.wasm +[\d.]+ kB +loads in \d+ ms/);
  }, 60_000);

  it('type-checks against the bundled declarations, as ESM and as CommonJS', () => {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', consumer], { encoding: 'utf8' });
  }, 60_000);

  describe('bundled and run in Chromium', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchChromium();
    }, 30_000);
    afterAll(async () => browser?.close());

    /** Serves a bundle, runs it, and returns its result and the .wasm files it fetched. */
    async function runInChromium(folder: string, name: string) {
      writeFileSync(join(folder, 'fixture.json'), fixtureText);
      const server = await serve(folder);
      try {
        return await openInChromium(server.url, name);
      } finally {
        await server.close();
      }
    }

    async function openInChromium(url: string, name: string) {
      const page = await browser.newPage();
      const wasm: string[] = [];
      page.on('response', (r) => {
        if (r.url().endsWith('.wasm')) wasm.push(`${new URL(r.url()).pathname} ${r.headers()['content-type']}`);
      });
      try {
        await page.goto(url);
        await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 20_000 });
        const result = await page.evaluate(() => (window as unknown as { result: Result }).result);
        mkdirSync(join(OUTPUT, 'package'), { recursive: true });
        await page.screenshot({ path: join(OUTPUT, 'package', `${name}.png`) });
        return { result, wasm };
      } finally {
        await page.close();
      }
    }

    async function bundleWithRollup(entry: string, out: string): Promise<string[]> {
      const warnings: string[] = [];
      const bundle = await rollup({
        input: join(consumer, 'src', entry),
        plugins: [nodeResolve({ browser: true })],
        onwarn: (warning) => warnings.push(warning.message),
      });
      await bundle.write({ dir: join(consumer, out), format: 'es' });
      await bundle.close();
      writeFileSync(join(consumer, out, 'index.html'),
        `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./${entry}"></script>\n`);
      return warnings;
    }

    it('rollup, inline entry: nothing to serve but the bundle', async () => {
      expect(await bundleWithRollup('rollup-inline.js', 'out/rollup-inline')).toEqual([]);
      expect(readdirSync(join(consumer, 'out/rollup-inline')).filter((f) => f.endsWith('.wasm'))).toEqual([]);
      const { result, wasm } = await runInChromium(join(consumer, 'out/rollup-inline'), 'rollup-inline');
      expect(wasm).toEqual([]);
      expect(result).toEqual(node['esm']);
    }, 60_000);

    it('rollup, main entry: the .wasm files at a custom path given to RNN.create', async () => {
      expect(await bundleWithRollup('rollup-custom-path.js', 'out/rollup-custom-path')).toEqual([]);
      const cdn = join(consumer, 'out/rollup-custom-path/cdn/rnn-wasm');
      mkdirSync(cdn, { recursive: true });
      for (const build of ['simd', 'scalar']) {
        cpSync(join(consumer, `node_modules/rnn-wasm/dist/rnn-${build}.wasm`), join(cdn, `rnn-${build}.wasm`));
      }
      const { result, wasm } = await runInChromium(join(consumer, 'out/rollup-custom-path'), 'rollup-custom-path');
      expect(wasm).toEqual(['/cdn/rnn-wasm/rnn-simd.wasm application/wasm']);
      expect(result).toEqual(node['esm']);
    }, 60_000);

    it('Vite, main entry, no configuration: Vite ships the .wasm it finds in new URL(…, import.meta.url)', async () => {
      await vite({ root: consumer, configFile: false, logLevel: 'silent', build: { outDir: 'out/vite', emptyOutDir: true } });
      const { result, wasm } = await runInChromium(join(consumer, 'out/vite'), 'vite');
      expect(wasm).toHaveLength(1);
      expect(wasm[0]).toMatch(/^\/assets\/rnn-simd-[\w-]+\.wasm application\/wasm$/);
      expect(result).toEqual(node['esm']);
    }, 60_000);

    it("Vite's dev server, main entry, no configuration: the .wasm is found beside the pre-bundled dependency", async () => {
      mkdirSync(join(consumer, 'public'), { recursive: true });
      writeFileSync(join(consumer, 'public/fixture.json'), fixtureText);
      const server = await viteDevServer({ root: consumer, configFile: false, logLevel: 'silent',
        server: { host: '127.0.0.1', port: 5170, strictPort: false } });
      await server.listen();
      try {
        const { result, wasm } = await openInChromium(server.resolvedUrls!.local[0], 'vite-dev');
        expect(wasm).toEqual(['/node_modules/rnn-wasm/dist/rnn-simd.wasm application/wasm']);
        expect(result).toEqual(node['esm']);
      } finally {
        await server.close();
      }
    }, 60_000);
  });
});
