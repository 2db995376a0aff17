/**
 * The package as a user gets it: `npm pack`, then a throwaway project outside the repository installs the
 * tarball offline and uses it every way the README promises. Node imports each entry (ESM and CommonJS,
 * main and inline); TypeScript type-checks against the bundled declarations; rollup bundles the inline entry
 * with no configuration beyond resolving packages, and the main entry with the .wasm files at a custom path;
 * Vite bundles (and its dev server serves) the main entry with no configuration at all. Each runs in Chromium,
 * and every run gives the same numbers on a PyTorch fixture as Node does, within float32 rounding of PyTorch's.
 * A server program bundled into one file for Node leaves the main entry's .wasm behind, and its error names the
 * inline entry, whose bundle runs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import type { Browser } from 'playwright-core';
import { publint } from 'publint';
import { build } from 'esbuild';
import { rollup } from 'rollup';
import { createServer as viteDevServer, build as vite } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve } from '../scripts/serve.js';
import { BUDGET_BYTES, BUDGETED, budgeted, sizes } from '../scripts/size.js';
import { OUTPUT, launchChromium } from './chromium.js';
import { TORCH, fixtureFolders } from './fixture-folders.js';
import { RELAXED_SIMD_FLAGS, expectClose } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtureFolder = fixtureFolders('TORCH_FIXTURES', TORCH)[0];
const fixtureText = readFileSync(join(fixtureFolder, 'lstm_small.json'), 'utf8');
const fixture = JSON.parse(fixtureText) as { expected: { y: { data: number[] }; h_n: { data: number[] } } };

/**
 * What `npm install rnn-wasm` puts on disk. Measured on 2026-12-02: 6.63 MB in 35 files (a 1.75 MB tarball), of
 * which the nine source maps are most (each carries every source of its bundle; the `rnn-wasm/tfjs` entry added
 * three); the relaxed-SIMD build and the two threads builds added 0.75 MB, most of it as base64 in the two inline
 * bundles, which carry all five builds. The command's own map, since dropped, was 0.9 MB more, which this budget
 * would not let back in.
 */
