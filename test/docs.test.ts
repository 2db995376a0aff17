/**
 * The API reference: TypeDoc builds it from the JSDoc of everything src/index.ts and src/onnx.ts export (`npm run docs`, into
 * docs/api/). typedoc.json treats every warning as an error, so this fails when a public symbol, a member of one
 * or a parameter's type is undocumented, when a public signature names a type that is not exported, or when a
 * `{@link}` points nowhere: each is named in the failure.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('the API reference', () => {
  it('is configured to refuse any undocumented public symbol', () => {
    const config = JSON.parse(readFileSync(new URL('../typedoc.json', import.meta.url), 'utf8'));
    expect(config.entryPoints).toEqual(['src/index.ts', 'src/onnx.ts', 'src/tfjs.ts']);
    expect(config.treatWarningsAsErrors).toBe(true);
    expect(config.validation).toEqual({ notExported: true, invalidLink: true, notDocumented: true });
  });

  it('builds from the JSDoc and the README with no warning (as `npm run docs` does, into a folder of its own)', () => {
    const out = mkdtempSync(join(tmpdir(), 'rnn-wasm-docs-'));
    try {
      const typedoc = spawnSync(process.execPath, [join(root, 'node_modules/typedoc/bin/typedoc'), '--out', out], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      });
      expect(typedoc.stdout + typedoc.stderr).not.toMatch(/\[(warning|error)\]/);
      expect(typedoc.status).toBe(0);
      expect(readFileSync(join(out, 'classes/rnn-wasm.RNN.html'), 'utf8')).toContain('fromSafetensors');
      expect(readFileSync(join(out, 'functions/rnn-wasm_onnx.fromONNX.html'), 'utf8')).toContain('fromONNX');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 180_000);
});
