/**
 * `rnn-wasm demo`, which `npm start` runs: the textbook example; a character model trained before your
 * eyes on a text the project writes itself (src/cli/corpus.ts), with samples before and after; and the
 * speed of a GRU's training step on WebAssembly and on pure JS. About fifteen seconds on two cores.
 */
import { RNN } from '../index.js';
import { runnableOurs } from './bench/command.js';
import { measure, ours } from './bench/harness.js';
import { sizedWorkload } from './bench/workloads.js';
import { type CommandSpec, commandHelp, parseCommand } from './args.js';
import { demoCorpus } from './corpus.js';
import { EXIT } from './errors.js';
import { sample } from './generate.js';
import { trainSteps } from './loop.js';
import { Progress } from './progress.js';
import { type TrainSettings, createModel } from './task.js';
import { TextTask, textModel } from './text-task.js';

export const spec: CommandSpec = {
  name: 'demo',
  usage: 'demo',
  summary:
    'The tour `npm start` runs: the textbook example, a character model learning a made-up language with\n'
    + 'samples before and after training, and WebAssembly against pure JS on a GRU.',
  positionals: [],
  options: {},
};

const SETTINGS: TrainSettings = {
  cell: 'gru',
  hidden: 96,
  layers: 1,
  seqLen: 48,
  batch: 16,
  optimizer: 'adam',
  lr: 0.006,
  clip: 5,
  epochs: 12,
  steps: null,
  seed: 1,
  valSplit: 0.05,
};

export async function run(argv: readonly string[]): Promise<number> {
  if (!parseCommand(spec, argv)) {
    process.stdout.write(commandHelp(spec));
    return EXIT.ok;
  }
  const print = (line = '') => process.stdout.write(`${line}\n`);
  await textbook(print);
  await characters(print);
  await speed(print);
  print('\nYour turn: rnn-wasm train <text or CSV file>, then rnn-wasm generate or predict; rnn-wasm --help for the rest.');
  return EXIT.ok;
}

async function textbook(print: (line?: string) => void): Promise<void> {
  print('1. The textbook example: one ReLU unit, w_xh = 1.8, w_hh = -0.5, w_hy = 1.1, no biases\n');
  const net = await RNN.create({ inputSize: 1, hiddenSize: 1, nonlinearity: 'relu', outputSize: 1 });
  net.loadStateDict({
    weight_ih_l0: [[1.8]],
    weight_hh_l0: [[-0.5]],
    bias_ih_l0: [0],
    bias_hh_l0: [0],
    'head.weight': [[1.1]],
    'head.bias': [0],
  });
  const days = [
    [0, 0],
    [0, 0.5],
    [1, 1],
  ];
  // Time-major [T = 2 days, B = 3 sequences, I = 1].
  const { y } = net.unroll([days.map(([yesterday]) => [yesterday]), days.map(([, today]) => [today])]);
  days.forEach(([yesterday, today], b) => {
    print(`   yesterday ${yesterday.toFixed(1)}, today ${today.toFixed(1)}  →  tomorrow ${y.data[3 + b].toFixed(4)}`);
  });
  net.dispose();
}

async function characters(print: (line?: string) => void): Promise<void> {
  const text = demoCorpus(24_000, 7);
  const model = textModel(text);
  const task = new TextTask(model, text, SETTINGS, 'the corpus');
  const net = await createModel(SETTINGS, model);
  print(`\n2. A ${SETTINGS.cell.toUpperCase()} of ${SETTINGS.hidden} units learns a made-up language, one character at a time\n`);
  print(`   corpus: ${text.length.toLocaleString('en')} characters from a small grammar, such as`);
  print(`     ${text.split('\n')[0]}`);
  print(`   ${task.describe()}\n`);
  const show = (label: string, temperature: number) => {
    print(`   ${label}`);
    print(`     the ${sample(net, model, 'the ', { steps: 100, temperature, seed: 3 }).replace(/\n/g, ' / ')}`);
  };
  show('before training, random weights write:', 0.8);
  print();
  const run = { step: 0, losses: [], epochs: [] };
  const progress = new Progress(process.stderr, (line) => print(`   ${line}`), task.unit);
  await trainSteps({ net, task, settings: SETTINGS, run, progress, stopRequested: () => false });
  progress.finish();
  print();
  show('after training, at temperature 0.5:', 0.5);
  show('and at temperature 1 (bolder):', 1);
  net.dispose();
}

async function speed(print: (line?: string) => void): Promise<void> {
  const size = { cell: 'gru', nonlinearity: 'tanh', I: 32, H: 128, T: 32, B: 16 } as const;
  print(`\n3. WebAssembly vs pure JS: a GRU of ${size.H} units, batch ${size.B} × ${size.T} steps, median ms per call\n`);
  const backends = runnableOurs();
  const contenders = backends.map(([name, backend]) => ours(name, backend));
  print(`   ${'job'.padEnd(12)}${backends.map(([, backend]) => backend.padStart(13)).join('')}`);
  for (const job of ['forward', 'train'] as const) {
    const results = await measure(sizedWorkload({ ...size, job }), contenders, { timeMs: 300, rounds: 3 });
    const ms = backends.map(([name]) => {
      const s = results.get(name);
      if (typeof s !== 'object') throw new Error(`${name}: ${s}`);
      return s.median;
    });
    const [simd, js] = [ms[0], ms[backends.findIndex(([, backend]) => backend === 'js')]];
    print(
      `   ${(job === 'forward' ? 'unroll' : 'train step').padEnd(12)}${ms.map((m) => m.toFixed(2).padStart(13)).join('')}   wasm-simd ${(js / simd).toFixed(1)}× faster than JS`,
    );
  }
  print('\n   Every workload, with the peers installed here: rnn-wasm bench');
}
