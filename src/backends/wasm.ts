/**
 * The WebAssembly backend: the only file that knows how a build is fetched, compiled and instantiated (with
 * what differs between Node and browsers in ./platform.ts, the only user of @assemblyscript/loader). The
 * kernels export functions over numbers and pointers beside their memory, so the instance's raw exports serve
 * as `Kernels` directly: the loader's wrapped exports would put a rest/spread closure in front of every call.
 *
 * A build comes from a URL (streamed into the compiler while it downloads when the server says
 * `application/wasm`), from bytes, or as a compiled module; each source is compiled once per page or process
 * and every model instantiates the cached module with a memory of its own.
 */
import { type BackendName, KERNEL_NAMES, type KernelInstance, type Kernels } from '../backend.js';
import { MemoryLimitError, WasmLoadError } from '../errors.js';
import type { WasmSource, WasmSources } from '../options.js';
import { defaultWasmSource } from './wasm-default.js';
import { fetchWasm, instantiateWasm } from './platform.js';
import { POOL_BYTES, Team } from './threads.js';

import type { WasmBuild } from '../options.js';

const PAGE = 65536;
/** wasm32 addresses 4 GiB: 65536 pages. */
const MAX_PAGES = 65536;

/** The smallest valid module: magic and version. */
const EMPTY_MODULE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

/**
 * A minimal module of one function `() -> v128` whose body is `code` (no locals), in the manner of
 * wasm-feature-detect: it validates exactly on engines that support the instructions in it.
 */
function probe(code: number[]): Uint8Array<ArrayBuffer> {
  const body = [0x00, ...code, 0x0b]; // no locals; the instructions; end
  return new Uint8Array([
    ...EMPTY_MODULE,
    ...[0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b], // type section: () -> v128
    ...[0x03, 0x02, 0x01, 0x00], // function section: one function of type 0
    ...[0x0a, body.length + 2, 0x01, body.length, ...body], // code section: one body
  ]);
}

/** i32.const 0; i32x4.splat: a v128 of zeros. */
const ZEROS = [0x41, 0x00, 0xfd, 0x0f];

/** Fixed-width SIMD: i32x4.splat(0). */
const SIMD_PROBE = probe(ZEROS);

/**
 * Relaxed SIMD: f32x4.relaxed_madd (0xfd 261) of three zero vectors, the instruction the relaxed build's
 * products use (Node 20 has it only with --experimental-wasm-relaxed-simd).
 */
const RELAXED_SIMD_PROBE = probe([...ZEROS, ...ZEROS, ...ZEROS, 0xfd, 0x85, 0x02]);

/** What to do when a build cannot be found, said in every load error. */
const WHERE_TO_LOOK =
  "serve rnn-relaxed.wasm, rnn-simd.wasm and rnn-scalar.wasm beside the library's module, pass their location or "
  + "bytes as RNN.create({ wasm }), or import 'rnn-wasm/inline' (see 'In the browser' in the README)";

/**
 * What else a model may do when `build` does not load: for the relaxed build, which backend 'wasm' took because
 * the engine has relaxed SIMD, ask for the SIMD build. It does not fall back by itself, since a build missing
 * from where it was told to look is a broken installation that the SIMD build would hide until the day that one
 * goes missing too.
 */
const orElse = (build: WasmBuild) =>
  build === 'relaxed' ? "; or ask for backend 'wasm-simd', the SIMD build without fused multiply-adds" : '';

let available: boolean | undefined;
let simd: boolean | undefined;
let relaxed: boolean | undefined;

/**
 * Whether this engine compiles WebAssembly at all (checked once). It does not where `WebAssembly` is absent
 * (iOS Lockdown Mode, browsers' hardened modes, `node --jitless`) or where compiling is refused (a
 * Content-Security-Policy without 'wasm-unsafe-eval'); backend 'wasm' then runs the pure-JS kernels.
 */
export function wasmSupported(): boolean {
  if (available === undefined) {
    try {
      available = typeof WebAssembly === 'object' && new WebAssembly.Module(EMPTY_MODULE) instanceof WebAssembly.Module;
    } catch {
      available = false;
    }
  }
  return available;
}

/** Whether this engine runs WebAssembly SIMD (checked once). */
export function simdSupported(): boolean {
  simd ??= wasmSupported() && WebAssembly.validate(SIMD_PROBE);
  return simd;
}

/**
 * Whether this engine runs WebAssembly relaxed SIMD (checked once): Chrome ≥ 114, Firefox ≥ 145, Node ≥ 22,
 * Node 20 with --experimental-wasm-relaxed-simd. Backend 'wasm' then takes the relaxed build.
 */
