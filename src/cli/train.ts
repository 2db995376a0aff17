/**
 * `rnn-wasm train <file>`: a text file trains a character model, a CSV of numbers a sequence regressor.
 * Checkpoints are written every --save-every steps, at the end, and when Ctrl-C (or SIGTERM) stops the run
 * between two steps; `--resume` goes on from one exactly where it stopped, with the same settings.
 */
import { createHash } from 'node:crypto';
import { basename, extname } from 'node:path';
import { type CommandSpec, type Options, commandHelp, parseCommand } from './args.js';
import { type CheckpointMeta, type RunRecord, encodeCheckpoint, readCheckpoint } from './checkpoint.js';
import { downsample, formatValue } from './chart.js';
import { parseNumericCsv } from './csv.js';
import { CliError, EXIT, UsageError } from './errors.js';
import { checkFolderExists, readText, writeAtomic } from './files.js';
import { totalSteps, trainSteps } from './loop.js';
import { Progress } from './progress.js';
import { SeriesTask, seriesModel } from './series-task.js';
import { lineChartSvg } from './svg.js';
import { CELLS, type ModelData, OPTIMIZERS, type OptimizerKind, type Task, type TrainSettings, createModel } from './task.js';
import { TextTask, textModel } from './text-task.js';
import { NonFiniteError, type RNN } from '../index.js';

/** The defaults that differ between a character model and a CSV regressor. */
const DEFAULTS = {
  text: { hidden: 128, seqLen: 64, batch: 16, clip: 5 },
  csv: { hidden: 32, seqLen: 32, batch: 32, clip: 1 },
} as const;

/** Learning rates that suit each optimizer family at these model sizes. */
const DEFAULT_LR: Record<OptimizerKind, number> = { adam: 2e-3, adamw: 2e-3, rmsprop: 2e-3, sgd: 0.1, adagrad: 0.05 };

/** What a resumed run takes from its checkpoint and may not be told otherwise. */
const FIXED_ON_RESUME = [
  'format',
  'target',
  'cell',
  'hidden',
  'layers',
  'seq-len',
  'batch',
  'optimizer',
  'lr',
  'clip',
  'seed',
  'val-split',
];

