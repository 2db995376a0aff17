/**
 * Where the three WebAssembly builds are when `RNN.create` is not told: beside the module. In the sources that
 * is `build/`; rollup.config.mjs rewrites the paths to `./rnn-<build>.wasm` beside the bundle, and the inline
 * entry replaces this module with the bytes themselves. Each URL is written out as a literal
 * `new URL('…', import.meta.url)` because that is the pattern bundlers (Vite, webpack, Parcel) recognise to
 * ship the file with the app and rewrite the URL.
 */
import type { WasmBuild, WasmSource } from '../options.js';

/**
 * Where `RNN.create` loads a build from when its `wasm` option does not name one: a URL beside the library
 * (a file: URL in Node), or the bytes themselves in `rnn-wasm/inline`. For tools that check an installation or
 * copy the files to a server.
 */
export function defaultWasmSource(build: WasmBuild): WasmSource {
  if (build === 'relaxed') return new URL('../../build/rnn-relaxed.wasm', import.meta.url);
  if (build === 'simd') return new URL('../../build/rnn-simd.wasm', import.meta.url);
  if (build === 'simd-threads') return new URL('../../build/rnn-simd-threads.wasm', import.meta.url);
  if (build === 'relaxed-threads') return new URL('../../build/rnn-relaxed-threads.wasm', import.meta.url);
  return new URL('../../build/rnn-scalar.wasm', import.meta.url);
}
