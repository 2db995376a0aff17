/** platform.ts for the browser and inline builds: everything goes through `fetch`, and instantiation is asynchronous. */
import { instantiate } from '@assemblyscript/loader';
import { WasmLoadError } from '../errors.js';

export async function fetchWasm(url: URL): Promise<Response | Uint8Array> {
  if (url.protocol === 'file:') {
    throw new WasmLoadError(
      `${url.href}: fetch cannot read file: URLs; pass the bytes as RNN.create({ wasm: { relaxed, simd, scalar } }), or use the package's Node entry`,
    );
  }
  return fetch(url);
}

/** Asynchronously: browsers refuse synchronous instantiation of larger modules on the main thread. */
export async function instantiateWasm(module: WebAssembly.Module): Promise<WebAssembly.Instance> {
  return (await instantiate(module, {})).instance;
}