export const spec: CommandSpec = {
  name: 'train',
  usage: 'train <file> [options]',
  summary:
    'Trains a character model on a text file, or a sequence regressor on a CSV of numbers (one row per time\n'
    + 'step, optional header). Text trains as consecutive chunks of --batch streams with the state carried between\n'
    + 'chunks; a CSV as shuffled windows of --seq-len rows. Ctrl-C stops after the current step and saves.',
  positionals: ['<file>'],
  options: {
    format: { type: 'string', value: '<text|csv>', help: 'what <file> holds (default: csv for .csv and .tsv files, else text)' },
    target: {
      type: 'string',
      value: '<column>',
      help: "CSV: predict this column (name or number from 1) from the others; default: every column's next value",
    },
    cell: { type: 'string', value: '<rnn|lstm|gru>', help: 'the recurrent cell (default lstm)' },
    hidden: { type: 'string', value: '<n>', help: 'hidden size (default 128 for text, 32 for CSV)' },
    layers: { type: 'string', value: '<n>', help: 'stacked layers (default 1)' },
    'seq-len': { type: 'string', value: '<n>', help: 'steps per chunk or window (default 64 for text, 32 for CSV)' },
    batch: { type: 'string', value: '<n>', help: 'streams or windows per step (default 16 for text, 32 for CSV)' },
    optimizer: { type: 'string', value: '<name>', help: `${OPTIMIZERS.join(', ')} (default adam)` },
    lr: { type: 'string', value: '<x>', help: 'learning rate (default 0.002; sgd 0.1, adagrad 0.05)' },
    clip: { type: 'string', value: '<x>', help: "clip the gradients' global norm to this; 0 for none (default 5 for text, 1 for CSV)" },
    epochs: { type: 'string', value: '<n>', help: 'passes over the data (default 10)' },
    steps: { type: 'string', value: '<n>', help: 'stop after this many steps in all, even before the epochs are done' },
    seed: { type: 'string', value: '<n>', help: 'seed of the initial weights and the shuffling (default 0)' },
    'val-split': {
      type: 'string',
      value: '<x>',
      help: 'fraction held out for validation: the end of the text, the last windows (default 0.1)',
    },
    out: {
      type: 'string',
      short: 'o',
      value: '<file>',
      help: "checkpoint to write (default <file's name>.ckpt here; with --resume, that file)",
    },
    'save-every': { type: 'string', value: '<n>', help: 'also save every n steps; 0 saves only at the end and on Ctrl-C (default 100)' },
    resume: {
      type: 'string',
      value: '<checkpoint>',
      help: 'continue that run on the same file with its settings (--epochs and --steps may grow)',
    },
    plot: { type: 'string', value: '<file.svg>', help: 'draw the loss curve into an SVG file at the end' },
  },
};

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) return help();
  const o = parsed.options;
  const file = parsed.positionals[0];
  const resumePath = o.string('resume');
  const format = o.choice('format', ['text', 'csv'], ['.csv', '.tsv'].includes(extname(file).toLowerCase()) ? 'csv' : 'text');
  const out = o.string('out') ?? resumePath ?? `${basename(file, extname(file))}.ckpt`;
  const plot = o.string('plot');
  const saveEvery = o.int('save-every', 100, { min: 0 });
  for (const target of [out, plot]) if (target !== undefined) checkFolderExists(target);

  const text = readText(file, format === 'csv' ? 'a CSV of numbers, one row per time step' : 'a UTF-8 text file to learn from');
  const data = { file: basename(file), sha256: createHash('sha256').update(text).digest('hex') };
  const table = format === 'csv' ? parseNumericCsv(text, file) : null;

  let net: RNN | undefined;
  try {
    let meta: Pick<CheckpointMeta, 'model' | 'settings' | 'run' | 'carried'>;
    if (resumePath) {
      const fixed = o.given().filter((name) => FIXED_ON_RESUME.includes(name));
      if (fixed.length) {
        throw new UsageError(
          `--${fixed[0]} is fixed by the checkpoint ${resumePath} when resuming; leave it out `
            + '(--epochs, --steps, --out, --save-every and --plot may change)',
        );
      }
      const loaded = await readCheckpoint(resumePath);
      net = loaded.net;
      meta = loaded.meta;
      checkSameData(loaded.meta, format, data, file, resumePath);
      meta.settings = {
        ...meta.settings,
        epochs: o.int('epochs', meta.settings.epochs, { min: 1 }),
        steps: stepsOption(o, meta.settings.steps),
      };
    } else {
      const model: ModelData = table ? seriesModel(table, o.string('target'), file) : textModel(text);
      meta = { model, settings: settingsFrom(o, format), run: { step: 0, losses: [], epochs: [] }, carried: null };
    }
    // The task checks that the data suits the settings, before a new model is made for it.
    const task = makeTask(meta.model, meta.settings, text, table, file);
    net ??= await createModel(meta.settings, meta.model);
    return await train(net, meta, task, { file, out, plot, saveEvery, data, resumePath });
  } finally {
    net?.dispose();
  }
}

function help(): number {
  process.stdout.write(commandHelp(spec));
  return EXIT.ok;
}

interface Destination {
  /** The training file's path as given. */
  file: string;
  out: string;
  plot: string | undefined;
  saveEvery: number;
  data: CheckpointMeta['data'];
  resumePath: string | undefined;
}

