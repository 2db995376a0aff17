/**
 * `rnn-wasm bench`: this library's SIMD, relaxed-SIMD (where the engine has it), scalar and pure-JS backends
 * and every peer installed in the current project (onnxruntime-web, tfjs-wasm, brain.js), on the README's named
 * workloads or on chosen sizes, in one run; Markdown tables of medians and ratios, `--json` for tools and `--plot` for an SVG chart.
 * `npm run bench` (bench/bench.ts) adds what only the repository has: C, PyTorch and a hand-written JS loop.
 */
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BackendChoice, relaxedSimdSupported } from '../../index.js';
import { type CommandSpec, commandHelp, parseCommand, type Options } from '../args.js';
import { EXIT, UsageError } from '../errors.js';
import { checkFolderExists, writeAtomic } from '../files.js';
import { barChartSvg } from '../svg.js';
import { type Contender, measure, ours } from './harness.js';
import { type Peer, peers } from './peers.js';
import { quietCores } from './settle.js';
import { type Results, median, mediansTable, ratiosTable, resultsJson } from './report.js';
import { type Cell, type Job, type Nonlinearity, WORKLOADS, type Workload, isNamed, sizedWorkload } from './workloads.js';

const DEFAULT_WORKLOADS = ['W1', 'W3', 'W4', 'W5', 'W6', 'S1'];
const CELLS: readonly Cell[] = ['rnn', 'lstm', 'gru'];
const JOBS: readonly Job[] = ['forward', 'train', 'cell'];
/** This library's backends as the tables name them. */
export const OURS: readonly (readonly [string, BackendChoice])[] = [
  ['SIMD', 'wasm-simd'],
  ['relaxed', 'wasm-relaxed'],
  ['scalar', 'wasm-scalar'],
  ['JS backend', 'js'],
];
/** OURS less the relaxed build where this engine lacks relaxed SIMD (Node 20 without --experimental-wasm-relaxed-simd). */
export function runnableOurs(): (readonly [string, BackendChoice])[] {
  return OURS.filter(([, b]) => b !== 'wasm-relaxed' || relaxedSimdSupported());
}
const SIZE_OPTIONS = ['cells', 'nonlinearity', 'hidden', 'batch', 'input', 'steps', 'jobs'];

export const spec: CommandSpec = {
  name: 'bench',
  usage: 'bench [options]',
  summary:
    "Times this library's WASM SIMD, relaxed SIMD, WASM scalar and pure-JS backends and the peers installed in this project\n"
    + '(onnxruntime-web, tfjs-wasm, brain.js) on the same work in one run: each output is checked against ours\n'
    + 'before it is timed. Prints Markdown tables of medians and of ratios to the SIMD build.\n'
    + `Named workloads (see the README): ${WORKLOADS.map((w) => w.id).join(', ')}; or a grid of sizes from the size options.`,
  positionals: [],
  options: {
    workloads: { type: 'string', value: '<list>', help: `named workloads (default ${DEFAULT_WORKLOADS.join(',')})` },
    cells: { type: 'string', value: '<list>', help: 'sizes: cells rnn, lstm, gru (default rnn)' },
    nonlinearity: { type: 'string', value: '<f>', help: 'sizes: tanh or relu for the RNN cell (default tanh)' },
    hidden: { type: 'string', value: '<list>', help: 'sizes: hidden sizes (default 256)' },
    batch: { type: 'string', value: '<list>', help: 'sizes: batch sizes (default 1)' },
    input: { type: 'string', value: '<n>', help: 'sizes: input features (default 64)' },
    steps: { type: 'string', value: '<n>', help: 'sizes: time steps per sequence (default 100)' },
    jobs: {
      type: 'string',
      value: '<list>',
      help: 'sizes: forward, train (one SGD step with a Linear head), cell (default forward,train)',
    },
    backends: {
      type: 'string',
      value: '<list>',
      help:
        "this library's backends: wasm-simd, wasm-relaxed, wasm-scalar, js (default all that this engine runs; wasm-simd always "
        + 'runs: it is the reference)',
    },
    peers: { type: 'string', value: '<list>', help: 'onnxruntime-web, tfjs-wasm, brain.js or none (default every one installed)' },
    time: { type: 'string', value: '<ms>', help: 'time for each contender on each workload, in interleaved rounds (default 1000)' },
    json: { type: 'string', value: '<file.json>', help: 'also write every number to a JSON file' },
    plot: { type: 'string', value: '<file.svg>', help: 'also draw the medians as an SVG bar chart' },
  },
};

const COLORS = ['#08519c', '#6baed6', '#bdbdbd', '#e6550d', '#fdae6b', '#31a354', '#756bb1', '#969696'];

