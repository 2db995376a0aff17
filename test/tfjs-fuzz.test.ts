/**
 * Hostile TensorFlow.js models: every shared and own case's model.json with values replaced by claims (sizes up
 * to 2⁵³, negatives, fractions, strings, null, nested objects), keys deleted, layers duplicated a thousand
 * times, and weights truncated or grown. Each attempt ends in a model or a typed error (an RnnError), within a
 * second, never in a TypeError, a RangeError or a hang.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { type RNN, RnnError } from '../src/index.js';
import { fromTFJS } from '../src/tfjs.js';
import { TFJS, fixtureFolders } from './fixture-folders.js';

const CASE_MS = 1000;
const CLAIMS: unknown[] = [
  0,
  -1,
  1.5,
  2 ** 24 + 1,
  2 ** 31,
  2 ** 53,
  1e308,
  Number.NaN,
  '7',
  'tanh',
  'bogus',
  'toString',
  '__proto__',
  null,
  true,
  [],
  {},
  [2 ** 30, 2 ** 30],
];
const dirs = fixtureFolders('TFJS_FIXTURES', TFJS).flatMap((folder) =>
  readdirSync(folder, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(folder, d.name)),
);

/** Every path to a value in the JSON, objects and arrays included. */
function paths(value: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const next = [...at, Array.isArray(value) ? Number(k) : k];
      out.push(next);
      paths(v, next, out);
    }
  }
  return out;
}

function edited(
  json: unknown,
  path: (string | number)[],
  edit: (parent: Record<string | number, unknown>, key: string | number) => void,
): unknown {
  const copy = structuredClone(json) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  edit(parent, path[path.length - 1]);
  return copy;
}

async function attempt(what: string, load: () => Promise<RNN>): Promise<'loaded' | 'refused'> {
  const start = performance.now();
  try {
    (await load()).dispose();
    return 'loaded';
  } catch (error) {
    if (!(error instanceof RnnError)) throw new Error(`${what}: threw ${String(error)}, not an RnnError`, { cause: error });
    return 'refused';
  } finally {
    expect(performance.now() - start, `${what}: milliseconds`).toBeLessThan(CASE_MS);
  }
}

it.each(dirs)('%s: every value of model.json replaced, every key deleted, the weights cut and grown', { timeout: 120_000 }, async (dir) => {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const weights = readFileSync(join(dir, 'weights.bin'));
  const tally = { loaded: 0, refused: 0 };
  const count = (r: 'loaded' | 'refused') => tally[r]++;
  const all = paths(json).filter((p) => !p.includes('kernel_initializer') && !p.includes('recurrent_initializer'));
  // Every path gets one claim in turn (the claims cycle), and is deleted once.
  for (const [i, path] of all.entries()) {
    const claim = CLAIMS[i % CLAIMS.length];
    count(
      await attempt(`${path.join('.')} = ${String(claim)}`, () =>
        fromTFJS(edited(json, path, (p, k) => (p[k] = claim)) as object, weights, { backend: 'js' }),
      ),
    );
    count(
      await attempt(`${path.join('.')} deleted`, () =>
        fromTFJS(edited(json, path, (p, k) => delete p[k]) as object, weights, { backend: 'js' }),
      ),
    );
  }
  // A thousand copies of the layers; weights cut at every eighth byte, and grown.
  const layers = (json.modelTopology.model_config ?? json.modelTopology).config.layers as unknown[];
  const many = structuredClone(json);
  (many.modelTopology.model_config ?? many.modelTopology).config.layers = Array.from({ length: 1000 }, () => layers).flat();
  count(await attempt('a thousand copies of the layers', () => fromTFJS(many, weights, { backend: 'js' })));
  for (let cut = 0; cut < weights.length; cut += Math.max(1, Math.floor(weights.length / 8))) {
    expect(await attempt(`weights cut at ${cut}`, () => fromTFJS(json, weights.subarray(0, cut), { backend: 'js' }))).toBe('refused');
  }
  expect(await attempt('weights grown', () => fromTFJS(json, new Uint8Array(weights.length + 1), { backend: 'js' }))).toBe('refused');
  expect(tally.refused).toBeGreaterThan(0);
  expect(tally.loaded).toBeGreaterThan(0); // the keys that change nothing (trainable, a regularizer) still load
});
