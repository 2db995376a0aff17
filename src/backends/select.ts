/** Turns a user's backend choice into a fresh instance: one per model, so each model owns its memory. */
import type { KernelInstance } from '../backend.js';
import { OptionError } from '../errors.js';
import type { BackendChoice } from '../options.js';
import { createJsInstance } from './js.js';
import { createWasmInstance, simdSupported } from './wasm.js';

export async function createInstance(choice: BackendChoice): Promise<KernelInstance> {
  switch (choice) {
    case 'js':
      return createJsInstance();
    case 'wasm':
      return createWasmInstance(simdSupported() ? 'simd' : 'scalar');
    case 'wasm-simd':
      if (!simdSupported()) throw new OptionError("backend 'wasm-simd': this engine does not support WebAssembly SIMD");
      return createWasmInstance('simd');
    case 'wasm-scalar':
      return createWasmInstance('scalar');
  }
}
