/**
 * `npm run bench`: the README's benchmark. The named workloads (src/cli/bench/workloads.ts) on every contender
 * in one run, each checked against this library's SIMD build before it is timed (src/cli/bench/harness.ts):
 *   this library's SIMD, relaxed-SIMD, scalar and pure-JS backends, as built into dist/ (Node 20 has relaxed
 *     SIMD behind a flag: the script then runs itself again with --experimental-wasm-relaxed-simd);
 *   a hand-written JS loop (bench/naive.ts);
 *   the same kernels in C (bench/native/rnn.c, built when gcc is present) and PyTorch on one thread (when a
 *     python3 imports torch);
 *   the peers installed in bench/peers/ (its own package.json: `npm run bench` installs them the first time):
 *     onnxruntime-web, tfjs-wasm, brain.js;
 *   optionally another checkout of this library (--before <dir>) for before/after numbers.
 * Then the issue's targets as verdicts (those on threads with the cores' state around their workload), the speed
 * of each of the first two cores before and after the rounds (bench/cores.ts: the most two threads can reach on
 * them), a scaling table (SIMD RNN forward over H and B) and the cold start (import to first result in fresh
 * processes). `rnn-wasm bench` is the same engine without the repository's contenders.
 *
 *   npm run bench                                  everything (a few minutes)
 *   npm run bench -- --only W1,W5 --time 3000 --json results.json --no-scaling
 *   npx tsx bench/bench.ts --src --before ../old-checkout --no-peers --no-native    before/after, both from src/
 *   npm run bench -- --browser --only W5,W6 --time 3000    in headless Chromium (bench/browser.ts): the SIMD and
 *                                                          relaxed builds on one and two threads; --src bundles src/
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { OURS, machine, runAll } from '../src/cli/bench/command.js';
import { type Contender, type Library, type Stats, ours, stats } from '../src/cli/bench/harness.js';
import { onnxRuntimeOnTwoThreads, peers } from '../src/cli/bench/peers.js';
import { REFERENCE, type Results, fmt, median, mediansTable, ratio, ratiosTable, resultsJson } from '../src/cli/bench/report.js';
import { relaxedSimdSupported } from '../src/index.js';
import { LEARNING_RATE, WORKLOADS, flops, seeded } from '../src/cli/bench/workloads.js';
import { browserBench } from './browser.js';
import { type CoreSpeeds, coreSpeeds, coresState, FAR_ROUND_TRIP, FP_PEAK, roundTripNow } from './cores.js';
import { naiveForward, naiveTrainStep } from './naive.js';
import { NATIVE_BUILDS, gccVersion, nativeBinary, startNative, startPytorch, torchPython } from './native.js';
import { type Verdict, relaxedVerdicts, verdictsTable } from './verdicts.js';

// The relaxed build is a contender in every run: where this engine has relaxed SIMD only behind a flag (Node 20),
// run this script again with it. A Node that has relaxed SIMD needs nothing, and a later one may not know the flag.
const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';
// A run in Chromium (--browser) needs nothing of this Node's.
if (!relaxedSimdSupported() && !process.execArgv.includes(RELAXED_FLAG) && !process.argv.includes('--browser')) {
  const again = spawnSync(process.execPath, [RELAXED_FLAG, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(again.status ?? 1);
}

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    time: { type: 'string', default: '1500' },
    before: { type: 'string' },
    json: { type: 'string' },
    'no-peers': { type: 'boolean', default: false },
    'no-native': { type: 'boolean', default: false },
    'no-scaling': { type: 'boolean', default: false },
    'no-cold': { type: 'boolean', default: false },
    'no-contention': { type: 'boolean', default: false },
    'no-cores': { type: 'boolean', default: false },
    src: { type: 'boolean', default: false },
    browser: { type: 'boolean', default: false },
  },
});

const TANH_ONLY = 'tanh RNNs only (this workload is for brain.js)';

/** This library on two threads (issue 15), beside the one-thread SIMD build. */
const TWO_THREADS = 'SIMD 2 threads';

