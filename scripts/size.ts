// What the package ships, raw and gzipped (level 9), and the size budget that test/package.test.ts keeps:
// the JavaScript a browser app loads plus the SIMD build stay under 100 KB gzipped.
//
//   npm run size        (builds dist/ first, then prints the README's table)
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const BUDGET_BYTES = 100 * 1024;
/** What a browser app downloads with the package's browser entry: its JavaScript and the build it runs. */
export const BUDGETED = ['browser.js', 'rnn-simd.wasm'];
export const SHIPPED = [
  'browser.js',
  'index.js',
  'index.cjs',
  'inline.js',
  'inline.cjs',
  'onnx.browser.js',
  'tfjs.browser.js',
  'rnn-relaxed.wasm',
  'rnn-simd.wasm',
  'rnn-scalar.wasm',
  'rnn-simd-threads.wasm',
  'rnn-relaxed-threads.wasm',
];

export interface Size {
  file: string;
  bytes: number;
  gzipped: number;
}

export function sizes(dist: string): Size[] {
  return SHIPPED.map((file) => {
    const bytes = readFileSync(join(dist, file));
    return { file, bytes: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length };
  });
}

export function budgeted(all: Size[]): number {
  return all.filter((s) => BUDGETED.includes(s.file)).reduce((sum, s) => sum + s.gzipped, 0);
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const all = sizes(fileURLToPath(new URL('../dist/', import.meta.url)));
  console.log('| file | size | gzipped |\n|---|---|---|');
  for (const s of all) console.log(`| \`${s.file}\` | ${kb(s.bytes)} | ${kb(s.gzipped)} |`);
  console.log(`\n${BUDGETED.join(' + ')}: ${kb(budgeted(all))} gzipped (budget ${kb(BUDGET_BYTES)})`);
}
