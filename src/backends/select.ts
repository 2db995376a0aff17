/**
 * Turns a user's backend choice into a fresh instance: one per model, so each model owns its memory.
 * 'wasm' degrades step by step instead of failing: SIMD where the engine has it, else the scalar build,
 * and the pure-JS kernels (the same math, slower) where WebAssembly is absent or refused. An explicit
 * 'wasm-simd' or 'wasm-scalar' is a demand: it fails, naming why, where it cannot be met.
 */
import type { KernelInstance } from '../backend.js';
import { OptionError } from '../errors.js';
import type { BackendRequest } from '../options.js';
import { createJsInstance } from './js/index.js';
import { createWasmInstance, simdSupported, wasmSupported } from './wasm.js';

export async function createInstance({ choice, wasm }: BackendRequest): Promise<KernelInstance> {
  if (choice === 'js' || (choice === 'wasm' && !wasmSupported())) return createJsInstance();
  if (!wasmSupported()) {
    throw new OptionError(
      `backend '${choice}': this engine does not run WebAssembly (absent, or refused by a `
        + "Content-Security-Policy without 'wasm-unsafe-eval'); use backend 'wasm' or 'js'",
    );
  }
  if (choice === 'wasm-simd' && !simdSupported()) {
    throw new OptionError("backend 'wasm-simd': this engine does not support WebAssembly SIMD; use backend 'wasm' or 'wasm-scalar'");
  }
  const build = choice === 'wasm-scalar' || !simdSupported() ? 'scalar' : 'simd';
  return createWasmInstance(build, wasm);
}