async function train(
  net: RNN,
  meta: Pick<CheckpointMeta, 'model' | 'settings' | 'run' | 'carried'>,
  task: Task,
  d: Destination,
): Promise<number> {
  const { model, settings, run } = meta;
  task.restore(meta.carried);
  const total = totalSteps(settings, task);
  if (run.step >= total) {
    throw new UsageError(
      `${d.resumePath} is at step ${run.step} already, and its --epochs and --steps allow ${total}; raise them to go on`,
    );
  }
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const layers = `${settings.layers} layer${settings.layers > 1 ? 's' : ''}`;
  print(
    `model     ${settings.cell.toUpperCase()}, ${layers} of ${settings.hidden}, ${net.numParameters.toLocaleString('en')} parameters, on ${net.backend}`,
  );
  print(`data      ${d.file}: ${task.describe()}`);
  const all = settings.epochs * task.stepsPerEpoch;
  const n = (count: number) => count.toLocaleString('en');
  const epochs = `${n(settings.epochs)} epoch${settings.epochs > 1 ? 's' : ''} of ${n(task.stepsPerEpoch)}`;
  print(
    `training  ${total < all ? `${n(total)} of ${n(all)} steps (${epochs}; --steps ${total} stops early)` : `${n(total)} steps (${epochs})`}, `
      + `${settings.optimizer} lr ${settings.lr}${settings.clip ? `, clip ${settings.clip}` : ''}, seed ${settings.seed}`
      + (run.step ? `; resuming at step ${run.step}` : ''),
  );
  print(`saving    ${d.out}${d.saveEvery ? ` every ${d.saveEvery} steps,` : ''} at the end and on Ctrl-C`);

  let savedStep: number | null = null;
  const save = () => {
    writeAtomic(d.out, encodeCheckpoint(net, { model, settings, data: d.data, run, carried: task.carried() }));
    savedStep = run.step;
  };
  const progress = new Progress(process.stderr, print, task.unit);
  let signal: NodeJS.Signals | null = null;
  const onSignal = (received: NodeJS.Signals) => {
    if (signal) {
      // A second Ctrl-C while a step runs: stop at once. Saving writes whole files only, so nothing is half-written.
      process.removeListener('SIGINT', onSignal).removeListener('SIGTERM', onSignal);
      process.kill(process.pid, received);
      return;
    }
    signal = received;
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    await trainSteps({
      net,
      task,
      settings,
      run,
      progress,
      checkpoint: { every: d.saveEvery, save },
      stopRequested: () => signal !== null,
    });
  } catch (error) {
    progress.finish();
    if (!(error instanceof NonFiniteError)) throw error;
    // The library refused the update, so the weights are still good, but the next step would fail the same way.
    const kept = savedStep === null ? 'no checkpoint was written' : `${d.out} holds step ${savedStep}`;
    throw new CliError(
      `the loss or a gradient became infinite at step ${run.step + 1} (${kept}); train again with a lower --lr or a --clip`,
    );
  } finally {
    process.removeListener('SIGINT', onSignal).removeListener('SIGTERM', onSignal);
  }
  save();
  progress.finish();
  if (d.plot && run.losses.length) {
    writeAtomic(d.plot, lossPlot(run, task, model, settings, d.file));
    print(`plotted   ${d.plot}`);
  }
  const recent = run.losses.slice(-Math.min(run.losses.length, task.stepsPerEpoch));
  const loss = recent.length
    ? ` (loss ${formatValue(run.losses[0])} → ${formatValue(recent.reduce((a, b) => a + b, 0) / recent.length)})`
    : '';
  print(`saved     ${d.out} at step ${run.step} of ${total}${loss}`);
  if (signal) {
    print(
      `stopped by ${signal === 'SIGINT' ? 'Ctrl-C' : signal}; go on with: rnn-wasm train ${shellQuote(d.file)} --resume ${shellQuote(d.out)}`,
    );
    return signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated;
  }
  print(
    model.kind === 'text'
      ? `try       rnn-wasm generate ${shellQuote(d.out)}`
      : `try       rnn-wasm predict ${shellQuote(d.out)} ${shellQuote(d.file)}`,
  );
  return EXIT.ok;
}