/** The fastest this library runs here: the relaxed build on two threads, against the peers on two threads. */
const BEST = 'relaxed 2 threads';

const naive: Contender = {
  name: 'naive JS',
  async prepare(w, d) {
    if (w.job === 'cell') return 'not written (a streaming step)';
    if (w.nonlinearity !== 'tanh') return TANH_ONLY;
    if (w.job === 'train' && w.cell !== 'rnn') return 'not written (the targets name W1, W5 and W6)';
    let result: Float32Array | number = 0;
    if (w.job === 'train') {
      const p = Object.fromEntries(Object.entries(d.weights).map(([k, v]) => [k, v.slice()]));
      return {
        run: () => (result = naiveTrainStep(p, d.x, d.target, w.T, w.B, w.I, w.H, LEARNING_RATE.sgd)),
        result: () => result,
        dispose() {},
      };
    }
    return { run: () => (result = naiveForward(w.cell, d.weights, d.x, w.T, w.B, w.I, w.H)), result: () => result, dispose() {} };
  },
};

function native(build: (typeof NATIVE_BUILDS)[number]): Contender {
  return {
    name: build.name,
    async prepare(w, d) {
      if (w.job !== 'forward') return 'forward kernels only';
      if (w.nonlinearity !== 'tanh') return TANH_ONLY;
      const binary = nativeBinary(build);
      if ('reason' in binary) return binary.reason;
      const proc = await startNative(binary.path, w, d);
      return { run: () => undefined, timed: (n) => proc.times(n), result: () => proc.result, dispose: () => proc.close() };
    },
  };
}

function pytorch(threads: number): Contender {
  return {
    name: threads === 1 ? 'PyTorch' : `PyTorch ${threads} threads`,
    async prepare(w, d) {
      if (w.job === 'cell') return 'not written (a streaming step)';
      if (w.nonlinearity !== 'tanh') return TANH_ONLY;
      const python = torchPython();
      if ('reason' in python) return python.reason;
      const proc = await startPytorch(python.path, w, d, threads);
      return { run: () => undefined, timed: (n) => proc.times(n), result: () => proc.result, dispose: () => proc.close() };
    },
  };
}

/** PyTorch 1.13 (OpenBLAS, AVX-512, one thread) on W6, from the issue: measured on another machine. */
const ISSUE_PYTORCH_W6_MS = 9.2;

interface Target {
  workloads: string[];
  /** Whose median is measured (default the SIMD build on one thread). */
  ours?: string;
  against: string;
  /** Their median over ours (a speed-up) must be at least this, or (when `within`) ours over theirs at most. */
  bound: number;
  within?: boolean;
}

const TARGETS: Target[] = [
  { workloads: ['W1', 'W2', 'W5'], against: 'C -msse4.2', bound: 1.2, within: true },
  { workloads: ['W3', 'W4'], against: 'C -msse4.2', bound: 1.3, within: true },
  { workloads: ['W1', 'W2', 'W5'], against: 'onnxruntime-web', bound: 2.5 },
  { workloads: ['W3', 'W4'], against: 'onnxruntime-web', bound: 1.15 },
  { workloads: ['W1'], against: 'tfjs-wasm', bound: 8 },
  { workloads: ['W4', 'W6'], against: 'tfjs-wasm', bound: 10 },
  { workloads: ['W1', 'W5', 'W6'], against: 'naive JS', bound: 20 },
  // Issue 15: two threads.
  { workloads: ['W5', 'W6', 'W7'], ours: TWO_THREADS, against: 'SIMD', bound: 1.7 },
  { workloads: ['W1', 'W3', 'W4'], ours: TWO_THREADS, against: 'SIMD', bound: 1.4 },
  { workloads: ['W0', 'S1'], ours: TWO_THREADS, against: 'SIMD', bound: 1.05, within: true },
  { workloads: ['W1', 'W2', 'W5'], ours: BEST, against: 'onnxruntime-web 2 threads', bound: 2 },
  { workloads: ['W3', 'W4'], ours: BEST, against: 'onnxruntime-web 2 threads', bound: 1.3 },
  { workloads: ['W6', 'W7'], ours: BEST, against: 'PyTorch 2 threads', bound: 1, within: true },
];