export function relaxedSimdSupported(): boolean {
  relaxed ??= simdSupported() && WebAssembly.validate(RELAXED_SIMD_PROBE);
  return relaxed;
}

/** A cache whose failed entries are forgotten, so that a later call retries (e.g. after `npm run build:wasm`). */
interface ModuleCache<K> {
  get(key: K): Promise<WebAssembly.Module> | undefined;
  set(key: K, value: Promise<WebAssembly.Module>): unknown;
  delete(key: K): boolean;
}

const byUrl = new Map<string, Promise<WebAssembly.Module>>();
const byBytes = new WeakMap<object, Promise<WebAssembly.Module>>();

function remember<K>(cache: ModuleCache<K>, key: K, compile: () => Promise<WebAssembly.Module>): Promise<WebAssembly.Module> {
  let module = cache.get(key);
  if (!module) {
    module = compile();
    cache.set(key, module);
    module.catch(() => cache.delete(key));
  }
  return module;
}

function loadModule(build: WasmBuild, source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return Promise.resolve(source);
  if (typeof source === 'string' || source instanceof URL) {
    const url = absoluteUrl(source, build);
    return remember(byUrl, url.href, () => compileUrl(url, build));
  }
  const bytes =
    source instanceof ArrayBuffer ? new Uint8Array(source) : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  return remember(byBytes, source, () => compileBytes(bytes, `the ${build} build passed as bytes`, ''));
}

/** Strings are URLs, relative ones resolved as the page would resolve them (its base URL, or the worker's). */
function absoluteUrl(source: string | URL, build: WasmBuild): URL {
  if (source instanceof URL) return source;
  const base =
    (globalThis as { document?: { baseURI: string } }).document?.baseURI ?? (globalThis as { location?: { href: string } }).location?.href;
  try {
    return new URL(source, base);
  } catch {
    throw new WasmLoadError(
      `wasm.${build}: '${source}' is a relative URL and there is no page to resolve it against; `
        + 'pass an absolute URL, a URL object (e.g. new URL(path, import.meta.url)) or the bytes',
    );
  }
}

async function compileUrl(url: URL, build: WasmBuild): Promise<WebAssembly.Module> {
  const where = `the ${build} WebAssembly build at ${url.href}`;
  let got: Response | Uint8Array;
  try {
    got = await fetchWasm(url);
  } catch (error) {
    if (error instanceof WasmLoadError) throw error;
    // A file: URL in Node: the default beside the module, which is a source checkout's build/ or a server bundle's folder.
    const hint =
      url.protocol !== 'file:'
        ? WHERE_TO_LOOK
        : url.pathname.endsWith(`/build/rnn-${build}.wasm`)
          ? 'in a source checkout, `npm run build:wasm` writes build/'
          : 'a server bundle (esbuild --platform=node, a single-file deployment) leaves the .wasm files behind: '
            + "import 'rnn-wasm/inline' instead, which carries them inside, or copy the rnn-*.wasm files beside the bundle";
    throw new WasmLoadError(`cannot load ${where}: ${(error as Error).message}; ${hint}${orElse(build)}`);
  }
  if (got instanceof Uint8Array) return compileBytes(got, where, '');
  if (!got.ok) {
    throw new WasmLoadError(`cannot load ${where}: the server answered ${got.status} ${got.statusText}; ${WHERE_TO_LOOK}${orElse(build)}`);
  }
  const type = got.headers.get('Content-Type') ?? '';
  if (type.split(';')[0].trim() === 'application/wasm' && typeof WebAssembly.compileStreaming === 'function') {
    try {
      return await WebAssembly.compileStreaming(got);
    } catch (error) {
      throw new WasmLoadError(`cannot compile ${where}: ${(error as Error).message}`);
    }
  }
  // compileStreaming insists on application/wasm; servers that say application/octet-stream still serve
  // good bytes, and anything else (say an HTML page in its place) is named by compileBytes.
  return compileBytes(new Uint8Array(await got.arrayBuffer()), where, type);
}

async function compileBytes(bytes: Uint8Array, where: string, contentType: string): Promise<WebAssembly.Module> {
  if (!EMPTY_MODULE.subarray(0, 4).every((b, i) => bytes[i] === b)) {
    const start = new TextDecoder().decode(bytes.subarray(0, 24)).replace(/\s+/g, ' ');
    const served = contentType ? ` (served as ${contentType})` : '';
    throw new WasmLoadError(
      `${where} is not WebAssembly: its ${bytes.length} bytes start with ${JSON.stringify(start)}${served}; ${WHERE_TO_LOOK}`,
    );
  }
  try {
    return await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  } catch (error) {
    throw new WasmLoadError(`cannot compile ${where}: ${(error as Error).message}`);
  }
}

