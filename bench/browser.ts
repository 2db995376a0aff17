/**
 * `npm run bench -- --browser`: the benchmark's named workloads in headless Chromium, on this library as the
 * browser entry loads it (dist/browser.js, or with --src the sources bundled the same way): the SIMD and relaxed
 * builds, each on one thread and on two. Everything runs in a dedicated worker (bench/browser-worker.ts, with the
 * Node run's harness) of a page served with the cross-origin isolation headers. Prints the Node run's tables,
 * the threads each model had, the 2-thread speed-ups and the relaxed build's verdicts (issue 15).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, chromiumMissing, launchChromium, writeBrowserBundle, writeBrowserScript } from '../scripts/chromium.js';
import { CROSS_ORIGIN_ISOLATION, serve } from '../scripts/serve.js';
import type { Outcome } from '../src/cli/bench/harness.js';
import { type Results, fmt, median, mediansTable, ratio, ratiosTable, resultsJson } from '../src/cli/bench/report.js';
import { WORKLOADS, type Workload } from '../src/cli/bench/workloads.js';
import { type BenchRequest, type BenchResponse, CONTENDERS } from './browser-protocol.js';
import { relaxedVerdicts, verdictsTable } from './verdicts.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const folder = join(root, 'build/bench-browser');

const CHROMIUM_USER = { needs: '`npm run bench -- --browser` needs', command: 'npm run bench -- --browser' };

/** brain.js's workload: it has no contender in the browser. */
const SKIPPED = ['R1'];

