/**
 * Gets a .wasm file by URL. In Node the default location is a file: URL beside the module, which `fetch`
 * cannot read, so those come from the disk; anything else goes through `fetch`. The browser and inline builds
 * replace this module with fetch-wasm.browser.ts (see rollup.config.mjs), so no bundler sees `node:fs`.
 */
export async function fetchWasm(url: URL): Promise<Response | Uint8Array> {
  if (url.protocol !== 'file:') return fetch(url);
  const { readFile } = await import('node:fs/promises');
  return readFile(url);
}