/**
 * The build's default URL, beside the library's module. A CommonJS bundle of the ESM entry (esbuild's default
 * output) leaves `import.meta.url` empty, and `new URL` then throws a bare TypeError: say what happened instead.
 */
function besideTheLibrary(build: WasmBuild): WasmSource {
  try {
    return defaultWasmSource(build);
  } catch (error) {
    throw new WasmLoadError(
      `cannot tell where rnn-${build}.wasm is: this module has no URL of its own (${(error as Error).message}), as in a `
        + "CommonJS bundle of the ESM entry; import 'rnn-wasm/inline' instead, which carries the builds inside, or "
        + 'pass their URLs or bytes as RNN.create({ wasm })',
    );
  }
}

type Exports = Kernels & {
  memory: WebAssembly.Memory;
  heap_base(): number;
  scratch_size(): number;
  team_join(index: number, pool: number, scratch: number): void;
};

/** Pages a threads build declares as its memory's minimum (asconfig.json's initialMemory). */
const THREADS_INITIAL_PAGES = 2;

/**
 * The shared memory of a threads build. A shared memory cannot move when it grows, so the engine reserves
 * address space for its maximum up front: 4 GiB where it can, less where the platform refuses that.
 */
function sharedMemory(): WebAssembly.Memory {
  let refusal: unknown;
  for (const maximum of [MAX_PAGES, MAX_PAGES / 4, MAX_PAGES / 16]) {
    try {
      return new WebAssembly.Memory({ initial: THREADS_INITIAL_PAGES, maximum, shared: true });
    } catch (error) {
      refusal = error;
    }
  }
  throw new WasmLoadError(`cannot make a shared WebAssembly memory: ${(refusal as Error).message}`);
}

/** The first address past `n`, 16-aligned. */
const align16 = (n: number) => Math.ceil(n / 16) * 16;

/**
 * A fresh instance with its own memory, for one model; `sources` may say where the build comes from. A threads
 * build runs on `threads` threads: this one and workers that share its memory (threads.ts), whose block and
 * scratch come first in the heap.
 */
export async function createWasmInstance(build: WasmBuild, sources: WasmSources, threads = 1): Promise<KernelInstance> {
  const module = await loadModule(build, sources[build] ?? besideTheLibrary(build));
  const shared = build.endsWith('-threads') ? sharedMemory() : undefined;
  const instance = await instantiateWasm(module, shared ? { env: { memory: shared } } : {});
  const exports = instance.exports as unknown as Exports;
  const missing = KERNEL_NAMES.filter((name) => typeof (exports as unknown as Record<string, unknown>)[name] !== 'function');
  if (!(exports.memory instanceof WebAssembly.Memory) || typeof exports.heap_base !== 'function' || missing.length) {
    throw new WasmLoadError(
      `the ${build} build is WebAssembly but not this library's kernels: it lacks `
        + `${missing.length ? missing.slice(0, 4).join(', ') : 'memory or heap_base'}${missing.length > 4 ? ` and ${missing.length - 4} more` : ''}; ${WHERE_TO_LOOK}`,
    );
  }
  const { memory, heap_base } = exports;
  let base = heap_base();
  let team: Team | undefined;
  if (shared) {
    const pool = Math.ceil(base / 64) * 64; // the arrivals' cache lines start on one
    const scratch = align16(pool + POOL_BYTES);
    const bytes = align16(exports.scratch_size());
    base = scratch + threads * bytes;
    grow(memory, base);
    exports.team_join(0, pool, scratch);
    team = await Team.start(module, memory, threads, pool, scratch, bytes);
  }
  // The buffer is looked up again only where the memory grows (here alone: kernels never allocate). Its getter
  // costs 60 ns a call, 90 on a shared memory (measured here), and every call of a model reads it twice.
  let buffer = memory.buffer as ArrayBuffer;
  return {
    backend: `wasm-${build.replace(/-threads$/, '')}` as BackendName,
    threads: team?.size ?? 1,
    kernels: team ? team.wrap(exports) : exports,
    get buffer() {
      return buffer;
    },
    base,
    release: () => team?.stop(),
    reserve(bytes: number) {
      if (bytes <= buffer.byteLength) return;
      grow(memory, bytes);
      buffer = memory.buffer as ArrayBuffer;
    },
  };
}

/** Makes `memory` at least `bytes` long; throws MemoryLimitError when it cannot. */
function grow(memory: WebAssembly.Memory, bytes: number): void {
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
}