const PAGE = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>rnn-wasm bench</title>
<script type="module">
window.benchmark = (request) => new Promise((resolve, reject) => {
  const worker = new Worker('./worker.js', { type: 'module' });
  worker.onmessage = ({ data }) => {
    if ('progress' in data) return window.benchProgress(data.progress);
    worker.terminate();
    if ('failed' in data) reject(new Error(data.failed));
    else resolve(data.done);
  };
  worker.onerror = (event) => {
    worker.terminate();
    reject(new Error(event.message || 'the benchmark worker failed to load'));
  };
  worker.postMessage(request);
});
</script>`;

export interface BrowserOptions {
  only?: string[];
  timeMs: number;
  json?: string;
  /** Bundle src/ instead of serving dist/. */
  src: boolean;
}

/** The page's folder: the browser entry and its .wasm builds, the worker, the page. Returns why not, or undefined. */
async function writePage(src: boolean): Promise<string | undefined> {
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  if (src) await writeBrowserBundle(join(folder, 'browser.js'));
  else {
    const dist = join(root, 'dist');
    if (!existsSync(join(dist, 'browser.js'))) return 'dist/browser.js is missing: run `npm run build` (npm run bench does), or pass --src';
    for (const file of readdirSync(dist).filter((f) => f === 'browser.js' || f === 'browser.js.map' || /^rnn-.*\.wasm$/.test(f)))
      copyFileSync(join(dist, file), join(folder, file));
  }
  await writeBrowserScript('bench/browser-worker.ts', join(folder, 'worker.js'), './browser.js');
  writeFileSync(join(folder, 'index.html'), PAGE);
  return undefined;
}

/** The request's workloads run in Chromium; resolves with the worker's answer and the browser's version. */
async function runInChromium(request: BenchRequest): Promise<BenchResponse & { version: string }> {
  const server = await serve(folder, { headers: CROSS_ORIGIN_ISOLATION });
  const browser = await launchChromium(CHROMIUM_USER);
  try {
    const page = await browser.newPage();
    page.on('pageerror', (error) => process.stderr.write(`page error: ${error.message}\n`));
    await page.exposeFunction('benchProgress', (line: string) => process.stderr.write(`${line}\n`));
    await page.goto(server.url);
    await page.waitForFunction(() => 'benchmark' in window);
    const response = await page.evaluate(
      (r) => (window as unknown as { benchmark(r: BenchRequest): Promise<BenchResponse> }).benchmark(r),
      request,
    );
    return { ...response, version: browser.version() };
  } finally {
    await browser.close();
    await server.close();
  }
}

/** Each build's speed-up on two threads: its one-thread median over its two-thread median. */
function threadsTable(workloads: readonly Workload[], results: Results): string {
  const pairs = [
    ['SIMD', 'SIMD 2 threads'],
    ['relaxed', 'relaxed 2 threads'],
  ];
  const lines = [
    `| workload | ${pairs.map(([one]) => `${one}: 1 thread / 2 threads`).join(' | ')} |`,
    `|---|${pairs.map(() => '---:').join('|')}|`,
  ];
  for (const w of workloads) {
    const cells = pairs.map(([one, two]) => {
      const [a, b] = [median(results, w.id, one), median(results, w.id, two)];
      return a === undefined || b === undefined ? '–' : ratio(a / b);
    });
    lines.push(`| ${w.id} | ${cells.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Runs the browser benchmark and prints its tables; resolves with the exit code. */
export async function browserBench({ only, timeMs, json, src }: BrowserOptions): Promise<number> {
  const skipped = only?.filter((id) => SKIPPED.includes(id)) ?? [];
  if (skipped.length) process.stderr.write(`${skipped.join(', ')}: brain.js's workload, which has no contender in the browser; left out\n`);
  const workloads = WORKLOADS.filter((w) => !SKIPPED.includes(w.id) && (!only || only.includes(w.id)));
  if (!workloads.length) {
    const known = WORKLOADS.filter((w) => !SKIPPED.includes(w.id)).map((w) => w.id);
    process.stderr.write(`bench --browser: --only names none of the workloads it runs (${known.join(', ')})\n`);
    return 2;
  }
  const missing = chromiumMissing(CHROMIUM_USER);
  if (missing) {
    process.stderr.write(`bench --browser: ${missing}\n`);
    return 1;
  }
  const unbuilt = await writePage(src);
  if (unbuilt) {
    process.stderr.write(`bench --browser: ${unbuilt}\n`);
    return 1;
  }
  const cpu = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores`;
  process.stderr.write(`${cpu}; ${CHROMIUM}, headless; serving ${src ? 'src/ bundled' : 'dist/browser.js'} from ${folder}\n`);
  const r = await runInChromium({ ids: workloads.map((w) => w.id), timeMs });
  const results: Results = new Map(r.results.map(([id, outcomes]) => [id, new Map<string, Outcome>(outcomes)]));
  const names = CONTENDERS.map((c) => c.name);
  const about = `${cpu}; Chromium ${r.version} (headless, ${CHROMIUM}), ${r.cores} logical processors seen by the page`;
  const isolation = `crossOriginIsolated: ${r.crossOriginIsolated ? 'yes' : 'no (threads cannot run)'}`;
  console.log(`\n## rnn-wasm in headless Chromium, ${new Date().toISOString().slice(0, 10)}\n\n${about}\n${isolation}\n`);
  console.log(
    `Medians in ms per call (± half the interquartile range), interleaved rounds, ${timeMs} ms per contender and workload, `
      + `in a worker of the page; performance.now() ticks every ${fmt(r.clockResolutionMs * 1000)} µs there.\n`,
  );
  console.log(mediansTable(workloads, names, results));
  const batched = Object.entries(r.callsPerSample).filter(([, calls]) => calls > 1);
  if (batched.length)
    console.log(
      `Calls per timed sample, so that a sample lasts some 200 ticks of the clock (each sample's time is divided by them): ${batched.map(([id, n]) => `${id} ${n}`).join(', ')}.\n`,
    );
  const threads = names.map((n) => `${n} ${[...new Set(workloads.map((w) => r.threads[w.id]?.[n] ?? '–'))].join('/')}`);
  console.log(`Threads of each model (1 + the workers it started): ${threads.join(', ')}.\n`);
  console.log('Ratios of medians: theirs / SIMD, and SIMD / relaxed (how many times faster the relaxed build is).\n');
  console.log(ratiosTable(workloads, names, results));
  console.log('Two threads against one: how many times faster each build is on two.\n');
  console.log(threadsTable(workloads, results));
  const targets = relaxedVerdicts(results);
  if (targets.length) console.log(`Targets (issue 15, the relaxed build, in Chromium):\n\n${verdictsTable(targets)}`);
  if (json) {
    const extra = {
      machine: about,
      browser: `Chromium ${r.version}`,
      userAgent: r.userAgent,
      crossOriginIsolated: r.crossOriginIsolated,
      clockResolutionMs: r.clockResolutionMs,
      callsPerSample: r.callsPerSample,
      threads: r.threads,
      targets,
    };
    writeFileSync(json, resultsJson(workloads, results, extra));
    process.stderr.write(`wrote ${json}\n`);
  }
  return 0;
}
