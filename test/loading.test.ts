/**
 * Where the WebAssembly comes from and what runs when it cannot: the default files, a folder URL, each
 * build's URL, bytes or compiled module, a server's answers (application/wasm streamed, octet-stream,
 * an HTML page in its place, 404), and the fallbacks when SIMD or WebAssembly itself is missing.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { OptionError, RNN, type RNNOptions, WasmLoadError } from '../src/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const simdFile = new URL('../build/rnn-simd.wasm', import.meta.url);
const simdBytes = readFileSync(simdFile);
const options: RNNOptions = { cell: 'gru', inputSize: 2, hiddenSize: 5, outputSize: 1, seed: 7 };
const input = [[[0.5, -1]], [[0.25, 0.75]], [[-0.5, 0.1]]];

/** The numbers a model from the default SIMD file gives; every other source of that build must give the same. */
let reference: Float32Array;
beforeAll(async () => {
  const net = await RNN.create({ ...options, backend: 'wasm-simd' });
  expect(net.backend).toBe('wasm-simd');
  reference = net.unroll(input).y.data;
});

async function yFrom(wasm: RNNOptions['wasm'], backend: RNNOptions['backend'] = 'wasm-simd') {
  const net = await RNN.create({ ...options, backend, wasm });
  return { backend: net.backend, y: net.unroll(input).y.data };
}

describe('wasm sources', () => {
  it('takes each build as a URL object, a file: URL string, bytes, or a compiled module', async () => {
    const sources = [
      simdFile,
      simdFile.href,
      new Uint8Array(simdBytes),
      simdBytes.buffer.slice(simdBytes.byteOffset, simdBytes.byteOffset + simdBytes.byteLength),
      await WebAssembly.compile(simdBytes),
    ];
    for (const simd of sources) expect((await yFrom({ simd })).y).toEqual(reference);
  });

  it('takes a folder URL holding the three builds', async () => {
    const folder = pathToFileURL(`${root}build/`).href;
    expect(await yFrom(folder)).toEqual({ backend: 'wasm-simd', y: reference });
    expect((await yFrom(new URL(folder), 'wasm-scalar')).backend).toBe('wasm-scalar');
    expect((await yFrom(folder, 'wasm-relaxed')).backend).toBe('wasm-relaxed');
  });

  it('refuses malformed sources, naming them', async () => {
    await expect(RNN.create({ ...options, wasm: `${root}build` })).rejects.toThrow(/a folder URL must end with '\/'/);
    await expect(RNN.create({ ...options, wasm: { simd: 42 as unknown as string } })).rejects.toThrow(
      new OptionError('wasm.simd must be a URL (string or URL), bytes (ArrayBuffer or typed array) or a WebAssembly.Module, got Number'),
    );
    await expect(RNN.create({ ...options, wasm: { simdd: simdFile } as never })).rejects.toThrow(/unknown option 'simdd'/);
  });

  it('names a missing file, bytes that are not WebAssembly, and a relative URL with no page to resolve it', async () => {
    await expect(yFrom({ simd: new URL('missing/rnn-simd.wasm', simdFile) })).rejects.toThrow(WasmLoadError);
    // Beside a server bundle (no build/ folder): the inline entry is the fix. In a checkout not yet built: the build command.
    await expect(yFrom({ simd: new URL('missing/rnn-simd.wasm', simdFile) })).rejects.toThrow(
      /rnn-simd\.wasm: ENOENT: .*; a server bundle \(esbuild --platform=node, a single-file deployment\) leaves the \.wasm files behind: import 'rnn-wasm\/inline' instead/,
    );
    await expect(yFrom({ simd: new URL('unbuilt/build/rnn-simd.wasm', simdFile) })).rejects.toThrow(
      /ENOENT: .*; in a source checkout, `npm run build:wasm` writes build\/$/,
    );
    await expect(yFrom({ simd: new TextEncoder().encode('<!doctype html><html>…') })).rejects.toThrow(
      /the simd build passed as bytes is not WebAssembly: its \d+ bytes start with "<!doctype html><html>/,
    );
    await expect(yFrom({ simd: 'wasm/rnn-simd.wasm' })).rejects.toThrow(/'wasm\/rnn-simd.wasm' is a relative URL/);
  });
});