const isNative = (n: string) => n.startsWith('C ') || n === 'PyTorch';

/** µs of a cache-line round trip between cpus 0 and 1 just before and just after each workload's rounds. */
type RoundTrips = Map<string, [number | undefined, number | undefined]>;

function verdicts(results: Results, names: string[], trips: RoundTrips): Verdict[] {
  const out: Verdict[] = [];
  for (const t of TARGETS.filter((x) => names.includes(x.against))) {
    for (const id of t.workloads.filter((x) => results.has(x))) {
      const [ms, theirs] = [median(results, id, t.ours ?? REFERENCE), median(results, id, t.against)];
      const who = t.ours ? `${id} on ${t.ours.replace(/^SIMD /, '')}` : id;
      const target = `${who} ${t.within ? `within ${t.bound}× of` : `≥ ${t.bound}× faster than`} ${t.against}`;
      if (ms === undefined || theirs === undefined) {
        out.push({ target, value: 'not measured', met: null });
        continue;
      }
      const value = t.within ? ms / theirs : theirs / ms;
      const cores = t.ours ? coresState(...(trips.get(id) ?? [])) : undefined;
      out.push({ target, value: ratio(value), met: t.within ? value <= t.bound : value >= t.bound, ...(cores && { cores }) });
    }
  }
  for (const id of ['W6', 'W7'].filter((x) => results.has(x))) {
    const [ms, torch] = [median(results, id, REFERENCE), median(results, id, 'PyTorch')];
    if (ms !== undefined && torch !== undefined)
      out.push({ target: `${id} within 2× of PyTorch (one thread, this machine)`, value: ratio(ms / torch), met: ms / torch <= 2 });
  }
  out.push(...relaxedVerdicts(results));
  const w6 = median(results, 'W6', REFERENCE);
  if (w6 !== undefined) {
    out.push({
      target: `W6 within 2× of the issue's PyTorch ${ISSUE_PYTORCH_W6_MS} ms (another machine)`,
      value: ratio(w6 / ISSUE_PYTORCH_W6_MS),
      met: w6 / ISSUE_PYTORCH_W6_MS <= 2,
    });
  }
  const [s1, w1] = [median(results, 'S1', REFERENCE), median(results, 'W1', REFERENCE)];
  if (s1 !== undefined && w1 !== undefined) {
    out.push({
      target: '`cell` (S1) within 1.3× of one step inside `unroll` (W1 / 100)',
      value: ratio(s1 / (w1 / 100)),
      met: s1 / (w1 / 100) <= 1.3,
    });
  }
  return out;
}

