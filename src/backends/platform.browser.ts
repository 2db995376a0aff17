/** platform.ts for the browser and inline builds: everything goes through `fetch`, and instantiation is asynchronous. */
import { instantiate } from '@assemblyscript/loader';
import { WasmLoadError } from '../errors.js';

/** Cores the browser reports, for threads: 'auto'. */
export function cores(): number {
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
}

export async function fetchWasm(url: URL): Promise<Response | Uint8Array> {
  if (url.protocol === 'file:') {
    throw new WasmLoadError(
      `${url.href}: fetch cannot read file: URLs; pass the bytes as RNN.create({ wasm: { relaxed, simd, scalar } }), or use the package's Node entry`,
    );
  }
  return fetch(url);
}

/** Asynchronously: browsers refuse synchronous instantiation of larger modules on the main thread. */
export async function instantiateWasm(module: WebAssembly.Module, imports: WebAssembly.Imports = {}): Promise<WebAssembly.Instance> {
  return (await instantiate(module, imports)).instance;
}

/** A thread of a team (threads.ts): a worker that runs `source`'s serve(data, ready). */
export interface Thread {
  stop(): void;
  /** Settles when the thread has ended. */
  readonly ended: Promise<void>;
}

/**
 * Starts a worker from source text through a blob: URL (so that no file has to be found beside a bundle; a
 * Content-Security-Policy whose worker-src leaves out blob: refuses it) and resolves once it says it is ready.
 */
export async function startThread(source: string, data: object): Promise<Thread> {
  const url = URL.createObjectURL(
    new Blob([`${source}\nonmessage = (e) => serve(e.data, () => postMessage('ready'));`], { type: 'text/javascript' }),
  );
  try {
    const worker = new Worker(url);
    await new Promise<void>((resolve, reject) => {
      worker.onmessage = () => resolve();
      worker.onerror = (event) => reject(new Error(event.message || 'the thread failed to start'));
      worker.postMessage(data);
    });
    worker.onmessage = null;
    worker.onerror = null;
    let end = () => {};
    const ended = new Promise<void>((resolve) => {
      end = resolve;
    });
    return {
      stop: () => {
        worker.terminate();
        end();
      },
      ended,
    };
  } finally {
    URL.revokeObjectURL(url);
  }
}
