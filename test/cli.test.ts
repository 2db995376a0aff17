/**
 * The `rnn-wasm` command, run for real in child processes on small files: train a few steps, resume bit for
 * bit, generate, predict, bench, info; and every kind of bad input answered by one line that says what to
 * fix, the right exit code, and no checkpoint left behind. (The terminal view and Ctrl-C: cli-tty.test.ts.)
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoCorpus } from '../src/cli/corpus.js';
import { RNN } from '../src/index.js';
import { cli } from './cli-run.js';
import { RELAXED_SIMD_FLAGS } from './helpers.js';

let dir: string;
const at = (name: string) => join(dir, name);
const run = (...args: string[]) => cli(args, dir);

/** A tiny character model's settings: a few milliseconds per step. */
const TINY = ['--hidden', '12', '--batch', '4', '--seq-len', '16'];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rnn-wasm-cli-'));
  writeFileSync(at('story.txt'), demoCorpus(3000, 1));
  const rows = Array.from({ length: 120 }, (_, i) => {
    const t = i * 0.2;
    return `${(20 + 5 * Math.sin(t)).toFixed(3)},${(100 + 30 * Math.sin(t - 0.5)).toFixed(3)}`;
  });
  writeFileSync(at('series.csv'), `temp,load\n${rows.join('\n')}\n`);
  // The checkpoints that generate, predict and the bad-input cases use.
  const made = await Promise.all([
    run('train', 'story.txt', ...TINY, '--steps', '4', '--out', 'story.ckpt'),
    run('train', 'series.csv', '--hidden', '8', '--seq-len', '8', '--batch', '8', '--steps', '4', '--out', 'next.ckpt'),
    run('train', 'series.csv', '--target', 'load', '--hidden', '8', '--seq-len', '8', '--steps', '4', '--out', 'target.ckpt'),
  ]);
  for (const r of made) expect(r.stderr).toBe('');
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rnn-wasm train', () => {
  it('trains a character model on a text file: a summary, status, a loss curve, a checkpoint and an SVG plot', async () => {
    const r = await run('train', 'story.txt', ...TINY, '--steps', '5', '--save-every', '2', '--plot', 'loss.svg', '--out', 'a.ckpt');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^model {5}LSTM, 1 layer of 12, [\d,]+ parameters, on wasm-simd$/m);
    expect(r.stdout).toMatch(/^data {6}story\.txt: [\d,]+ characters \(\d+ distinct\) in 4 streams/m);
    expect(r.stdout).toMatch(/^epoch 1\/10 {2}step 5\/5 {2}loss [\d.]+ {2}[\d.]+k? tok\/s {2}ETA 0:00$/m);
    expect(r.stdout).toMatch(/┤[⠀-⣿]{60}$/m);
    expect(r.stdout).toMatch(/^saved {5}a\.ckpt at step 5 of 5 \(loss [\d.]+ → [\d.]+\)$/m);
    const svg = readFileSync(at('loss.svg'), 'utf8');
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg.match(/<polyline /g)).toHaveLength(2); // per step and smoothed; no epoch ended, so no validation
  }, 30_000);

  it('resumes bit for bit: 3 steps, then --resume to 7, equals 7 steps at once (across an epoch end and its validation)', async () => {
    const settings = [...TINY, '--batch', '16', '--seq-len', '32'];
    const [whole, half] = await Promise.all([
      run('train', 'story.txt', ...settings, '--steps', '7', '--out', 'whole.ckpt'),
      run('train', 'story.txt', ...settings, '--steps', '3', '--out', 'half.ckpt'),
    ]);
    expect([whole.code, half.code]).toEqual([0, 0]);
    expect(whole.stdout).toContain('7 of 60 steps (10 epochs of 6;');
    const resumed = await run('train', 'story.txt', '--resume', 'half.ckpt', '--steps', '7');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('resuming at step 3');
    expect(resumed.stdout).toMatch(/^epoch 1\/10 {2}loss [\d.]+ {2}val [\d.]+/m);
    expect(Buffer.compare(readFileSync(at('half.ckpt')), readFileSync(at('whole.ckpt')))).toBe(0);
  }, 30_000);

  it('trains a CSV regressor on the next values, or on a --target column, in sequences per second', async () => {
    const r = await run('train', 'series.csv', '--hidden', '8', '--seq-len', '8', '--batch', '8', '--epochs', '1', '--out', 'csv.ckpt');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'series.csv: 112 windows of 8 rows predicting the next value of all 2 columns: 13 steps per epoch of 8; '
        + 'the last 11 windows held out for validation',
    );
    expect(r.stdout).toMatch(/^epoch 1\/1 {2}loss [\d.]+ {2}val [\d.]+ {2}\([\d.]+ s, [\d.]+k? seq\/s\)$/m);
    const t = await run('train', 'series.csv', '--target', '1', '--steps', '1', '--hidden', '4', '--out', 'temp.ckpt');
    expect(t.stdout).toContain("predicting 'temp' from 'load'");
  }, 30_000);
});