async function main() {
  const only = args.only?.split(',');
  if (args.browser) {
    if (args.before) {
      process.stderr.write('bench: --before runs in Node only, not with --browser\n');
      process.exit(2);
    }
    process.exit(await browserBench({ only, timeMs: Number(args.time), json: args.json, src: args.src }));
  }
  const workloads = WORKLOADS.filter((w) => !only || only.includes(w.id));
  // The package as users get it (npm run build, which npm run bench runs first): the same kernels as src/, and
  // the JS glue as the bundler emits it (tsx's transform adds a helper call to every closure src/ creates).
  // --src measures src/ through tsx instead, like another checkout's src/ for --before.
  const dist = new URL('../dist/index.js', import.meta.url);
  const fromDist = !args.src && existsSync(dist);
  const lib = (fromDist ? await import(dist.href) : await import('../src/index.js')) as Library;
  if (!fromDist) process.stderr.write('measuring src/ through tsx (its transform adds a call to every closure src/ creates)\n');
  const folders = [fileURLToPath(new URL('peers/', import.meta.url)), process.cwd()];
  // `npm run bench` installs the peers the first time (340 MB), here rather than in prebench, so that a run that
  // times none (--no-peers, --browser) installs nothing; a run of this script by itself never installs them.
  if (!args['no-peers'] && process.env.npm_lifecycle_event === 'bench')
    spawnSync('bash', [fileURLToPath(new URL('../scripts/ensure-bench-peers.sh', import.meta.url))], { stdio: 'inherit' });
  const found = args['no-peers'] ? [] : [...peers(folders), onnxRuntimeOnTwoThreads(folders)];
  const contenders: Contender[] = [
    ...OURS.map(([name, backend]) => ours(name, backend, { lib })),
    ours(TWO_THREADS, 'wasm-simd', { lib, threads: 2 }),
    ours(BEST, 'wasm-relaxed', { lib, threads: 2 }),
    naive,
  ];
  if (args.before) {
    const before = (await import(resolve(args.before, 'src/index.ts'))) as Library;
    // The other checkout on one thread and on two (a checkout from before threads says so and sits the second out).
    contenders.splice(1, 0, ours('before', 'wasm-simd', { lib: before }));
    contenders.splice(
      contenders.findIndex((c) => c.name === BEST) + 1,
      0,
      ours(`before ${BEST}`, 'wasm-relaxed', { lib: before, threads: 2 }),
    );
  }
  if (!args['no-native']) contenders.push(...NATIVE_BUILDS.map(native), pytorch(1), pytorch(2));
  contenders.push(...found);

  const torch = torchPython();
  const about = `${machine()}; gcc ${gccVersion()}; PyTorch ${'version' in torch ? torch.version : 'none'}`;
  const peerVersions = await Promise.all(found.map((p) => p.about()));
  // The cores' speeds before the timed rounds and after them: on a shared machine they change within a run.
  const cores = async () => (args['no-cores'] ? undefined : await coreSpeeds(dist));
  const coresBefore = await cores();
  // And the round trip between them around every workload, which decides the two-thread verdicts of W1, W3, W4.
  const probes: (number | undefined)[] = [];
  const probe = args['no-cores'] ? undefined : async () => void probes.push(await roundTripNow());
  const results = await runAll(workloads, contenders, found, Number(args.time), probe);
  const coresAfter = await cores();
  const trips: RoundTrips = new Map(probes.length ? workloads.map((w, k) => [w.id, [probes[k], probes[k + 1]]]) : []);

  const names = contenders.map((c) => c.name);
  console.log(`\n## rnn-wasm vs the alternatives, ${new Date().toISOString().slice(0, 10)}\n\n${about}\n${peerVersions.join('; ')}\n`);
  console.log(`Medians in ms (± half the interquartile range), interleaved rounds, ${args.time} ms per contender and workload.\n`);
  console.log(mediansTable(workloads, names, results));
  console.log(
    'Ratios of medians: how many times faster the SIMD build is (theirs / ours), or how far from native code (ours / theirs); '
      + 'SIMD / relaxed is how many times faster the relaxed build is.\n',
  );
  console.log(ratiosTable(workloads, names, results, isNative));
  for (const w of workloads.filter((x) => x.job === 'train')) {
    const ms = median(results, w.id, REFERENCE);
    if (ms !== undefined)
      console.log(`${w.id}: ${(flops(w) / ms / 1e6).toFixed(1)} GFLOP/s (a training step counted as 3× the forward's FLOPs)`);
  }

  const targets = verdicts(results, names, trips);
  // Under contention first: its verdicts go in the targets' table.
  const contention = args['no-contention'] ? undefined : await underContention(lib, Number(args.time));
  if (contention) targets.push(...contention);
  const cold = args['no-cold'] ? undefined : coldStart();
  if (typeof cold === 'object')
    targets.push({ target: 'cold start (import → first W0 result) under 20 ms', value: `${fmt(cold.median)} ms`, met: cold.median < 20 });
  console.log(`\nTargets (issues 6 and 15):\n\n${verdictsTable(targets)}`);
  if (targets.some((t) => t.cores))
    console.log(
      `\nCores: a cache line's round trip between cpus 0 and 1 just before and after each workload's rounds; over ${FAR_ROUND_TRIP} µs `
        + 'they are far apart, and a recurrence split by hidden units (W1, W3, W4 on two threads) waits about that long at every step.',
    );
  if (coresBefore && coresAfter) console.log(`\n${coresReport(coresBefore, coresAfter)}`);
  if (typeof cold === 'string') console.log(`\nCold start not measured: ${cold}`);
  else if (cold)
    console.log(
      `\nCold start: ${fmt(cold.median)} ms median of ${cold.n} fresh processes (±${fmt(cold.spread)}), from import of dist/index.js to the first W0 output.`,
    );

  const scaling = args['no-scaling'] ? undefined : await scalingTable(lib);
  if (args.json)
    writeFileSync(
      args.json,
      resultsJson(workloads, results, {
        machine: about,
        peers: peerVersions,
        cores: { before: coresBefore, after: coresAfter, roundTrips: Object.fromEntries(trips) },
        targets,
        coldStart: cold,
        scaling,
      }),
    );
  process.exit(0); // the peers' runtimes keep handles open
}