/** A comma-separated list whose entries must come from `allowed`. */
function list<T extends string>(o: Options, name: string, allowed: readonly T[], fallback: readonly T[]): T[] {
  const raw = o.string(name);
  if (raw === undefined) return [...fallback];
  return raw.split(',').map((part) => {
    if (!allowed.includes(part.trim() as T)) throw new UsageError(`--${name} takes ${allowed.join(', ')}, got '${part}'`);
    return part.trim() as T;
  });
}

function chosenWorkloads(o: Options): Workload[] {
  const sized = SIZE_OPTIONS.filter((name) => o.has(name));
  if (sized.length === 0) {
    const ids = list(
      o,
      'workloads',
      WORKLOADS.map((w) => w.id),
      DEFAULT_WORKLOADS,
    );
    return WORKLOADS.filter((w) => ids.includes(w.id));
  }
  if (o.has('workloads')) throw new UsageError(`--workloads names workloads and --${sized[0]} sizes them: give one or the other`);
  const cells = list(o, 'cells', CELLS, ['rnn']);
  const nonlinearity = o.choice<Nonlinearity>('nonlinearity', ['tanh', 'relu'], 'tanh');
  if (nonlinearity !== 'tanh' && !cells.includes('rnn'))
    throw new UsageError('--nonlinearity applies to the rnn cell, and --cells has none');
  const [I, T] = [o.int('input', 64, { min: 1 }), o.int('steps', 100, { min: 1 })];
  const jobs = list(o, 'jobs', JOBS, ['forward', 'train']);
  const out: Workload[] = [];
  for (const cell of cells) {
    for (const H of o.intList('hidden', [256])) {
      for (const B of o.intList('batch', [1])) {
        for (const job of jobs) out.push(sizedWorkload({ cell, nonlinearity: cell === 'rnn' ? nonlinearity : 'tanh', I, H, T, B, job }));
      }
    }
  }
  return out;
}

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) {
    process.stdout.write(commandHelp(spec));
    return EXIT.ok;
  }
  const o = parsed.options;
  const workloads = chosenWorkloads(o);
  // The relaxed build only where it runs, unless it is named.
  const runnable = runnableOurs().map(([, b]) => b);
  const backends = new Set<BackendChoice>(
    list(
      o,
      'backends',
      OURS.map(([, b]) => b),
      runnable,
    ),
  );
  const time = o.int('time', 1000, { min: 1 });
  const [json, plot] = [o.string('json'), o.string('plot')];
  for (const file of [json, plot]) if (file !== undefined) checkFolderExists(file);

  // Peers as this project has them installed, else beside this package.
  const all = peers([process.cwd(), dirname(fileURLToPath(import.meta.url))]);
  const names = all.map((p) => p.name);
  const chosen = o.string('peers') === 'none' ? [] : list(o, 'peers', names, names);
  const found = all.filter((p) => chosen.includes(p.name));
  const contenders: Contender[] = [
    ...OURS.filter(([name, b]) => name === 'SIMD' || backends.has(b)).map(([name, b]) => ours(name, b)),
    ...found,
  ];
  const results = await runAll(workloads, contenders, found, time);
  const columns = contenders.map((c) => c.name);
  process.stdout.write(`\n${mediansTable(workloads, columns, results)}\n${ratiosTable(workloads, columns, results)}`);
  if (json) {
    writeAtomic(json, resultsJson(workloads, results, { machine: machine(), peers: await Promise.all(found.map((p) => p.about())) }));
    process.stderr.write(`wrote ${json}\n`);
  }
  if (plot) {
    writeAtomic(
      plot,
      barChartSvg({
        title: 'rnn-wasm bench: median time per call',
        unit: 'ms',
        bars: columns.map((name, i) => ({ name, color: COLORS[i % COLORS.length] })),
        groups: workloads.map((w) => ({ label: w.id, values: columns.map((n) => median(results, w.id, n) ?? NaN) })),
      }),
    );
    process.stderr.write(`plotted ${plot}\n`);
  }
  return EXIT.ok;
}

export function machine(): string {
  return `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores; Node ${process.version}`;
}

/**
 * Every workload on every contender, with progress on standard error. `between`, when given, runs before the
 * first workload, between any two and after the last (the repository's bench probes the cores there).
 */
export async function runAll(
  workloads: readonly Workload[],
  contenders: readonly Contender[],
  found: readonly Peer[],
  timeMs: number,
  between?: () => Promise<void>,
): Promise<Results> {
  process.stderr.write(`${machine()}\n${(await Promise.all(found.map((p) => p.about()))).join('\n')}\n`);
  const results: Results = new Map();
  const settle = await quietCores();
  for (const w of workloads) {
    await between?.();
    process.stderr.write(`${isNamed(w) ? `${w.id}: ${w.title}` : w.title}…\n`);
    results.set(w.id, await measure(w, contenders, { timeMs, settle }));
  }
  await between?.();
  return results;
}