describe('rnn-wasm generate', () => {
  it('continues a prompt with --length sampled characters, the same for the same --seed', async () => {
    const [a, b, c] = await Promise.all([
      run('generate', 'story.ckpt', '--prompt', 'the ', '--length', '40', '--seed', '5'),
      run('generate', 'story.ckpt', '--prompt', 'the ', '--length', '40', '--seed', '5'),
      run('generate', 'story.ckpt', '--prompt', 'the ', '--length', '40', '--seed', '6', '--temperature', '1.5'),
    ]);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/^the [\s\S]{40}\n$/);
    expect(b.stdout).toBe(a.stdout);
    expect(c.stdout).not.toBe(a.stdout);
    const fallback = await run('generate', 'story.ckpt', '-n', '10');
    expect(fallback.stdout).toMatch(/^[\s\S]{11}\n$/); // the training text's first character, then 10 more
  }, 30_000);
});

describe('rnn-wasm predict', () => {
  it("forecasts the rows after the file's last, in the file's units", async () => {
    const r = await run('predict', 'next.ckpt', 'series.csv', '--ahead', '3');
    expect(r.code).toBe(0);
    const [header, ...rows] = r.stdout.trim().split('\n');
    expect(header).toBe('temp,load');
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      const [temp, load] = row.split(',').map(Number);
      expect(temp).toBeGreaterThan(0); // normalised units would be near 0; these are back in degrees and load
      expect(load).toBeGreaterThan(20);
    }
  }, 30_000);

  it("predicts a --target model's column at every row, with its error against the file on standard error", async () => {
    const r = await run('predict', 'target.ckpt', 'series.csv');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('load');
    expect(lines.slice(1).map(Number).every(Number.isFinite)).toBe(true);
    expect(lines).toHaveLength(121);
    expect(r.stderr).toMatch(/^RMSE against series\.csv's 'load' column: [\d.]+ over 120 rows\n$/);
  }, 30_000);
});

