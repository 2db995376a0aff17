/**
 * `rnn-wasm bench` (and `npm run bench`, which runs this command): the benchmark table for chosen sizes,
 * and with --plot the same numbers as an SVG bar chart.
 */
import { type CommandSpec, commandHelp, parseCommand } from './args.js';
import { BENCH_BACKENDS, type BenchRow, DEFAULT_HIDDEN, benchmarkTable, measure } from './benchmark.js';
import { EXIT, UsageError } from './errors.js';
import { checkFolderExists, writeAtomic } from './files.js';
import { barChartSvg } from './svg.js';
import { CELLS, type CellKind } from './task.js';

export const spec: CommandSpec = {
  name: 'bench',
  usage: 'bench [options]',
  summary: 'Times unroll and one training step (forward, MSE, BPTT, SGD) on the pure-JS, WASM scalar and WASM SIMD\n'
    + 'backends in one run and prints a Markdown table of medians with the ratios between them.',
  positionals: [],
  options: {
    cells: { type: 'string', value: '<list>', help: 'cells to measure (default rnn,lstm,gru)' },
    hidden: { type: 'string', value: '<list>', help: 'hidden sizes (default rnn 32,128,256,512; lstm and gru 128,256)' },
    batch: { type: 'string', value: '<list>', help: 'batch sizes (default 1,32)' },
    input: { type: 'string', value: '<n>', help: 'input features (default 32)' },
    steps: { type: 'string', value: '<n>', help: 'time steps per sequence (default 32)' },
    time: { type: 'string', value: '<ms>', help: 'time spent on each measurement, at least 5 runs (default 300)' },
    plot: { type: 'string', value: '<file.svg>', help: 'also draw the timings as an SVG bar chart' },
  },
};

const BARS: Record<string, { name: string; color: string }> = {
  js: { name: 'pure JS', color: '#bdbdbd' },
  'wasm-scalar': { name: 'WASM scalar', color: '#6baed6' },
  'wasm-simd': { name: 'WASM SIMD', color: '#08519c' },
};

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) {
    process.stdout.write(commandHelp(spec));
    return EXIT.ok;
  }
  const o = parsed.options;
  const cells = (o.string('cells') ?? CELLS.join(',')).split(',').map((cell) => {
    if (!CELLS.includes(cell as CellKind)) throw new UsageError(`--cells takes ${CELLS.join(', ')}, got '${cell}'`);
    return cell as CellKind;
  });
  const batches = o.intList('batch', [1, 32]);
  const input = o.int('input', 32, { min: 1 });
  const steps = o.int('steps', 32, { min: 1 });
  const time = o.int('time', 300, { min: 1 });
  const plot = o.string('plot');
  if (plot !== undefined) checkFolderExists(plot);
  const rows: BenchRow[] = [];
  for (const cell of cells) {
    for (const hidden of o.intList('hidden', DEFAULT_HIDDEN[cell])) {
      for (const batch of batches) {
        process.stderr.write(`measuring ${cell} H=${hidden} B=${batch}…\n`);
        rows.push(...(await measure({ cell, hidden, batch, input, steps }, time)));
      }
    }
  }
  process.stdout.write(`\n${benchmarkTable(rows)}`);
  if (plot) {
    writeAtomic(plot, barChartSvg({
      title: `rnn-wasm: median time per call (I=${input}, T=${steps})`,
      unit: 'ms',
      bars: BENCH_BACKENDS.map((b) => BARS[b]),
      groups: rows.map((r) => ({ label: `${r.cell.toUpperCase()} ${r.job} H=${r.hidden} B=${r.batch}`, values: BENCH_BACKENDS.map((b) => r.medians[b]) })),
    }));
    process.stderr.write(`plotted ${plot}\n`);
  }
  return EXIT.ok;
}
