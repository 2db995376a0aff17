/**
 * What differs between Node and the browser in loading a build, behind one seam: the browser and inline builds
 * replace this module with platform.browser.ts (see rollup.config.mjs), so no bundler sees `node:fs`.
 */
import { availableParallelism } from 'node:os';
import { instantiateSync } from '@assemblyscript/loader';

/** Cores this process may use, for threads: 'auto'. */
export function cores(): number {
  return availableParallelism();
}

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
export async function instantiateWasm(module: WebAssembly.Module, imports: WebAssembly.Imports = {}): Promise<WebAssembly.Instance> {
  return instantiateSync(module, imports).instance;
}

/** A thread of a team (threads.ts): a worker that runs `source`'s serve(data, ready). */
export interface Thread {
  stop(): void;
  /** Settles when the thread has ended. */
  readonly ended: Promise<void>;
}

/**
 * Starts a worker thread from source text (so that no file has to be found beside a bundle) and resolves once
 * it says it is ready. It does not keep the process alive: a model never disposed does not stop Node exiting.
 */
export async function startThread(source: string, data: object): Promise<Thread> {
  const { Worker } = await import('node:worker_threads');
  const script = `const { workerData, parentPort } = require('node:worker_threads');\n${source}\nserve(workerData, () => parentPort.postMessage('ready'));`;
  const worker = new Worker(script, { eval: true, workerData: data });
  worker.unref();
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the thread exited with code ${code} before it was ready`)));
  });
  worker.removeAllListeners();
  // An error after the start is the kernel's, which the worker reports through the team's block.
  worker.on('error', () => {});
  const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return { stop: () => void worker.terminate(), ended };
}
