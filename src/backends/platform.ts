/**
 * What differs between Node and the browser in loading a build, behind one seam: the browser and inline builds
 * replace this module with platform.browser.ts (see rollup.config.mjs), so no bundler sees `node:fs`.
 */
import { instantiateSync } from '@assemblyscript/loader';

/**
 * Gets a .wasm file by URL. The default location in Node is a file: URL beside the module, which `fetch`
 * cannot read, so those come from the disk; anything else goes through `fetch`.
 */
export async function fetchWasm(url: URL): Promise<Response | Uint8Array> {
  if (url.protocol !== 'file:') return fetch(url);
  const { readFile } = await import('node:fs/promises');
  return readFile(url);
}

/**
 * An instance of a compiled build. Synchronously, because the loader's asynchronous `instantiate` first asks
 * whether its argument is a `Response`, and in Node that first touch of the global loads the whole fetch
 * implementation (undici): about 19 ms of a 28 ms cold start. Node has no main thread to keep responsive.
 */
export async function instantiateWasm(module: WebAssembly.Module): Promise<WebAssembly.Instance> {
  return instantiateSync(module, {}).instance;
}