const INSTALL_BUDGET_BYTES = 7_000_000;

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
  'src/rollup-custom-path.js':
    "import { RNN } from 'rnn-wasm';\nimport { show } from './page.js';\nshow(RNN, { wasm: '/cdn/rnn-wasm/' });\n",
  'src/vite.js': "import { RNN } from 'rnn-wasm';\nimport { show } from './page.js';\nshow(RNN);\n",
  // A server program, bundled into one file for Node (out/server/), as esbuild --platform=node or a single-file deployment makes it.
  'src/server.js': `export function report(RNN) {
  RNN.create({ inputSize: 1, hiddenSize: 2 }).then((net) => console.log(net.backend), (error) => console.log(error.name + ': ' + error.message));
}
`,
  'src/server-main.js': "import { RNN } from 'rnn-wasm';\nimport { report } from './server.js';\nreport(RNN);\n",
  'src/server-inline.js': "import { RNN } from 'rnn-wasm/inline';\nimport { report } from './server.js';\nreport(RNN);\n",
  'index.html': '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./src/vite.js"></script>\n',
  // Three projects over the same files: a browser app's (DOM, as before); the strictest settings people turn on
  // (exactOptionalPropertyTypes); a Node program's, with Node's types and no DOM library at all.
  'tsconfig.json': tsconfig({ lib: ['es2022', 'dom'], types: [] }),
  'tsconfig.exact.json': tsconfig({ lib: ['es2022', 'dom'], types: [], exactOptionalPropertyTypes: true }),
  'tsconfig.node.json': tsconfig({
    lib: ['es2022'],
    types: ['node'],
    typeRoots: [join(root, 'node_modules/@types')],
    exactOptionalPropertyTypes: true,
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
  'exact.ts': `// Code written under exactOptionalPropertyTypes, where \`x?: T\` refuses an explicit undefined unless it says \`T | undefined\`.
import { RNN, type OptimizerOptions, type StepResult, type TensorInput } from 'rnn-wasm';
declare const net: RNN;
declare const optimizer: OptimizerOptions;
declare const stream: TensorInput;
declare function chunksOf(stream: TensorInput, size: number): { input: TensorInput; target: TensorInput }[];

// The README's truncated-BPTT loop, as it is written there.
let state;
for (const chunk of chunksOf(stream, 50)) {
  state = net.step(chunk.input, chunk.target, { optimizer, h0: state?.hN, c0: state?.cN });
}
// The same with the state typed, and a streaming loop that passes the last result back in.
let last: StepResult | undefined;
for (const chunk of chunksOf(stream, 50)) last = net.step(chunk.input, chunk.target, { optimizer, h0: last?.hN, c0: last?.cN });
let cellState = net.cell([[0]]);
cellState = net.cell([[0]], cellState);

// Options forwarded from a caller's own optional settings, any of which may be undefined.
declare const maybe: { lr?: number | undefined; epochs?: number | undefined; seed?: number | undefined; withState?: false | undefined };
await net.train([], { epochs: maybe.epochs, seed: maybe.seed, optimizer: { kind: 'adam', lr: maybe.lr }, earlyStopping: { patience: maybe.epochs } });
net.evaluate(stream, stream, { withState: maybe.withState, h0: undefined });
net.generate(stream, { steps: 1, temperature: maybe.lr, topK: undefined, topP: undefined, stopId: undefined });
net.save({ metadata: undefined });
await RNN.create({ inputSize: 1, hiddenSize: 2, wasm: { simd: undefined, scalar: undefined } });
`,
};

/** The consumer's tsconfig: strict, declarations checked (no skipLibCheck), over every .ts and .cts file above. */
function tsconfig(options: Record<string, unknown>): string {
  return JSON.stringify({
    compilerOptions: {
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'es2022',
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      ...options,
    },
    files: ['types.ts', 'types.cts', 'exact.ts', 'optional.ts'],
  });
}

/**
 * optional.ts, from the bundled declarations: every optional field of every exported type (and of the options
 * that RNN's and WorkerRNN's methods take) must accept undefined, and each one that does not is named in the
 * compiler's error, e.g. \`"TrainOptions.epochs"\`. Three kinds refuse it on purpose, at run time as in the types:
 * module \`names\` (an undefined name is an OptionError, not the default), \`out\` buffers (a key that is there must
 * hold a buffer: ShapeError), and ModelJSON / TensorJSON, which describe JSON, where no value is undefined.
 */
function optionalFieldsCheck(declarations: string, onnxDeclarations: string): string {
  const exported = (text: string) => [...text.matchAll(/^export type \{ ([^}]*) \};$/gm)].flatMap((m) => m[1].split(', '));
  const all = exported(declarations);
  const onnx = exported(onnxDeclarations);
  if (all.length < 20 || onnx.length < 1) throw new Error(`found only ${all.length} + ${onnx.length} exported types in the declarations`);
  const names = all.filter((name) => name !== 'ModelJSON' && name !== 'TensorJSON');
  const checks = [...names, ...onnx].map((name) => `  ${name}: check<Offending<${name}, '${name}.'>>(true),`);
  return `import type { ${names.join(', ')}, ModelJSON, RNN, WorkerRNN } from 'rnn-wasm';
import type { ${onnx.join(', ')} } from 'rnn-wasm/onnx';
type Exempt = \`\${string}.names.\${string}\` | \`\${string}.out.\${string}\`;
/** Paths of the optional fields of T (recursively) that refuse an explicit undefined. */
type Offending<T, Path extends string> = T extends ((...args: never) => unknown) | ArrayLike<unknown> | ArrayBufferLike | ArrayBufferView | URL | Promise<unknown>
  ? never
  : T extends object
    ? { [K in keyof T & string]-?: (string extends K ? never
          : {} extends Pick<T, K> ? ({ [P in K]: undefined } extends Pick<T, K> ? never : \`\${Path}\${K}\`) : never)
        | Offending<NonNullable<T[K]>, \`\${Path}\${K}.\`> }[keyof T & string]
    : never;
type Arguments<C> = { [K in keyof C]: C[K] extends (...args: infer A) => unknown ? A[number] : never }[keyof C];
/** Compiles only when nothing is offending: otherwise the error names what is. */
const check = <O>(ok: [Exclude<O, Exempt>] extends [never] ? true : Exclude<O, Exempt>) => ok;
export const checked = {
${checks.join('\n')}
  'RNN methods': check<Offending<Exclude<Arguments<RNN> | Arguments<typeof RNN>, ModelJSON>, 'RNN method options.'>>(true),
  'WorkerRNN methods': check<Offending<Arguments<WorkerRNN>, 'WorkerRNN method options.'>>(true),
};
`;
}

let consumer: string;
let packed: { files: { path: string; size: number }[]; filename: string; size: number; unpackedSize: number };

