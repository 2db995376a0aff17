/**
 * Where a model file comes from: its bytes (anywhere), or a path (Node only).
 *
 * A path is read through `process.getBuiltinModule`, not an `import` of Node's fs: there is then no module
 * specifier for a browser bundler to resolve or fail on, and the browser path never runs this branch.
 */
import { FormatError, OptionError } from '../errors.js';

/** A file's bytes, or in Node (≥ 20.16) its path. */
export type FileSource = Uint8Array | ArrayBuffer | ArrayBufferView | string;

interface NodeFs {
  promises: { readFile(path: string): Promise<Uint8Array> };
}

export async function readSource(source: FileSource, where: string): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (typeof source !== 'string') {
    throw new OptionError(`${where}: expected the file's bytes (Uint8Array or ArrayBuffer) or, in Node, its path; got `
      + `${source === null ? 'null' : typeof source}`);
  }
  const node = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const fs = node?.getBuiltinModule?.('fs') as NodeFs | undefined;
  if (!fs) {
    throw new OptionError(`${where}: a path ('${source}') can be read only in Node ≥ 20.16; elsewhere pass the bytes, `
      + 'e.g. new Uint8Array(await (await fetch(url)).arrayBuffer())');
  }
  try {
    return await fs.promises.readFile(source);
  } catch (error) {
    throw new FormatError(`${where}: cannot read '${source}': ${(error as Error).message}`);
  }
}
