/**
 * The package's version, read from its package.json: two folders up from the sources (src/cli/), one from
 * the bundle (dist/). Looking upwards for the package by name serves both without a build-time constant.
 */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function packageVersion(): string {
  if (cached) return cached;
  for (let url = new URL('./', import.meta.url); url.pathname !== '/'; url = new URL('../', url)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'rnn-wasm' && pkg.version) return (cached = pkg.version);
    } catch {
      // No readable package.json at this level: keep looking upwards.
    }
  }
  return (cached = 'unknown');
}
