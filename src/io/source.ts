/**
 * Where a model file comes from: its bytes (anywhere), a path or file: URL (Node), or an http(s) URL (fetched).
 *
 * A path is read through `process.getBuiltinModule`, not an `import` of Node's fs: there is then no module
 * specifier for a browser bundler to resolve or fail on, and the browser path never runs this branch. A path is
 * checked before it is read: a missing file is a NotFoundError naming it; a device, a FIFO or a folder (`/dev/zero`
 * would be read forever) and a file larger than any model file are refused.
 */
import { FormatError, NotFoundError, OptionError } from '../errors.js';

/** A file's bytes; in Node (≥ 20.16) its path or file: URL; anywhere an http(s) URL to fetch. */
export type FileSource = Uint8Array | ArrayBuffer | ArrayBufferView | string | URL;

/** No file of this library's formats is larger: wasm32's heap holds 4 GiB, and Node reads at most 2 GiB at once. */
const MAX_FILE_BYTES = 2 ** 31 - 1;

interface NodeFs {
  promises: {
    stat(path: string | URL): Promise<{ isFile(): boolean; size: number }>;
    readFile(path: string | URL): Promise<Uint8Array>;
  };
}

export async function readSource(source: FileSource, where: string): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (typeof source !== 'string' && !(source instanceof URL)) {
    throw new OptionError(
      `${where}: expected the file's bytes (Uint8Array or ArrayBuffer), a URL or, in Node, its path; got `
        + `${source === null ? 'null' : typeof source}`,
    );
  }
  const url = asUrl(source);
  if (url && url.protocol !== 'file:') return fetchBytes(url, where);
  const node = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const fs = node?.getBuiltinModule?.('fs') as NodeFs | undefined;
  if (!fs) {
    throw new OptionError(`${where}: a path ('${String(source)}') can be read only in Node ≥ 20.16; elsewhere pass a URL or the bytes`);
  }
  const path = url ?? source;
  let stat: { isFile(): boolean; size: number };
  try {
    stat = await fs.promises.stat(path);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new NotFoundError(`${where}: there is no file '${String(source)}'`);
    throw new FormatError(`${where}: cannot read '${String(source)}': ${(error as Error).message}`);
  }
  if (!stat.isFile()) throw new FormatError(`${where}: '${String(source)}' is not a regular file (a folder, device or pipe)`);
  if (stat.size > MAX_FILE_BYTES) {
    throw new FormatError(`${where}: '${String(source)}' is ${stat.size} bytes, larger than any model file (${MAX_FILE_BYTES})`);
  }
  try {
    return await fs.promises.readFile(path);
  } catch (error) {
    throw new FormatError(`${where}: cannot read '${String(source)}': ${(error as Error).message}`);
  }
}

/** The source as a URL when it is one (a URL object, or a string with a scheme of two letters or more), else null. */
export function asUrl(source: string | URL): URL | null {
  if (source instanceof URL) return source;
  // 'C:\model.safetensors' has a one-letter scheme: a Windows path, not a URL.
  return /^[a-z][a-z0-9+.-]+:/i.test(source) ? new URL(source) : null;
}

async function fetchBytes(url: URL, where: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new FormatError(`${where}: cannot fetch ${url.href}: ${(error as Error).message}`);
  }
  if (response.status === 404) throw new NotFoundError(`${where}: ${url.href} answered 404 Not Found`);
  if (!response.ok) throw new FormatError(`${where}: ${url.href} answered ${response.status} ${response.statusText}`);
  const length = Number(response.headers.get('Content-Length') ?? 0);
  if (length > MAX_FILE_BYTES) throw new FormatError(`${where}: ${url.href} is ${length} bytes, larger than any model file`);
  return new Uint8Array(await response.arrayBuffer());
}