/** A path as a shell would need it typed. */
function shellQuote(path: string): string {
  return /^[\w./@%+=:,-]+$/.test(path) ? path : `'${path.replace(/'/g, "'\\''")}'`;
}

function makeTask(
  model: ModelData,
  settings: TrainSettings,
  text: string,
  table: ReturnType<typeof parseNumericCsv> | null,
  file: string,
): Task {
  if (model.kind === 'text') return new TextTask(model, text, settings, file);
  return new SeriesTask(model, table!, settings, file);
}

function settingsFrom(o: Options, format: 'text' | 'csv'): TrainSettings {
  const d = DEFAULTS[format];
  const optimizer = o.choice('optimizer', OPTIMIZERS, 'adam');
  if (format === 'text' && o.has('target'))
    throw new UsageError('--target picks a CSV column; a text file has none (or pass --format csv)');
  return {
    cell: o.choice('cell', CELLS, 'lstm'),
    hidden: o.int('hidden', d.hidden, { min: 1, max: 4096 }),
    layers: o.int('layers', 1, { min: 1, max: 16 }),
    seqLen: o.int('seq-len', d.seqLen, { min: 1 }),
    batch: o.int('batch', d.batch, { min: 1 }),
    optimizer,
    lr: o.number('lr', DEFAULT_LR[optimizer], { min: 0, above: true }),
    clip: o.number('clip', d.clip, { min: 0 }),
    epochs: o.int('epochs', 10, { min: 1 }),
    steps: stepsOption(o, null),
    seed: o.int('seed', 0, { min: 0, max: 2 ** 32 - 1 }),
    valSplit: o.number('val-split', 0.1, { min: 0, max: 1, below: true }),
  };
}

function stepsOption(o: Options, fallback: number | null): number | null {
  return o.has('steps') ? o.int('steps', 0, { min: 1 }) : fallback;
}

/** A resumed run must see the data it started on, or its position in that data means nothing. */
function checkSameData(meta: CheckpointMeta, format: 'text' | 'csv', data: CheckpointMeta['data'], file: string, path: string): void {
  const kind = meta.model.kind === 'text' ? 'text' : 'csv';
  if (kind !== format) {
    throw new CliError(
      `${path} is a ${kind === 'text' ? 'character model' : 'CSV model'}; it cannot go on training on ${format === 'csv' ? 'a CSV' : 'text'} (${file})`,
    );
  }
  if (meta.data.sha256 !== data.sha256) {
    throw new CliError(
      `${file} is not the data ${path} was trained on (${meta.data.file}, whose contents differ); `
        + '--resume needs the same file, unchanged',
    );
  }
}

/** Every step's loss (averaged down to a few hundred points), a smoothed curve, and the validation loss per epoch. */
function lossPlot(run: RunRecord, task: Task, model: ModelData, settings: TrainSettings, file: string): string {
  const curve = (values: number[], points: number) => {
    const means = downsample(values, points);
    const width = values.length / means.length;
    return means.map((v, i) => [(i + 0.5) * width + 0.5, v] as const);
  };
  const validation = run.epochs.filter((e) => e.valLoss !== undefined).map((e) => [e.epoch * task.stepsPerEpoch, e.valLoss!] as const);
  return lineChartSvg({
    title: `Training loss: ${settings.cell.toUpperCase()} ${settings.hidden} on ${file}`,
    xLabel: 'step',
    yLabel: model.kind === 'text' ? 'cross-entropy per character (nats)' : 'mean squared error (normalised units)',
    series: [
      { name: 'loss per step', points: curve(run.losses, 600), color: '#9ecae1', strokeWidth: 1 },
      { name: 'smoothed', points: curve(run.losses, 40), color: '#08519c', strokeWidth: 2.5 },
      ...(validation.length ? [{ name: 'validation', points: validation, color: '#e6550d', dots: true }] : []),
    ],
  });
}
