/**
 * `rnn-wasm info`: which backend this machine gets and why: whether the engine runs WebAssembly and SIMD,
 * what backend 'wasm' therefore picks, and whether each build is where the library looks for it.
 */
import { statSync } from 'node:fs';
import { arch, cpus, platform } from 'node:os';
import { isAbsolute, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BackendChoice, RNN, defaultWasmSource, simdSupported, wasmSupported } from '../index.js';
import { type CommandSpec, commandHelp, parseCommand } from './args.js';
import { EXIT } from './errors.js';
import { packageVersion } from './version.js';

export const spec: CommandSpec = {
  name: 'info',
  usage: 'info',
  summary: "Tells which backend this machine runs and why: WebAssembly and SIMD support, and each build's file.",
  positionals: [],
  options: {},
};

export async function run(argv: readonly string[]): Promise<number> {
  if (!parseCommand(spec, argv)) {
    process.stdout.write(commandHelp(spec));
    return EXIT.ok;
  }
  const cpu = cpus();
  const rows: [string, string][] = [];
  const wasm = wasmSupported();
  const simd = simdSupported();
  rows.push([
    'WebAssembly',
    wasm
      ? 'yes: this engine compiles WebAssembly modules'
      : "no: absent, turned off (node --jitless) or refused (a Content-Security-Policy without 'wasm-unsafe-eval')",
  ]);
  rows.push(['WebAssembly SIMD', simd ? 'yes: the engine validates a module with a v128 instruction' : 'no']);
  const why = !wasm
    ? "without WebAssembly, backend 'wasm' runs the pure-JS kernels (the same math, slower)"
    : simd
      ? "backend 'wasm' takes the SIMD build where the engine has SIMD"
      : "without SIMD, backend 'wasm' takes the scalar build";

  let healthy = true;
  const builds: string[] = [];
  for (const build of ['simd', 'scalar'] as const) {
    const source = defaultWasmSource(build);
    const file = source instanceof URL && source.protocol === 'file:' ? fileURLToPath(source) : null;
    const inline = ArrayBuffer.isView(source) || source instanceof ArrayBuffer;
    const where = file ? shortPath(file) : inline ? 'inside the library' : String(source);
    const size = file ? fileSize(file) : inline ? `${(source.byteLength / 1024).toFixed(1)} kB` : '';
    const usable = wasm && (build === 'scalar' || simd);
    const state = usable
      ? await readiness(`wasm-${build}`)
      : { ok: false, text: `not usable here (${wasm ? 'no SIMD' : 'no WebAssembly'})` };
    // Only a build this machine should be able to run makes the installation broken when it fails to load.
    if (usable && !state.ok && (build === 'simd') === simd) healthy = false;
    builds.push(`${build.padEnd(7)}${where}${size ? `  ${size}` : ''}  ${state.text}`);
  }
  builds.push(`${'js'.padEnd(7)}pure JavaScript, always there: the readable reference, and the fallback`);

  let chosen = 'none: the build it needs did not load';
  try {
    const net = await RNN.create({ inputSize: 1, hiddenSize: 1 });
    chosen = net.backend;
    net.dispose();
  } catch {
    healthy = false;
  }
  rows.push(['default backend', `${chosen}: ${why}`]);
  rows.push(['builds', builds[0]], ...builds.slice(1).map((b) => ['', b] as [string, string]));
  rows.push(['choose', "RNN.create({ backend: 'wasm' | 'wasm-simd' | 'wasm-scalar' | 'js' })"]);

  process.stdout.write(
    `rnn-wasm ${packageVersion()} · Node ${process.version} · ${platform()} ${arch()} · `
      + `${cpu[0]?.model.trim() ?? 'unknown CPU'} × ${cpu.length}\n\n`,
  );
  for (const [label, text] of rows) process.stdout.write(`${label.padEnd(18)}${text}\n`);
  return healthy ? EXIT.ok : EXIT.input;
}

/** A path relative to the working folder when it is inside it, else absolute. */
function shortPath(path: string): string {
  const inside = relative(process.cwd(), path);
  return inside.startsWith('..') || isAbsolute(inside) ? path : inside;
}

function fileSize(path: string): string {
  try {
    return `${(statSync(path).size / 1024).toFixed(1)} kB`;
  } catch {
    return 'missing';
  }
}

/** Whether a model can be made on the backend, and how long compiling and instantiating the build took. */
async function readiness(backend: BackendChoice): Promise<{ ok: boolean; text: string }> {
  const started = performance.now();
  try {
    const net = await RNN.create({ inputSize: 1, hiddenSize: 1, backend });
    net.dispose();
    return { ok: true, text: `loads in ${(performance.now() - started).toFixed(0)} ms` };
  } catch (error) {
    return { ok: false, text: `does not load: ${(error as Error).message}` };
  }
}
