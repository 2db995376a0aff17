// A tiny static file server for the demo and the browser tests: the right Content-Type for every file the
// pages use (application/wasm above all, so that browsers compile the .wasm while it downloads), no caching,
// nothing outside the folder it serves. Run as a script it sends the headers that isolate a page across
// origins, which a model of more than one thread needs (SharedArrayBuffer).
//
//   npx tsx scripts/serve.ts [folder] [--port 8080] [--host 127.0.0.1]
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type OutgoingHttpHeaders, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
};

/** What makes a page cross-origin isolated, so that it has SharedArrayBuffer and a model may run on threads. */
export const CROSS_ORIGIN_ISOLATION: OutgoingHttpHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * Serves `folder` until `close()`. `headers` go on every response (the tests send a Content-Security-Policy
 * with them). Resolves once listening, with the base URL.
 */
export interface ServeOptions {
  port?: number;
  host?: string;
  headers?: OutgoingHttpHeaders;
}

export interface Served {
  /** The base URL, ending in '/'. */
  url: string;
  close(): Promise<void>;
}

export async function serve(folder: string, { port = 0, host = '127.0.0.1', headers = {} }: ServeOptions = {}): Promise<Served> {
  const root = resolve(folder);
  const server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const file = join(root, path.endsWith('/') ? `${path}index.html` : path);
    const send = (status: number, text: string) =>
      response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers }).end(text);
    if (file !== root && !file.startsWith(root + sep)) return send(403, 'outside the served folder');
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, `${request.method} is not served`);
    try {
      const info = await stat(file);
      if (!info.isFile()) return send(404, `${path} is not a file`);
      response.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Content-Length': info.size,
        'Cache-Control': 'no-store',
        ...headers,
      });
      if (request.method === 'HEAD') return response.end();
      createReadStream(file).pipe(response);
    } catch {
      send(404, `${path} not found`);
    }
  });
  await new Promise<void>((done, fail) => server.once('error', fail).listen(port, host, done));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${bound}/`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: string) => {
    const i = args.indexOf(`--${name}`);
    if (i < 0) return fallback;
    const [, value] = args.splice(i, 2);
    return value;
  };
  const port = Number(option('port', '8080'));
  const host = option('host', '127.0.0.1');
  const folder = args[0] ?? 'build/demo';
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: --port must be an integer from 0 to 65535, got ${port}`);
    process.exit(2);
  }
  try {
    await stat(join(folder, 'index.html'));
  } catch {
    console.error(`serve: ${join(folder, 'index.html')} is missing; build the demo with \`npm run build:demo\``);
    process.exit(1);
  }
  const { url } = await serve(folder, { port, host, headers: CROSS_ORIGIN_ISOLATION });
  console.log(`serving ${resolve(folder)} at ${url} (Ctrl-C stops)`);
}
