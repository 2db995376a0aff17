/**
 * Turns a user's backend choice into a fresh instance: one per model, so each model owns its memory.
 * 'wasm' degrades step by step instead of failing: the relaxed-SIMD build where the engine has relaxed SIMD,
 * else the SIMD build, else the scalar build, and the pure-JS kernels (the same math, slower) where WebAssembly
 * is absent or refused. An explicit 'wasm-relaxed', 'wasm-simd' or 'wasm-scalar' is a demand: it fails, naming
 * why, where it cannot be met.
 */
import type { KernelInstance } from '../backend.js';
import { OptionError } from '../errors.js';
import type { BackendRequest, WasmBuild } from '../options.js';
import { createJsInstance } from './js/index.js';
import { createWasmInstance, relaxedSimdSupported, simdSupported, wasmSupported } from './wasm.js';

export async function createInstance({ choice, wasm }: BackendRequest): Promise<KernelInstance> {
  if (choice === 'js' || (choice === 'wasm' && !wasmSupported())) return createJsInstance();
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
  return createWasmInstance(choice === 'wasm' ? bestBuild() : (choice.slice('wasm-'.length) as WasmBuild), wasm);
}

/** The fastest build this engine runs. */
function bestBuild(): WasmBuild {
  return relaxedSimdSupported() ? 'relaxed' : simdSupported() ? 'simd' : 'scalar';
}
