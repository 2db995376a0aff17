/**
 * The WebAssembly backend: the only file that knows how the module is fetched, compiled and instantiated,
 * and the only user of @assemblyscript/loader (deprecated upstream; moving to `asc --bindings raw` would
 * touch this file alone). The ABI is plain numbers and pointers, so the exports serve as `Kernels` directly.
 */
import { instantiate } from '@assemblyscript/loader';
import type { KernelInstance, Kernels } from '../backend.js';
import { MemoryLimitError, RnnError } from '../errors.js';

export type WasmBuild = 'simd' | 'scalar';

const PAGE = 65536;
/** wasm32 addresses 4 GiB: 65536 pages. */
const MAX_PAGES = 65536;

/**
 * A minimal module returning i32x4.splat(0), in the manner of wasm-feature-detect:
 * it validates exactly on engines that support fixed-width SIMD.
 */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x00, 0xfd, 0x0f, 0x0b, // code: i32.const 0; i32x4.splat; end
]);

let simd: boolean | undefined;

/** Whether this engine runs WebAssembly SIMD (checked once). */
export function simdSupported(): boolean {
  simd ??= typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
  return simd;
}

const modules = new Map<WasmBuild, Promise<WebAssembly.Module>>();

/** Compiles a build once per process; later models instantiate the cached module. */
export function loadWasmModule(build: WasmBuild): Promise<WebAssembly.Module> {
  let module = modules.get(build);
  if (!module) {
    module = compile(build);
    modules.set(build, module);
    module.catch(() => modules.delete(build)); // let a later call retry, e.g. after `npm run build:wasm`
  }
  return module;
}

async function compile(build: WasmBuild): Promise<WebAssembly.Module> {
  const url = new URL(`../../build/rnn-${build}.wasm`, import.meta.url);
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    let bytes: Uint8Array;
    try {
      bytes = await readFile(url);
    } catch (error) {
      throw new RnnError(`cannot read the ${build} WebAssembly build at ${url.pathname}: run \`npm run build:wasm\` (${(error as Error).message})`);
    }
    return WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  }
  return WebAssembly.compileStreaming(fetch(url));
}

type Exports = Kernels & {
  memory: WebAssembly.Memory;
  heap_base(): number;
};

/** A fresh instance with its own memory, for one model. */
export async function createWasmInstance(build: WasmBuild): Promise<KernelInstance> {
  const { exports } = await instantiate<Record<string, unknown>>(await loadWasmModule(build), {});
  const { memory, heap_base } = exports as unknown as Exports;
  return {
    backend: build === 'simd' ? 'wasm-simd' : 'wasm-scalar',
    kernels: exports as unknown as Kernels,
    get buffer() {
      return memory.buffer as ArrayBuffer;
    },
    base: heap_base(),
    reserve(bytes: number) {
      const pages = Math.ceil(bytes / PAGE);
      const have = memory.buffer.byteLength / PAGE;
      if (pages <= have) return;
      if (pages > MAX_PAGES) {
        throw new MemoryLimitError(`the model needs ${bytes} bytes; WebAssembly memory holds at most ${MAX_PAGES * PAGE}`);
      }
      try {
        // Grow at least geometrically so that a run of slightly larger calls does not grow every time.
        memory.grow(Math.min(MAX_PAGES, Math.max(pages, 2 * have)) - have);
      } catch {
        try {
          memory.grow(pages - have);
        } catch {
          throw new MemoryLimitError(`could not grow WebAssembly memory to ${bytes} bytes`);
        }
      }
    },
  };
}
