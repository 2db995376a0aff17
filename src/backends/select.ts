/**
 * Turns a user's backend choice into a fresh instance: one per model, so each model owns its memory.
 * 'wasm' degrades step by step instead of failing: the relaxed-SIMD build where the engine has relaxed SIMD,
 * else the SIMD build, else the scalar build, and the pure-JS kernels (the same math, slower) where WebAssembly
 * is absent or refused. An explicit 'wasm-relaxed', 'wasm-simd' or 'wasm-scalar' is a demand: it fails, naming
 * why, where it cannot be met. Threads degrade too: a model that cannot have them here runs on one thread, and
 * the first such model says why.
 */
import type { KernelInstance } from '../backend.js';
import { OptionError } from '../errors.js';
import { type BackendRequest, MAX_THREADS } from '../options.js';
import { createJsInstance } from './js/index.js';
import { cores } from './platform.js';
import { createWasmInstance, relaxedSimdSupported, simdSupported, wasmSupported } from './wasm.js';

export async function createInstance({ choice, wasm, threads }: BackendRequest): Promise<KernelInstance> {
  if (choice === 'js' || (choice === 'wasm' && !wasmSupported())) {
    if (threads !== 1 && threads !== 'auto') noteOneThread('the pure-JS backend runs on one thread');
    return createJsInstance();
  }
  if (!wasmSupported()) {
    throw new OptionError(
      `backend '${choice}': this engine does not run WebAssembly (absent, or refused by a `
        + "Content-Security-Policy without 'wasm-unsafe-eval'); use backend 'wasm' or 'js'",
    );
  }
  if (choice === 'wasm-relaxed' && !relaxedSimdSupported()) {
    throw new OptionError(
      "backend 'wasm-relaxed': this engine does not support WebAssembly relaxed SIMD (Chrome ≥ 114, Firefox ≥ 145, "
        + `Node ≥ 22, or Node 20 with --experimental-wasm-relaxed-simd); use backend 'wasm' or 'wasm-simd'`,
    );
  }
  if (choice === 'wasm-simd' && !simdSupported()) {
    throw new OptionError("backend 'wasm-simd': this engine does not support WebAssembly SIMD; use backend 'wasm' or 'wasm-scalar'");
  }
  const build = choice === 'wasm' ? bestBuild() : (choice.slice('wasm-'.length) as 'relaxed' | 'simd' | 'scalar');
  const count = threads === 'auto' ? autoThreads() : threads;
  if (count > 1) {
    const why = build === 'scalar' ? 'threads run the SIMD builds, and this model runs the scalar one' : whyNoThreads();
    if (!why && build !== 'scalar') return createWasmInstance(`${build}-threads`, wasm, count);
    if (threads !== 'auto') noteOneThread(why);
  }
  return createWasmInstance(build, wasm);
}

/** The fastest build this engine runs. */
function bestBuild(): 'relaxed' | 'simd' | 'scalar' {
  return relaxedSimdSupported() ? 'relaxed' : simdSupported() ? 'simd' : 'scalar';
}

/** 'auto': one thread per core, up to 4 (beyond that a recurrence's step is too short to share). */
function autoThreads(): number {
  return Math.max(1, Math.min(4, MAX_THREADS, cores()));
}

/** Why this thread cannot lead a team, or '' when it can: shared memory, and a thread that may block. */
function whyNoThreads(): string {
  if (typeof SharedArrayBuffer !== 'function') {
    return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false
      ? 'this page is not cross-origin isolated: serve it with Cross-Origin-Opener-Policy: same-origin and '
          + 'Cross-Origin-Embedder-Policy: require-corp (or credentialless)'
      : 'this engine has no SharedArrayBuffer';
  }
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
  } catch {
    return "this thread may not block (a page's main thread): create the model in a worker, e.g. with WorkerRNN";
  }
  return '';
}

const noted = new Set<string>();

/** Says once per reason why a model asked for threads runs on one. */
function noteOneThread(why: string): void {
  if (noted.has(why)) return;
  noted.add(why);
  console.warn(`rnn-wasm: running on one thread: ${why}`);
}