beforeAll(() => {
  const run = (file: string, args: string[], cwd: string) =>
    execFileSync(file, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
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
    const files = packed.files.map((f) => f.path).sort();
    // Source maps for the builds a debugger steps through; none for the inline builds or the command.
    expect(files).toEqual([
      'LICENSE',
      'README.md',
      'dist/browser.js',
      'dist/browser.js.map',
      'dist/cli.js',
      'dist/index.cjs',
      'dist/index.cjs.map',
      'dist/index.d.cts',
      'dist/index.d.ts',
      'dist/index.js',
      'dist/index.js.map',
      'dist/inline.cjs',
      'dist/inline.js',
      'dist/onnx.browser.js',
      'dist/onnx.browser.js.map',
      'dist/onnx.cjs',
      'dist/onnx.cjs.map',
      'dist/onnx.d.cts',
      'dist/onnx.d.ts',
      'dist/onnx.js',
      'dist/onnx.js.map',
      'dist/rnn-relaxed-threads.wasm',
      'dist/rnn-relaxed.wasm',
      'dist/rnn-scalar.wasm',
      'dist/rnn-simd-threads.wasm',
      'dist/rnn-simd.wasm',
      'dist/tfjs.browser.js',
      'dist/tfjs.browser.js.map',
      'dist/tfjs.cjs',
      'dist/tfjs.cjs.map',
      'dist/tfjs.d.cts',
      'dist/tfjs.d.ts',
      'dist/tfjs.js',
      'dist/tfjs.js.map',
      'package.json',
    ]);
    const installed = JSON.parse(readFileSync(join(consumer, 'node_modules/rnn-wasm/package.json'), 'utf8'));
    expect(installed.sideEffects).toBe(false);
    expect(installed.dependencies).toBeUndefined();
    for (const file of ['browser.js', 'inline.js', 'onnx.browser.js', 'tfjs.browser.js']) {
      expect(readFileSync(join(root, 'dist', file), 'utf8'), `${file} must not import Node's modules`).not.toMatch(/['"]node:/);
    }
  });

  it(`weighs under ${INSTALL_BUDGET_BYTES / 1e6} MB installed`, () => {
    const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;
    const largest = [...packed.files]
      .sort((a, b) => b.size - a.size)
      .slice(0, 5)
      .map((f) => `${f.path} ${kB(f.size)}`);
    console.log(
      `tarball ${kB(packed.size)}, installed ${kB(packed.unpackedSize)} in ${packed.files.length} files; largest: ${largest.join(', ')}`,
    );
    expect(packed.unpackedSize).toBeLessThan(INSTALL_BUDGET_BYTES);
  });

  it('is clean for publint and for Are the Types Wrong (attw), offline, on the tarball itself', async () => {
    const tarball = join(consumer, packed.filename);
    const { messages } = await publint({
      pack: { tarball: readFileSync(tarball).buffer as ArrayBuffer },
      level: 'suggestion',
      strict: true,
    });
    expect(messages.map((m) => `${m.type} ${m.code} ${m.path.join('.')}`)).toEqual([]);
    // The .wasm entries are not modules for TypeScript to resolve; every other entry, under node10, node16 (CJS and
    // ESM) and bundler resolution, must be typed and in the right format.
    const attw = spawnSync(
      process.execPath,
      [
        join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js'),
        tarball,
        '--exclude-entrypoints',
        'rnn-relaxed.wasm',
        'rnn-simd.wasm',
        'rnn-scalar.wasm',
        'rnn-simd-threads.wasm',
        'rnn-relaxed-threads.wasm',
        '--format',
        'ascii',
        '--no-color',
      ],
      { encoding: 'utf8' },
    );
    expect(attw.status, attw.stdout + attw.stderr).toBe(0);
    expect(attw.stdout).toContain('No problems found');
  }, 60_000);

  it('passes `npm publish --dry-run`: not private, every field the registry needs', () => {
    const out = execFileSync('npm', ['publish', '--dry-run', '--ignore-scripts', '--json'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const report = JSON.parse(out.slice(out.indexOf('{')));
    const installed = JSON.parse(readFileSync(join(consumer, 'node_modules/rnn-wasm/package.json'), 'utf8'));
    expect(report.id ?? report[installed.name]?.id).toBe(`${installed.name}@${installed.version}`);
  }, 60_000);

  it(`keeps ${BUDGETED.join(' + ')} under ${BUDGET_BYTES / 1024} KB gzipped`, () => {
    const all = sizes(join(root, 'dist'));
    console.log(all.map((s) => `${s.file}: ${s.bytes} B, ${s.gzipped} B gzipped`).join('\n'));
    expect(budgeted(all)).toBeLessThan(BUDGET_BYTES);
  });
});

describe('a project that installs the tarball', () => {
  /** Node's numbers, the reference every bundle must reproduce. */
  const node: Record<string, Result> = {};
  const runNode = (script: string, type: 'module' | 'commonjs', flags: string[] = []) =>
    JSON.parse(
      execFileSync(process.execPath, [...flags, `--input-type=${type}`, '-e', script], {
        cwd: consumer,
        encoding: 'utf8',
        env: { ...process.env, FIXTURE: fixtureText },
      }),
    ) as Result;

  it('imports every entry in Node, ESM and CommonJS, and matches PyTorch', () => {
    const esm = (entry: string) => `import { RNN } from '${entry}'; import { run } from './src/app.js';
      console.log(JSON.stringify(await run(RNN, JSON.parse(process.env.FIXTURE))));`;
    const cjs = (entry: string) => `const { RNN } = require('${entry}');
      import('./src/app.js').then(({ run }) => run(RNN, JSON.parse(process.env.FIXTURE))).then((r) => console.log(JSON.stringify(r)));`;
    node.esm = runNode(esm('rnn-wasm'), 'module');
    node.cjs = runNode(cjs('rnn-wasm'), 'commonjs');
    node['inline esm'] = runNode(esm('rnn-wasm/inline'), 'module');
    node['inline cjs'] = runNode(cjs('rnn-wasm/inline'), 'commonjs');
    for (const [entry, result] of Object.entries(node)) {
      expect(result.backend, entry).toBe('wasm-simd');
      expectClose(result.y, fixture.expected.y.data, `${entry} y`);
      expectClose(result.hN, fixture.expected.h_n.data, `${entry} h_n`);
      expect(result, entry).toEqual(node.esm);
    }
    // What Chromium runs (it has relaxed SIMD): the relaxed build, whose fused multiply-adds round differently.
    node.relaxed = runNode(esm('rnn-wasm'), 'module', [...RELAXED_SIMD_FLAGS]);
    expect(node.relaxed.backend).toBe('wasm-relaxed');
    expectClose(node.relaxed.y, fixture.expected.y.data, 'relaxed y');
    expectClose(node.relaxed.hN, fixture.expected.h_n.data, 'relaxed h_n');
  }, 60_000);

  it("imports rnn-wasm/onnx in Node, ESM and CommonJS, sharing the core's RNN and error classes", () => {
    const check = `const net = await RNN.create({ cell: 'gru', inputSize: 2, hiddenSize: 3, outputSize: 2, backend: 'js' });
      const back = await fromONNX(toONNX(net), { backend: 'js' });
      const error = await fromONNX(new Uint8Array(0)).catch((e) => e);
      console.log(JSON.stringify({ same: back instanceof RNN, typed: error instanceof FormatError, y: Array.from(back.unroll([[[1, 2]]]).y.data) }));`;
    const esm = runNode(
      `import { RNN, FormatError } from 'rnn-wasm'; import { fromONNX, toONNX } from 'rnn-wasm/onnx'; ${check}`,
      'module',
    );
    const cjs = runNode(
      `const { RNN, FormatError } = require('rnn-wasm'); const { fromONNX, toONNX } = require('rnn-wasm/onnx');
      (async () => { ${check} })();`,
      'commonjs',
    );
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

  it('bundled into one file for Node: the main entry, its .wasm left behind, names rnn-wasm/inline, which runs', async () => {
    const out = join(consumer, 'out/server');
    const bundleForNode = async (entry: string) => {
      const bundle = await rollup({
        input: join(consumer, 'src', entry),
        external: [/^node:/],
        plugins: [nodeResolve({ exportConditions: ['node'] })],
      });
      await bundle.write({ file: join(out, entry.replace(/\.js$/, '.mjs')), format: 'es', inlineDynamicImports: true });
      await bundle.close();
      return execFileSync(process.execPath, [join(out, entry.replace(/\.js$/, '.mjs'))], { encoding: 'utf8' }).trim();
    };
    const main = await bundleForNode('server-main.js');
    expect(readdirSync(out)).toEqual(['server-main.mjs']);
    expect(main).toMatch(
      new RegExp(
        `^WasmLoadError: cannot load the simd WebAssembly build at ${pathToFileURL(join(out, 'rnn-simd.wasm')).href}: ENOENT: .*; `
          + "a server bundle \\(esbuild --platform=node, a single-file deployment\\) leaves the \\.wasm files behind: import 'rnn-wasm/inline' instead",
      ),
    );
    expect(await bundleForNode('server-inline.js')).toBe('wasm-simd');
    // esbuild's default for Node is CommonJS, whose bundle of the ESM entry has no import.meta.url at all.
    const cjs = join(out, 'server-main.cjs');
    await build({ entryPoints: [join(consumer, 'src/server-main.js')], bundle: true, platform: 'node', outfile: cjs, logLevel: 'silent' });
    expect(execFileSync(process.execPath, [cjs], { encoding: 'utf8' }).trim()).toMatch(
      /^WasmLoadError: cannot tell where rnn-simd\.wasm is: this module has no URL of its own .*import 'rnn-wasm\/inline' instead/,
    );
  }, 60_000);

  describe('type-checks against the bundled declarations, as ESM and as CommonJS, strict, without skipLibCheck', () => {
    const tsc = (project: string) => {
      const dist = join(consumer, 'node_modules/rnn-wasm/dist');
      writeFileSync(
        join(consumer, 'optional.ts'),
        optionalFieldsCheck(readFileSync(join(dist, 'index.d.ts'), 'utf8'), readFileSync(join(dist, 'onnx.d.ts'), 'utf8')),
      );
      try {
        execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(consumer, project)], {
          encoding: 'utf8',
        });
      } catch (error) {
        throw new Error(`tsc -p ${project}:\n${(error as { stdout: string }).stdout}`);
      }
    };
    it('with the DOM library', () => tsc('tsconfig.json'), 60_000);
    it('under exactOptionalPropertyTypes: every optional field takes undefined', () => tsc('tsconfig.exact.json'), 60_000);
    it("in a Node project: Node's types, no DOM library", () => tsc('tsconfig.node.json'), 60_000);
  });

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
      writeFileSync(
        join(consumer, out, 'index.html'),
        `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./${entry}"></script>\n`,
      );
      return warnings;
    }

    it('rollup, inline entry: nothing to serve but the bundle', async () => {
      expect(await bundleWithRollup('rollup-inline.js', 'out/rollup-inline')).toEqual([]);
      expect(readdirSync(join(consumer, 'out/rollup-inline')).filter((f) => f.endsWith('.wasm'))).toEqual([]);
      const { result, wasm } = await runInChromium(join(consumer, 'out/rollup-inline'), 'rollup-inline');
      expect(wasm).toEqual([]);
      expect(result).toEqual(node.relaxed);
    }, 60_000);

    it('rollup, main entry: the .wasm files at a custom path given to RNN.create', async () => {
      expect(await bundleWithRollup('rollup-custom-path.js', 'out/rollup-custom-path')).toEqual([]);
      const cdn = join(consumer, 'out/rollup-custom-path/cdn/rnn-wasm');
      mkdirSync(cdn, { recursive: true });
      for (const build of ['relaxed', 'simd', 'scalar']) {
        cpSync(join(consumer, `node_modules/rnn-wasm/dist/rnn-${build}.wasm`), join(cdn, `rnn-${build}.wasm`));
      }
      const { result, wasm } = await runInChromium(join(consumer, 'out/rollup-custom-path'), 'rollup-custom-path');
      expect(wasm).toEqual(['/cdn/rnn-wasm/rnn-relaxed.wasm application/wasm']);
      expect(result).toEqual(node.relaxed);
    }, 60_000);

    it('Vite, main entry, no configuration: Vite ships the .wasm it finds in new URL(…, import.meta.url)', async () => {
      await vite({ root: consumer, configFile: false, logLevel: 'silent', build: { outDir: 'out/vite', emptyOutDir: true } });
      const { result, wasm } = await runInChromium(join(consumer, 'out/vite'), 'vite');
      expect(wasm).toHaveLength(1);
      expect(wasm[0]).toMatch(/^\/assets\/rnn-relaxed-[\w-]+\.wasm application\/wasm$/);
      expect(result).toEqual(node.relaxed);
    }, 60_000);

    it("Vite's dev server, main entry, no configuration: the .wasm is found beside the pre-bundled dependency", async () => {
      mkdirSync(join(consumer, 'public'), { recursive: true });
      writeFileSync(join(consumer, 'public/fixture.json'), fixtureText);
      const server = await viteDevServer({
        root: consumer,
        configFile: false,
        logLevel: 'silent',
        server: { host: '127.0.0.1', port: 5170, strictPort: false },
      });
      await server.listen();
      try {
        const { result, wasm } = await openInChromium(server.resolvedUrls!.local[0], 'vite-dev');
        expect(wasm).toEqual(['/node_modules/rnn-wasm/dist/rnn-relaxed.wasm application/wasm']);
        expect(result).toEqual(node.relaxed);
      } finally {
        await server.close();
      }
    }, 60_000);
  });
});
