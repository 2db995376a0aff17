/**
 * The command line against hostile files and arguments: each ends in one line on standard error and an exit
 * code, never a stack trace, and nothing it writes can be read back damaged.
 */
import { closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './cli-run.js';

const folder = mkdtempSync(join(tmpdir(), 'rnn-wasm-cli-hostile-'));
const oneLine = (stderr: string) => stderr.trim().split('\n').length === 1 && !/\n\s+at /.test(stderr);

describe('rnn-wasm against hostile input', () => {
  it('a 3 GiB input file is refused by its size, without reading it', async () => {
    const big = join(folder, 'big.txt');
    const fd = openSync(big, 'w');
    ftruncateSync(fd, 3 * 2 ** 30); // sparse: no disk is used
    closeSync(fd);
    const r = await cli(['train', big, '--epochs', '1'], folder);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/big.txt is 3.0 GiB, more than the 2 GiB/);
    expect(oneLine(r.stderr), r.stderr).toBe(true);
  });

  it('a CSV of values near ±1e308 is refused before training, not written as a damaged checkpoint', async () => {
    const csv = join(folder, 'huge.csv');
    writeFileSync(csv, `a,b\n${Array.from({ length: 40 }, (_, i) => `${i % 2 ? 1.7e308 : -1.7e308},${i}`).join('\n')}\n`);
    const r = await cli(['train', csv, '--epochs', '1', '--out', join(folder, 'huge.ckpt')], folder);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/column a's values are too large to normalise/);
    expect(existsSync(join(folder, 'huge.ckpt'))).toBe(false);
  });

  it('a negative number after an option that takes a value is that value, judged by the option', async () => {
    const text = join(folder, 'story.txt');
    writeFileSync(text, 'the cat sat on the mat. '.repeat(40));
    const r = await cli(['train', text, '--seed', '-1', '--epochs', '1'], folder);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/takes no value/);
    expect(r.stderr).toMatch(/--seed/);
    const t = await cli(['generate', join(folder, 'none.ckpt'), '--temperature', '-1'], folder);
    expect(t.code).not.toBe(0);
    expect(t.stderr).not.toMatch(/takes no value/);
  });

  it('a temporary file left by a killed run is removed by the next write', async () => {
    const text = join(folder, 'story.txt');
    const stale = join(folder, '.story.ckpt.999999.tmp'); // a process id that is not alive
    writeFileSync(stale, 'half a checkpoint');
    const r = await cli(['train', text, '--epochs', '1', '--steps', '1', '--out', join(folder, 'story.ckpt')], folder);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(folder).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
}, 120_000);