/** The cores' speeds as a sentence, and the most that two threads could reach on them (bench/cores.ts). */
function coresReport(before: CoreSpeeds | string, after: CoreSpeeds | string): string {
  if (typeof before === 'string' || typeof after === 'string') return `Cores not measured: ${typeof before === 'string' ? before : after}`;
  const speeds = (c: CoreSpeeds) => [0, 1].map((k) => `cpu ${k} ${fmt(c.alone[k])} ms alone, ${fmt(c.together[k])} both busy`).join('; ');
  return (
    `Cores (W5 on one thread of the SIMD build, pinned): before the rounds ${speeds(before)}; after them ${speeds(after)}. `
    + `Two threads could reach at most ${ratio(before.ceiling)} before and ${ratio(after.ceiling)} after `
    + '(both cores busy, against one thread on the faster core alone): the ceiling of the two-thread targets here. '
    + `A cache line went from one core to the other and back in ${fmt(before.roundTrip)} µs before and ${fmt(after.roundTrip)} `
    + 'µs after: a recurrence split by hidden units (W1, W3, W4) waits about that long at every step. '
    + `cpu 0 ran at ${fmt(before.ghz)} GHz before and ${fmt(after.ghz)} after, so W5 did ${fmt(before.flopsPerCycle)} and `
    + `${fmt(after.flopsPerCycle)} flops a cycle, where two multiplies and two adds of four lanes a cycle, or two fused `
    + `multiply-adds, make ${FP_PEAK}: on a core with such pipes (AMD's Zen 3 to 5) the relaxed build can gain at most `
    + `${ratio(FP_PEAK / Math.max(before.flopsPerCycle, after.flopsPerCycle))} on W5.`
  );
}

/**
 * Issue 15's contention case: the one-thread and two-thread models while another process keeps a core busy
 * (a spinning child), interleaved as in the main run. The two-thread model must stay within 1.2× of one thread.
 */
