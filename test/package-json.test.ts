/**
 * package.json as the registry and a user's tools read it: publishable (not private, the metadata npm shows,
 * provenance), the Node it needs, what it ships, and an `exports` map whose every entry is typed, types first.
 * The packed tarball itself (publint, attw, `npm publish --dry-run`, its weight) is checked in test/package.test.ts;
 * this file reads only package.json.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

type Target = string | null | { [condition: string]: Target };

/** What `exports[entry]` resolves to under these conditions, in Node's order: the first key that matches wins. */
function resolve(target: Target, conditions: readonly string[]): string | null {
  if (target === null || typeof target === 'string') return target;
  for (const [condition, next] of Object.entries(target)) {
    if (condition !== 'default' && !conditions.includes(condition)) continue;
    const found = resolve(next, conditions);
    if (found !== null) return found;
  }
  return null;
}

/** Every object of conditions in the map, with where it is. */
function conditionObjects(target: Target, path: string): [string, Record<string, Target>][] {
  if (target === null || typeof target === 'string') return [];
  return [[path, target], ...Object.entries(target).flatMap(([k, v]) => conditionObjects(v, `${path}.${k}`))];
}

describe('package.json', () => {
  it('can be published: not private, with the metadata the registry shows and provenance', () => {
    expect(pkg.private).toBeUndefined();
    for (const field of ['name', 'version', 'description', 'license', 'author', 'homepage']) {
      expect(typeof pkg[field], field).toBe('string');
    }
    expect(pkg.repository).toEqual({ type: 'git', url: expect.stringMatching(/^git\+https:\/\/.+\.git$/) });
    expect(pkg.bugs.url).toMatch(/^https:\/\//);
    expect(pkg.keywords).toEqual(expect.arrayContaining(['rnn', 'lstm', 'gru', 'webassembly']));
    expect(pkg.publishConfig).toEqual({ access: 'public', provenance: true });
    expect(pkg.scripts.prepublishOnly).toBe('npm test');
    expect(readFileSync(new URL('../LICENSE', import.meta.url), 'utf8')).toMatch(/^MIT License/);
  });

  it('needs Node 20.16 or later (process.getBuiltinModule reads a path) and has no dependencies', () => {
    expect(pkg.engines).toEqual({ node: '>=20.16' });
    expect(pkg.dependencies).toBeUndefined();
    expect(pkg.peerDependencies).toBeUndefined();
    expect(pkg.type).toBe('module');
    expect(pkg.sideEffects).toBe(false);
  });

  it('ships dist/ only (npm adds package.json, README.md and LICENSE)', () => {
    expect(pkg.files).toEqual(['dist']);
    expect(pkg.bin).toEqual({ 'rnn-wasm': './dist/cli.js' });
  });

  it('has types first in every set of conditions, and a typed build for every way in', () => {
    for (const [path, conditions] of Object.entries(pkg.exports as Record<string, Target>).flatMap(([k, v]) => conditionObjects(v, k))) {
      if ('types' in conditions) expect(Object.keys(conditions)[0], `exports["${path}"]`).toBe('types');
    }
    const environments = [['node', 'import'], ['node', 'require'], ['browser', 'import'], ['browser', 'require'], ['import'], ['require']];
    for (const [entry, declarations] of [
      ['.', 'index'],
      ['./inline', 'index'],
      ['./onnx', 'onnx'],
      ['./tfjs', 'tfjs'],
    ]) {
      for (const conditions of environments) {
        const code = resolve(pkg.exports[entry], conditions);
        const types = resolve(pkg.exports[entry], ['types', ...conditions]);
        expect(code, `${entry} under ${conditions}`).toMatch(/^\.\/dist\/[\w.]+\.c?js$/);
        // CommonJS code gets CommonJS types (.d.cts), ESM code ESM types (.d.ts, under "type": "module").
        expect(types, `${entry}'s types under ${conditions}`).toBe(`./dist/${declarations}.d.${code!.endsWith('.cjs') ? 'cts' : 'ts'}`);
      }
      // TypeScript's node10 resolution, which reads no `exports`, finds a subpath's types through typesVersions.
      if (entry !== '.') expect(pkg.typesVersions['*'][entry.slice(2)], entry).toEqual([`./dist/${declarations}.d.ts`]);
    }
    expect(resolve(pkg.exports['.'], ['node', 'import'])).toBe('./dist/index.js');
    expect(resolve(pkg.exports['.'], ['browser', 'import'])).toBe('./dist/browser.js');
    expect(pkg.exports['./package.json']).toBe('./package.json');
    // The fields that tools without `exports` read.
    expect([pkg.main, pkg.module, pkg.types]).toEqual(['./dist/index.cjs', './dist/browser.js', './dist/index.d.ts']);
  });
});
