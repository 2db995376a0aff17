/**
 * `npm run bench -- --browser` end to end, on two small workloads with a tiny time budget: in headless Chromium,
 * on a cross-origin-isolated page, every contender gives a median or a reason, the 2-thread models run on two
 * threads, and the tables and verdicts are printed and written. No speed is asserted: speed is the benchmark's
 * to measure, not a test's. Where there is no Chromium the command says how to get one, without a stack trace.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CONTENDERS } from '../bench/browser-protocol.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const scratch = mkdtempSync(join(tmpdir(), 'bench-browser-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npx tsx bench/bench.ts <args…>` from the repository's root; never rejects. */
function bench(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX_LOADER, 'bench/bench.ts', ...args],
      { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

interface Written {
  browser: string;
  crossOriginIsolated: boolean;
  threads: Record<string, Record<string, number>>;
  workloads: { id: string; results: Record<string, { median: number } | { skipped: string }> }[];
}

describe('npm run bench -- --browser', () => {
  it('runs W0 and S1 in Chromium: a median or a reason for every contender, two threads where asked', async () => {
    const json = join(scratch, 'results.json');
    // --src: the browser entry bundled from src/ (the tests build no dist/).
    const run = await bench(['--browser', '--src', '--only', 'W0,S1', '--time', '150', '--json', json]);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.code).toBe(0);

    const written = JSON.parse(readFileSync(json, 'utf8')) as Written;
    expect(written.browser).toMatch(/^Chromium \d+\./);
    expect(written.crossOriginIsolated).toBe(true);
    expect(written.workloads.map((w) => w.id)).toEqual(['W0', 'S1']);
    for (const w of written.workloads) {
      expect(Object.keys(w.results)).toEqual(CONTENDERS.map((c) => c.name));
      for (const [name, outcome] of Object.entries(w.results)) {
        if ('median' in outcome) expect(outcome.median, `${w.id}, ${name}`).toBeGreaterThan(0);
        else expect(outcome.skipped, `${w.id}, ${name}`).toMatch(/\w{3}/);
      }
      // An isolated page's worker runs threads: the 2-thread models had their second thread, and were timed.
      for (const c of CONTENDERS.filter((x) => x.threads > 1)) {
        expect(w.results[c.name], `${w.id}, ${c.name}`).toHaveProperty('median');
        expect(written.threads[w.id][c.name], `${w.id}, ${c.name}`).toBe(2);
      }
      for (const c of CONTENDERS.filter((x) => x.threads === 1 && 'median' in w.results[x.name]))
        expect(written.threads[w.id][c.name]).toBe(1);
    }

    expect(run.stdout).toMatch(/; Chromium \d+\.[\d.]+ \(headless, /);
    expect(run.stdout).toContain('crossOriginIsolated: yes');
    expect(run.stdout).toContain(`| workload | ${CONTENDERS.map((c) => c.name).join(' | ')} |`);
    expect(run.stdout).toContain('| workload | SIMD ms | GFLOP/s | SIMD / relaxed | SIMD 2 threads / SIMD | relaxed 2 threads / SIMD |');
    expect(run.stdout).toContain('| workload | SIMD: 1 thread / 2 threads | relaxed: 1 thread / 2 threads |');
    expect(run.stdout).toMatch(/\| W0 no slower with the relaxed build \(SIMD \/ relaxed\) \| [\d.]+× \| (yes|no) \|/);
    expect(run.stdout).toMatch(/\| S1 no slower with the relaxed build \(SIMD \/ relaxed\) \| [\d.]+× \| (yes|no) \|/);
  }, 60_000);

  it('without Chromium: says so and how to get one, and exits 1 without a stack trace', async () => {
    const run = await bench(['--browser', '--only', 'W0'], { CHROMIUM_PATH: join(scratch, 'no-chromium') });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`CHROMIUM_PATH is ${join(scratch, 'no-chromium')}, which does not exist`);
    expect(run.stderr).toContain('bash scripts/ensure-chromium.sh');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stdout).toBe('');
  }, 30_000);
});