describe('bad input: one line that says what to fix, an exit code, and no checkpoint left behind', () => {
  beforeAll(async () => {
    writeFileSync(at('empty.txt'), '');
    writeFileSync(at('blank.txt'), ' \n\n');
    writeFileSync(at('image.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
    writeFileSync(at('latin1.txt'), Buffer.from('caf\xe9 au lait', 'latin1'));
    writeFileSync(at('ragged.csv'), 'a,b\n1,2\n3\n4,5\n');
    writeFileSync(at('words.csv'), 'a,b\n1,2\n3,four\n');
    writeFileSync(at('hole.csv'), '1,2\n3,\n');
    writeFileSync(at('other.csv'), 'x,y,z\n1,2,3\n4,5,6\n');
    // Checkpoints rewritten through the library: the command line's metadata is JSON under one key.
    const net = await RNN.load(at('story.ckpt'));
    const meta = JSON.parse(net.metadata['rnn-wasm-cli']);
    const rewrite = (name: string, changed: object) =>
      writeFileSync(at(name), net.save({ metadata: { 'rnn-wasm-cli': JSON.stringify(changed) } }));
    rewrite('newer.ckpt', { ...meta, format: 3 });
    // The metadata of a model with one character less, around this model: they do not belong together.
    rewrite('mixed.ckpt', { ...meta, model: { ...meta.model, vocab: meta.model.vocab.slice(1), start: meta.model.vocab[1] } });
    writeFileSync(at('plain.ckpt'), net.save({ metadata: {} }));
    net.dispose();
    writeFileSync(at('cut.ckpt'), readFileSync(at('story.ckpt')).subarray(0, 200));
    writeFileSync(at('old.ckpt'), Buffer.concat([Buffer.from('RNNW-CLI'), Buffer.from([1, 0, 0, 0, 2, 0, 0, 0]), Buffer.from('{}')]));
  });

  const cases: [string, string[], number, RegExp][] = [
    ['a missing file', ['train', 'nowhere.txt'], 1, /^nowhere\.txt does not exist; give a UTF-8 text file to learn from$/],
    ['an empty file', ['train', 'empty.txt'], 1, /^empty\.txt is empty; give a UTF-8 text file/],
    ['a file of whitespace', ['train', 'blank.txt'], 1, /^blank\.txt holds only whitespace/],
    ['a binary file', ['train', 'image.png'], 1, /^image\.png looks binary \(a zero byte at offset 8\); give a UTF-8 text file/],
    ['text in another encoding', ['train', 'latin1.txt'], 1, /^latin1\.txt is not UTF-8 text \(binary, or another encoding\)/],
    ['a folder', ['train', '.'], 1, /^\. is a folder/],
    [
      'a ragged CSV',
      ['train', 'ragged.csv'],
      1,
      /^ragged\.csv line 3 has 1 cell but the header has 2; every row needs the same 2 columns$/,
    ],
    [
      'a non-numeric cell',
      ['train', 'words.csv'],
      1,
      /^words\.csv line 3, column 'b': 'four' is not a number; every cell below the header must be a number$/,
    ],
    ['an empty cell', ['train', 'hole.csv'], 1, /^hole\.csv line 2, column 2 is empty; fill in every cell/],
    [
      'a text model given to predict',
      ['predict', 'story.ckpt', 'series.csv'],
      1,
      /^story\.ckpt is a character model, which writes text; use rnn-wasm generate story\.ckpt$/,
    ],
    [
      'a CSV model given to generate',
      ['generate', 'next.ckpt'],
      1,
      /^next\.ckpt is a CSV model, which predicts numbers, not text; use rnn-wasm predict/,
    ],
    [
      'a text model resumed on a CSV',
      ['train', 'series.csv', '--resume', 'story.ckpt', '--out', 'x.ckpt'],
      1,
      /^story\.ckpt is a character model; it cannot go on training on a CSV/,
    ],
    [
      'a model resumed on other data',
      ['train', 'other.csv', '--resume', 'next.ckpt', '--out', 'x.ckpt'],
      1,
      /^other\.csv is not the data next\.ckpt was trained on \(series\.csv/,
    ],
    [
      "a CSV without the model's columns",
      ['predict', 'next.ckpt', 'other.csv'],
      1,
      /^other\.csv has no column 'temp'; the model reads 'temp', 'load'$/,
    ],
    [
      'a checkpoint from a newer version',
      ['generate', 'newer.ckpt'],
      1,
      /^newer\.ckpt was written by a newer rnn-wasm \(checkpoint format 3; rnn-wasm [\d.]+ reads format 2\); upgrade rnn-wasm/,
    ],
    [
      'a checkpoint from an earlier version',
      ['generate', 'old.ckpt'],
      1,
      /^old\.ckpt is a checkpoint of an earlier rnn-wasm \(format 1; rnn-wasm [\d.]+ reads format 2\); train again/,
    ],
    [
      'a truncated checkpoint',
      ['generate', 'cut.ckpt'],
      1,
      /^cut\.ckpt is damaged \(safetensors: the header length is \d+ bytes, but only 192 bytes/,
    ],
    [
      "a library checkpoint without the command's metadata",
      ['predict', 'plain.ckpt', 'series.csv'],
      1,
      /^plain\.ckpt is a checkpoint of the rnn-wasm library without rnn-wasm train's metadata/,
    ],
    [
      'metadata of another model',
      ['generate', 'mixed.ckpt'],
      1,
      /^mixed\.ckpt: its model and its metadata belong to different models \(inputs: the model has \d+, the metadata says \d+\)/,
    ],
    [
      'a file that is not a checkpoint',
      ['generate', 'story.txt'],
      1,
      /^story\.txt is not an rnn-wasm checkpoint; give a file written by rnn-wasm train$/,
    ],
    [
      'a vocabulary for a character model',
      ['generate', 'story.ckpt', '--vocab', 'vocab.json'],
      2,
      /^--vocab is for word models from PyTorch; story\.ckpt is a character model of rnn-wasm train, with its vocabulary inside$/,
    ],
    [
      'a prompt with unknown characters',
      ['generate', 'story.ckpt', '--prompt', 'The Zoo'],
      1,
      /^--prompt has 2 characters the model never saw \("T", "Z"\)/,
    ],
    [
      'an unknown option',
      ['train', 'story.txt', '--hiden', '8'],
      2,
      /^no option --hiden; did you mean --hidden\? \(rnn-wasm train --help lists them\)$/,
    ],
    ['a zero hidden size', ['train', 'story.txt', '--hidden', '0'], 2, /^--hidden must be ≥ 1 and ≤ 4096, got '0'$/],
    ['a learning rate that is not a number', ['train', 'story.txt', '--lr', 'fast'], 2, /^--lr must be a number, got 'fast'$/],
    ['an unknown cell', ['train', 'story.txt', '--cell', 'transformer'], 2, /^--cell must be one of rnn, lstm, gru, got 'transformer'$/],
    [
      'more streams than characters',
      ['train', 'story.txt', '--batch', '5000'],
      2,
      /^story\.txt has [\d,]+ characters to train on, too few for --batch 5000 streams/,
    ],
    [
      'windows longer than the series',
      ['train', 'series.csv', '--seq-len', '500'],
      2,
      /^series\.csv has 120 rows; --seq-len 500 needs at least 501/,
    ],
    ['a validation split of everything', ['train', 'story.txt', '--val-split', '1'], 2, /^--val-split must be ≥ 0 and < 1, got '1'$/],
    [
      'a target column that is not there',
      ['train', 'series.csv', '--target', 'price'],
      2,
      /^--target 'price' is not a column of series\.csv \('temp', 'load'\)/,
    ],
    ['a target for a text', ['train', 'story.txt', '--target', 'x'], 2, /^--target picks a CSV column; a text file has none/],
    [
      'a model setting changed on resume',
      ['train', 'story.txt', '--resume', 'story.ckpt', '--hidden', '64'],
      2,
      /^--hidden is fixed by the checkpoint story\.ckpt when resuming/,
    ],
    [
      'a resume with nothing left to do',
      ['train', 'story.txt', '--resume', 'story.ckpt'],
      2,
      /^story\.ckpt is at step 4 already, and its --epochs and --steps allow 4; raise them to go on$/,
    ],
    [
      'a learning rate that diverges',
      ['train', 'series.csv', '--cell', 'rnn', '--optimizer', 'sgd', '--lr', '1e30', '--clip', '0', '--out', 'nan.ckpt'],
      1,
      /^the loss or a gradient became infinite at step \d+ \(no checkpoint was written\); train again with a lower --lr or a --clip$/,
    ],
    [
      'a checkpoint in a missing folder',
      ['train', 'story.txt', '--out', 'nowhere/x.ckpt'],
      2,
      /^cannot write nowhere\/x\.ckpt: the folder nowhere does not exist$/,
    ],
    ['an unknown workload', ['bench', '--workloads', 'W1,W9'], 2, /^--workloads takes W0, W1, W2, W3, W4, W5, W6, W7, S1, R1, got 'W9'$/],
    [
      'workloads both named and sized',
      ['bench', '--workloads', 'W1', '--hidden', '8'],
      2,
      /^--workloads names workloads and --hidden sizes them: give one or the other$/,
    ],
    ['a missing argument', ['predict', 'next.ckpt'], 2, /^missing <csv> \(usage: rnn-wasm predict <checkpoint> <csv> \[options\]\)$/],
  ];

  it.concurrent.each(cases)(
    '%s',
    async (_, args, code, message) => {
      const before = new Set(readdirSync(dir));
      const out =
        args[0] === 'train' && !args.includes('--out') && !args.includes('--resume') ? `${args[1].replace(/\.\w+$/, '')}.ckpt` : null;
      const r = await run(...args);
      expect(r.code, r.stderr).toBe(code);
      const lines = r.stderr.split('\n');
      expect(lines, r.stderr).toHaveLength(2); // one line and its newline
      expect(lines[0].startsWith(`rnn-wasm ${args[0]}: `), lines[0]).toBe(true);
      expect(lines[0].slice(`rnn-wasm ${args[0]}: `.length)).toMatch(message);
      const after = readdirSync(dir).filter((name) => !before.has(name));
      expect(after, 'files left behind').toEqual([]);
      if (out) expect(existsSync(at(out))).toBe(before.has(out));
    },
    30_000,
  );
});

describe('rnn-wasm bench, info and help', () => {
  it('bench times every backend on the same work, says which peers are missing, and writes JSON and an SVG chart', async () => {
    const r = await run(
      'bench',
      '--cells',
      'gru',
      '--hidden',
      '8',
      '--batch',
      '2',
      '--input',
      '4',
      '--steps',
      '4',
      '--time',
      '5',
      '--plot',
      'bench.svg',
      '--json',
      'bench.json',
    );
    expect(r.code, r.stderr).toBe(0);
    // The relaxed build where the command's plain node has relaxed SIMD (not Node 20's).
    const relaxed = RELAXED_SIMD_FLAGS.length ? '' : ' relaxed |';
    expect(r.stdout).toContain(`| workload | SIMD |${relaxed} scalar | JS backend | onnxruntime-web | tfjs-wasm | brain.js |`);
    const number = String.raw`[\d.]+ ±[\d.]+`;
    // onnxruntime-web is found when installed beside the library (a devDependency of this repository, for the ONNX tests).
    expect(r.stdout).toMatch(
      new RegExp(`^\\| GRU I=4 H=8 T=4 B=2, forward \\| ${number} \\| ${number} \\| ${number} \\| (?:–|${number}) \\| – \\| – \\|$`, 'm'),
    );
    expect(r.stdout).toMatch(/^\| GRU \+ Linear\(8→1\) I=4 H=8 T=4 B=2, train step \(SGD\) \|/m);
    expect(r.stdout).toContain('- tfjs-wasm, GRU H=8 B=2 forward, GRU H=8 B=2 train: not installed');
    expect(r.stdout).toMatch(/^\| GRU H=8 B=2 train \| [\d.]+ \| [\d.]+ \| [\d.]+× \| [\d.]+× \| – \| – \| – \|$/m);
    const json = JSON.parse(readFileSync(at('bench.json'), 'utf8'));
    expect(json.workloads.map((w: { id: string }) => w.id)).toEqual(['GRU H=8 B=2 forward', 'GRU H=8 B=2 train']);
    expect(json.workloads[0].results.SIMD.median).toBeGreaterThan(0);
    expect(json.workloads[0].results['tfjs-wasm'].skipped).toMatch(/^not installed/);
    const svg = readFileSync(at('bench.svg'), 'utf8');
    expect(svg).toContain('GRU H=8 B=2 train');
    // A labelled bar for each of two jobs × three backends, and onnxruntime-web's forward where it is installed.
    expect(svg.match(/<text [^>]*font-size="10"/g)?.length).toBe(json.workloads[0].results['onnxruntime-web'].median ? 7 : 6);
  }, 30_000);

  it('bench finds a peer installed in the current project, and times it only when its output is ours', async () => {
    // A stand-in for brain.js's RNNTimeStep (weights, equations, runInput): honest in one folder, with tanh for
    // ReLU in another.
    const fake = (activation: string) => `
      const relu = (v) => ${activation};
      class RNNTimeStep {
        constructor({ inputSize, hiddenLayers: [H], outputSize }) { Object.assign(this, { I: inputSize, H, O: outputSize }); }
        initialize() {
          const m = (rows, columns) => ({ rows, columns, weights: new Float32Array(rows * columns) });
          const { I, H, O } = this;
          this.model = { hiddenLayers: [{ weight: m(H, I), transition: m(H, H), bias: m(H, 1) }], outputConnector: m(O, H), output: m(O, 1), equations: [] };
        }
        bindEquation() {
          const t = this.model.equations.length, { I, H, O, model } = this, L = model.hiddenLayers[0];
          const h = new Float32Array(H), y = { weights: new Float32Array(O) };
          model.equations.push({ h, runInput: (x) => {
            const prev = t ? model.equations[t - 1].h : new Float32Array(H);
            for (let j = 0; j < H; j++) {
              let a = L.bias.weights[j];
              for (let k = 0; k < I; k++) a += L.weight.weights[j * I + k] * x[k];
              for (let k = 0; k < H; k++) a += L.transition.weights[j * H + k] * prev[k];
              h[j] = relu(a);
            }
            for (let o = 0; o < O; o++) {
              y.weights[o] = model.output.weights[o];
              for (let k = 0; k < H; k++) y.weights[o] += model.outputConnector.weights[o * H + k] * h[k];
            }
            return y;
          } });
        }
      }
      module.exports = { recurrent: { RNNTimeStep } };`;
    for (const [folder, activation] of [
      ['honest', 'Math.max(0, v)'],
      ['wrong', 'Math.tanh(v)'],
    ]) {
      mkdirSync(at(`${folder}/node_modules/brain.js`), { recursive: true });
      writeFileSync(
        at(`${folder}/node_modules/brain.js/package.json`),
        '{ "name": "brain.js", "version": "0.0.0-fake", "main": "index.js" }',
      );
      writeFileSync(at(`${folder}/node_modules/brain.js/index.js`), fake(activation));
    }
    const args = [
      'bench',
      '--cells',
      'rnn',
      '--nonlinearity',
      'relu',
      '--hidden',
      '8',
      '--batch',
      '2',
      '--input',
      '4',
      '--steps',
      '5',
      '--jobs',
      'forward',
      '--backends',
      'wasm-simd',
      '--peers',
      'brain.js',
      '--time',
      '5',
    ];
    const [honest, wrong] = await Promise.all([cli(args, at('honest')), cli(args, at('wrong'))]);
    expect(honest.code, honest.stderr).toBe(0);
    expect(honest.stderr).toContain('brain.js 0.0.0-fake');
    expect(honest.stdout).toMatch(/^\| RNN relu I=4 H=8 T=5 B=2, forward \| [\d.]+ ±[\d.]+ \| [\d.]+ ±[\d.]+ \|$/m);
    expect(honest.stdout).toMatch(/^\| RNN relu H=8 B=2 forward \| [\d.]+ \| [\d.]+ \| [\d.]+× \|$/m);
    expect(wrong.code, wrong.stderr).toBe(0);
    expect(wrong.stdout).toMatch(/^\| RNN relu I=4 H=8 T=5 B=2, forward \| [\d.]+ ±[\d.]+ \| – \|$/m);
    expect(wrong.stdout).toMatch(
      /^- brain\.js, RNN relu H=8 B=2 forward: output check failed: outputs differ from this library's by up to /m,
    );
  }, 30_000);

  it('info tells which backend this machine runs and why', async () => {
    const r = await run('info');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^WebAssembly SIMD +yes/m);
    // The command runs in a plain node: on Node 20 that is one without relaxed SIMD.
    if (RELAXED_SIMD_FLAGS.length) {
      expect(r.stdout).toMatch(/^relaxed SIMD +no \(Node 20 has it behind --experimental-wasm-relaxed-simd\)$/m);
      expect(r.stdout).toMatch(
        /^default backend +wasm-simd: backend 'wasm' takes the SIMD build where the engine has SIMD but not relaxed SIMD$/m,
      );
      expect(r.stdout).toMatch(/relaxed +\S*rnn-relaxed\.wasm +[\d.]+ kB +not usable here \(no relaxed SIMD\)/);
    } else {
      expect(r.stdout).toMatch(/^relaxed SIMD +yes/m);
      expect(r.stdout).toMatch(/^default backend +wasm-relaxed: /m);
      expect(r.stdout).toMatch(/relaxed +\S*rnn-relaxed\.wasm +[\d.]+ kB +loads in \d+ ms/);
    }
    expect(r.stdout).toMatch(/simd +\S*rnn-simd\.wasm +[\d.]+ kB +loads in \d+ ms/);
  }, 30_000);

  it('lists its commands, each command its options, and its version', async () => {
    const [help, trainHelp, version, none, typo] = await Promise.all([
      run('--help'),
      run('train', '--help'),
      run('--version'),
      run(),
      run('trian', 'x'),
    ]);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    for (const command of ['train', 'generate', 'predict', 'bench', 'info', 'demo'])
      expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(trainHelp.stdout).toMatch(/^usage: rnn-wasm train <file> \[options\]$/m);
    for (const option of [
      '--cell',
      '--hidden',
      '--layers',
      '--seq-len',
      '--batch',
      '--optimizer',
      '--lr',
      '--clip',
      '--epochs',
      '--seed',
      '--val-split',
      '--save-every',
      '--resume',
      '--plot',
      '--target',
    ])
      expect(trainHelp.stdout).toContain(option);
    expect(version.stdout).toMatch(/^rnn-wasm \d+\.\d+\.\d+\n$/);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^usage: rnn-wasm <command>/);
    expect(typo).toMatchObject({ code: 2, stdout: '' });
    expect(typo.stderr).toMatch(/^rnn-wasm: there is no command 'trian'; the commands are train, generate/);
  }, 30_000);
});