describe('wasm over http', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((request, response) => {
      const routes: Record<string, [number, string, Uint8Array | string]> = {
        '/streamed.wasm': [200, 'application/wasm', simdBytes],
        '/octet.wasm': [200, 'application/octet-stream', simdBytes],
        '/fallback.wasm': [200, 'text/html; charset=utf-8', '<!DOCTYPE html>\n<html><body>app shell</body></html>'],
      };
      const [status, type, body] = routes[request.url ?? ''] ?? [404, 'text/plain', 'not found'];
      response.writeHead(status, { 'Content-Type': type }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  afterEach(() => vi.restoreAllMocks());

  it('streams application/wasm into the compiler', async () => {
    const streaming = vi.spyOn(WebAssembly, 'compileStreaming');
    expect((await yFrom({ simd: `${base}/streamed.wasm` })).y).toEqual(reference);
    expect(streaming).toHaveBeenCalledTimes(1);
  });

  it('compiles the bytes when the server says application/octet-stream', async () => {
    expect((await yFrom({ simd: `${base}/octet.wasm` })).y).toEqual(reference);
  });

  it('names an HTML page served where the .wasm should be, and a 404', async () => {
    await expect(yFrom({ simd: `${base}/fallback.wasm` })).rejects.toThrow(
      new RegExp(
        `the simd WebAssembly build at ${base}/fallback.wasm is not WebAssembly: its \\d+ bytes start with "<!DOCTYPE html> <html><b" \\(served as text/html; charset=utf-8\\)`,
      ),
    );
    await expect(yFrom({ simd: `${base}/gone.wasm` })).rejects.toThrow(/gone.wasm: the server answered 404 Not Found/);
  });
});

describe('feature detection and fallback', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
    vi.resetModules();
  });

  /** A fresh copy of the library, so that its once-per-process detection sees the stubbed engine. */
  const fresh = async () => {
    vi.resetModules();
    return import('../src/index.js');
  };

  it('takes the scalar build where SIMD does not validate, and refuses an explicit wasm-simd', async () => {
    const validate = WebAssembly.validate.bind(WebAssembly);
    vi.spyOn(WebAssembly, 'validate').mockImplementation((bytes) => validate(bytes) && !new Uint8Array(bytes as Uint8Array).includes(0xfd));
    const lib = await fresh();
    expect(lib.simdSupported()).toBe(false);
    const net = await lib.RNN.create(options);
    expect(net.backend).toBe('wasm-scalar');
    expect(net.unroll(input).y.data).toEqual(reference);
    await expect(lib.RNN.create({ ...options, backend: 'wasm-simd' })).rejects.toThrow(/does not support WebAssembly SIMD/);
  });

  it('runs the pure-JS kernels where WebAssembly is absent, and refuses an explicit wasm backend', async () => {
    vi.stubGlobal('WebAssembly', undefined);
    const lib = await fresh();
    expect([lib.wasmSupported(), lib.simdSupported()]).toEqual([false, false]);
    const net = await lib.RNN.create(options);
    expect(net.backend).toBe('js');
    const y = net.unroll(input).y.data;
    y.forEach((v, i) => expect(v).toBeCloseTo(reference[i], 6));
    await expect(lib.RNN.create({ ...options, backend: 'wasm-scalar' })).rejects.toThrow(/does not run WebAssembly/);
  });

  it('runs the pure-JS kernels where compiling is refused (a Content-Security-Policy without wasm-unsafe-eval)', async () => {
    vi.spyOn(WebAssembly, 'Module').mockImplementation(function refused() {
      throw new WebAssembly.CompileError('Wasm code generation disallowed by embedder');
    });
    const lib = await fresh();
    expect((await lib.RNN.create(options)).backend).toBe('js');
  });

  it('falls back to JS in an engine started without WebAssembly (node --jitless)', () => {
    const out = execFileSync(
      process.execPath,
      [
        '--jitless',
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `
      import { RNN, wasmSupported } from './src/index.ts';
      const net = await RNN.create({ inputSize: 2, hiddenSize: 3, outputSize: 1 });
      console.log(typeof WebAssembly, wasmSupported(), net.backend, net.unroll([[[1, 2]]]).y.data.length);
    `,
      ],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 },
    );
    expect(out.trim()).toBe('undefined false js 1');
  });
});
