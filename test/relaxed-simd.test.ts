/**
 * The relaxed-SIMD build and how it is chosen: the probe validates exactly where the engine has relaxed SIMD
 * (Node 20: behind --experimental-wasm-relaxed-simd, which the test workers get), backend 'wasm' takes the build
 * there and the SIMD build elsewhere, an explicit 'wasm-relaxed' is refused where it cannot run, and a folder
 * that lacks rnn-relaxed.wasm is named rather than passed over.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { OptionError, RNN, WasmLoadError, relaxedSimdSupported } from '../src/index.js';
import { RELAXED_SIMD_FLAGS } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const options = { cell: 'lstm', inputSize: 3, hiddenSize: 20, outputSize: 2, seed: 5 } as const;
const input = [[[0.5, -1, 0.25]], [[0.25, 0.75, -0.5]]];

/** What a fresh `node` says about relaxed SIMD, and what backend 'wasm' gives there. */
function probeIn(flags: readonly string[]): { relaxed: boolean; backend: string } {
  const script = `
    import { RNN, relaxedSimdSupported } from './src/index.ts';
    const net = await RNN.create({ inputSize: 1, hiddenSize: 1 });
    console.log(JSON.stringify({ relaxed: relaxedSimdSupported(), backend: net.backend }));`;
  const out = execFileSync(process.execPath, [...flags, '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return JSON.parse(out) as { relaxed: boolean; backend: string };
}

describe('the relaxed-SIMD probe', () => {
  it('validates in the test workers, which run with relaxed SIMD', () => {
    expect(relaxedSimdSupported()).toBe(true);
  });

  it("validates in a node with the flag, and in one without it exactly where Node needs no flag; 'wasm' follows it", () => {
    expect(probeIn(RELAXED_SIMD_FLAGS)).toEqual({ relaxed: true, backend: 'wasm-relaxed' });
    const plain = RELAXED_SIMD_FLAGS.length === 0;
    expect(probeIn([])).toEqual({ relaxed: plain, backend: plain ? 'wasm-relaxed' : 'wasm-simd' });
  });
});

describe('where the engine lacks relaxed SIMD', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.resetModules();
  });

  it("backend 'wasm' takes the SIMD build, and an explicit 'wasm-relaxed' is refused, naming why and what to use", async () => {
    // The engine as Node 20 is without the flag: SIMD validates, f32x4.relaxed_madd (0xfd 0x85 0x02) does not.
    const validate = WebAssembly.validate.bind(WebAssembly);
    const relaxedMadd = (bytes: Uint8Array) => bytes.some((b, i) => b === 0xfd && bytes[i + 1] === 0x85 && bytes[i + 2] === 0x02);
    vi.spyOn(WebAssembly, 'validate').mockImplementation((bytes) => validate(bytes) && !relaxedMadd(new Uint8Array(bytes as Uint8Array)));
    vi.resetModules();
    const lib = await import('../src/index.js');
    expect([lib.simdSupported(), lib.relaxedSimdSupported()]).toEqual([true, false]);
    expect((await lib.RNN.create(options)).backend).toBe('wasm-simd');
    const refused = lib.RNN.create({ ...options, backend: 'wasm-relaxed' });
    await expect(refused).rejects.toThrow(lib.OptionError);
    await expect(refused).rejects.toThrow(
      "backend 'wasm-relaxed': this engine does not support WebAssembly relaxed SIMD (Chrome ≥ 114, Firefox ≥ 145, "
        + "Node ≥ 22, or Node 20 with --experimental-wasm-relaxed-simd); use backend 'wasm' or 'wasm-simd'",
    );
  });
});

describe('a folder of builds', () => {
  const folder = mkdtempSync(join(tmpdir(), 'rnn-relaxed-'));
  for (const build of ['simd', 'scalar']) copyFileSync(join(root, `build/rnn-${build}.wasm`), join(folder, `rnn-${build}.wasm`));
  const url = pathToFileURL(`${folder}/`).href;
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it("without rnn-relaxed.wasm: backend 'wasm' names the missing file instead of quietly taking the SIMD build", async () => {
    const missing = RNN.create({ ...options, wasm: url });
    await expect(missing).rejects.toThrow(WasmLoadError);
    await expect(missing).rejects.toThrow(
      new RegExp(`cannot load the relaxed WebAssembly build at ${url}rnn-relaxed\\.wasm: ENOENT: .*; or ask for backend 'wasm-simd'`),
    );
    expect((await RNN.create({ ...options, wasm: url, backend: 'wasm-simd' })).backend).toBe('wasm-simd');
  });

  it('with it: the relaxed build, close to the SIMD build (its fused multiply-adds round once, not twice)', async () => {
    copyFileSync(join(root, 'build/rnn-relaxed.wasm'), join(folder, 'rnn-relaxed.wasm'));
    const relaxed = await RNN.create({ ...options, wasm: url });
    const simd = await RNN.create({ ...options, wasm: url, backend: 'wasm-simd' });
    expect(relaxed.backend).toBe('wasm-relaxed');
    const [a, b] = [relaxed.unroll(input).y.data, simd.unroll(input).y.data];
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 5));
  });

  it('refuses a wasm option that is not one of the three builds, naming them', async () => {
    await expect(RNN.create({ ...options, wasm: folder })).rejects.toThrow(
      new OptionError(`wasm: a folder URL must end with '/', got '${folder}'; to name each file, pass { relaxed, simd, scalar }`),
    );
  });
});