async function underContention(lib: Library, timeMs: number): Promise<{ target: string; value: string; met: boolean }[]> {
  const ids = ['W1', 'W4', 'W5', 'W6'];
  const workloads = WORKLOADS.filter((w) => ids.includes(w.id));
  const busy = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  let results: Results;
  try {
    process.stderr.write('under contention: another process keeps a core busy…\n');
    results = await runAll(
      workloads,
      [ours('SIMD', 'wasm-simd', { lib }), ours(TWO_THREADS, 'wasm-simd', { lib, threads: 2 })],
      [],
      timeMs,
    );
  } finally {
    busy.kill();
  }
  console.log('\nUnder contention (another process spinning on one of the cores): median ms\n');
  console.log(mediansTable(workloads, ['SIMD', TWO_THREADS], results));
  return workloads.flatMap((w) => {
    const [one, two] = [median(results, w.id, 'SIMD'), median(results, w.id, TWO_THREADS)];
    if (one === undefined || two === undefined) return [];
    return [
      { target: `${w.id} on 2 threads, a core busy elsewhere: within 1.2× of 1 thread`, value: ratio(two / one), met: two / one <= 1.2 },
    ];
  });
}

interface ScalingRow {
  H: number;
  B: number;
  threads: number;
  ms: number;
  gflops: number;
}

/** SIMD RNN forward over hidden sizes and batch sizes (I = 64, T = 50), on one thread and two: ms and GFLOP/s. */
async function scalingTable(lib: Library): Promise<ScalingRow[]> {
  const [hs, bs, I, T] = [[32, 64, 128, 256, 512, 1024], [1, 4, 16, 64], 64, 50];
  const rows: ScalingRow[] = [];
  for (const H of hs) {
    for (const B of bs) {
      for (const threads of [1, 2]) {
        const net = await lib.RNN.create({ inputSize: I, hiddenSize: H, seed: 1, backend: 'wasm-simd', threads });
        const x = { data: seeded(T * B * I, 3), shape: [T, B, I] };
        const out = { output: new Float32Array(T * B * H), y: new Float32Array(T * B * H), hN: new Float32Array(B * H) };
        const times: number[] = [];
        for (const start = performance.now(); times.length < 5 || performance.now() - start < 300; ) {
          const t0 = performance.now();
          net.unroll(x, { out });
          times.push(performance.now() - t0);
        }
        const s = stats(times.slice(Math.ceil(times.length / 5))); // the first fifth warms up
        net.dispose();
        rows.push({ H, B, threads, ms: s.median, gflops: (2 * T * B * (I * H + H * H)) / s.median / 1e6 });
      }
    }
  }
  const cell = (H: number, B: number, threads: number) => rows.find((r) => r.H === H && r.B === B && r.threads === threads)!;
  const header = `| H \\ B | ${bs.join(' | ')} |\n|---|${bs.map(() => '---:').join('|')}|`;
  console.log(`\nScaling: SIMD RNN forward, I = 64, T = 50, one thread: median ms (GFLOP/s)\n\n${header}`);
  for (const H of hs)
    console.log(
      `| ${H} | ${bs
        .map((B) => cell(H, B, 1))
        .map((r) => `${fmt(r.ms)} (${r.gflops.toFixed(1)})`)
        .join(' | ')} |`,
    );
  console.log(`\nTwo threads: median ms (speed-up over one thread)\n\n${header}`);
  for (const H of hs) {
    console.log(`| ${H} | ${bs.map((B) => `${fmt(cell(H, B, 2).ms)} (${ratio(cell(H, B, 1).ms / cell(H, B, 2).ms)})`).join(' | ')} |`);
  }
  return rows;
}

/** Import to first W0 result in fresh Node processes, of the built package (dist/index.js). */
function coldStart(): Stats | string {
  const entry = new URL('../dist/index.js', import.meta.url);
  if (!existsSync(entry)) return 'dist/index.js is missing (npm run build)';
  const script = new URL('cold-start.mjs', import.meta.url);
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const out = execFileSync(process.execPath, [fileURLToPath(script), entry.href], { encoding: 'utf8' });
    times.push((JSON.parse(out) as { ms: number }).ms);
  }
  return stats(times);
}

await main();
