/**
 * `rnn-wasm info`: which backend this machine gets and why: whether the engine runs WebAssembly, SIMD and
 * relaxed SIMD, what backend 'wasm' therefore picks, and whether each build is where the library looks for it.
 */
import { statSync } from 'node:fs';
import { arch, cpus, platform } from 'node:os';
import { isAbsolute, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BackendChoice,
  RNN,
  type WasmBuild,
  defaultWasmSource,
  relaxedSimdSupported,
  simdSupported,
  wasmSupported,
} from '../index.js';
import { type CommandSpec, commandHelp, parseCommand } from './args.js';
import { EXIT } from './errors.js';
import { packageVersion } from './version.js';

export const spec: CommandSpec = {
  name: 'info',
  usage: 'info',
  summary: "Tells which backend this machine runs and why: WebAssembly, SIMD and relaxed SIMD support, and each build's file.",
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
  const relaxed = relaxedSimdSupported();
  rows.push([
    'WebAssembly',
    wasm
      ? 'yes: this engine compiles WebAssembly modules'
      : "no: absent, turned off (node --jitless) or refused (a Content-Security-Policy without 'wasm-unsafe-eval')",
  ]);
  rows.push(['WebAssembly SIMD', simd ? 'yes: the engine validates a module with a v128 instruction' : 'no']);
  rows.push([
    'relaxed SIMD',
    relaxed
      ? 'yes: the engine validates a module with f32x4.relaxed_madd'
      : `no${simd && process.versions.node.split('.')[0] === '20' ? ' (Node 20 has it behind --experimental-wasm-relaxed-simd)' : ''}`,
  ]);
  const why = !wasm
    ? "without WebAssembly, backend 'wasm' runs the pure-JS kernels (the same math, slower)"
    : relaxed
      ? "backend 'wasm' takes the relaxed-SIMD build (fused multiply-adds) where the engine has relaxed SIMD"
      : simd
        ? "backend 'wasm' takes the SIMD build where the engine has SIMD but not relaxed SIMD"
        : "without SIMD, backend 'wasm' takes the scalar build";
  const best: WasmBuild = relaxed ? 'relaxed' : simd ? 'simd' : 'scalar';

  let healthy = true;
  const builds: string[] = [];
  for (const build of ['relaxed', 'simd', 'scalar'] as const) {
    const source = defaultWasmSource(build);
    const file = source instanceof URL && source.protocol === 'file:' ? fileURLToPath(source) : null;
    const inline = ArrayBuffer.isView(source) || source instanceof ArrayBuffer;
    const where = file ? shortPath(file) : inline ? 'inside the library' : String(source);
    const size = file ? fileSize(file) : inline ? `${(source.byteLength / 1024).toFixed(1)} kB` : '';
    const usable = wasm && (build === 'scalar' || (build === 'simd' ? simd : relaxed));
    const lacking = !wasm ? 'no WebAssembly' : !simd ? 'no SIMD' : 'no relaxed SIMD';
    const state = usable ? await readiness(`wasm-${build}`) : { ok: false, text: `not usable here (${lacking})` };
    // Only the build that backend 'wasm' takes on this machine makes the installation broken when it fails to load.
    if (usable && !state.ok && build === best) healthy = false;
    builds.push(`${build.padEnd(8)}${where}${size ? `  ${size}` : ''}  ${state.text}`);
  }
  builds.push(`${'js'.padEnd(8)}pure JavaScript, always there: the readable reference, and the fallback`);

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
  rows.push(['choose', "RNN.create({ backend: 'wasm' | 'wasm-relaxed' | 'wasm-simd' | 'wasm-scalar' | 'js' })"]);

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
