/**
 * The README's examples run as written and learn what they claim to, so the documentation cannot rot.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (file: string, ...args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', file, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });

/** The first and last loss of the line `loss A → B`. */
const losses = (output: string) =>
  output
    .match(/loss ([\d.e+-]+) → ([\d.e+-]+)/)!
    .slice(1)
    .map(Number);

describe('examples', { timeout: 60_000 }, () => {
  it("keras-import: a tfjs model with tfjs's outputs, trained on, out as ONNX and back the same", () => {
    const out = run('examples/keras-import.ts');
    expect(Number(out.match(/largest difference from tfjs's predict: ([\d.e+-]+)/)![1])).toBeLessThan(1e-5);
    const [first, last] = losses(out);
    expect(last).toBeLessThan(first);
    expect(out).toMatch(/ONNX: \d+ bytes, read back the same model/);
  });

  it("quick-start: the README's first program prints the textbook 0.99", () => {
    expect(run('examples/quick-start.ts').trim()).toBe('0.99');
  });

  it('lstm-adder: an LSTM learns running sums', () => {
    const out = run('examples/lstm-adder.ts');
    const [first, last] = losses(out);
    expect(last).toBeLessThan(first / 100);
    const sums = out
      .match(/0\.3, 0\.25, -0\.4, 0\.1: (.*)/)![1]
      .split(', ')
      .map(Number);
    [0.3, 0.55, 0.15, 0.25].forEach((exact, i) => expect(Math.abs(sums[i] - exact)).toBeLessThan(0.05));
  });

  it('gru-chars: a GRU character model learns the text and samples from it', () => {
    const out = run('examples/gru-chars.ts');
    const [first, last] = losses(out);
    expect(last).toBeLessThan(first / 5);
    expect(out).toMatch(/^the .{60}$/m);
  });

  it('word-lm: the PyTorch word model continues each prompt with the words PyTorch chose, greedily', () => {
    const fixture = JSON.parse(readFileSync(`${root}test/fixtures/models/wordlm_lstm_tied_sgd.json`, 'utf8'));
    const { prompt_words: prompts, expected, steps } = fixture.generate;
    const B = expected.shape[1];
    expect(prompts.length).toBe(B);
    for (let b = 0; b < B; b++) {
      const prompt = prompts[b].join(' ');
      // generate.expected is [steps, B] token ids: column b continues prompt b.
      const words = Array.from({ length: steps }, (_, t) => fixture.vocab[expected.data[t * B + b]] as string);
      const text = [...prompts[b], ...words].join(' ').replace(/ ?<eos> ?/g, '\n');
      expect(run('examples/word-lm.ts', '--prompt', prompt, '--steps', String(steps))).toBe(`${text}\n`);
    }
  });

  it('sentiment: an embedding + bidirectional LSTM classifier on final states learns from sentences of different lengths', () => {
    const out = run('examples/sentiment.ts');
    const accuracy = (when: string) => Number(out.match(new RegExp(`accuracy ${when} training: ([\\d.]+)`))![1]);
    expect(accuracy('before')).toBeLessThan(0.7);
    expect(accuracy('after')).toBeGreaterThanOrEqual(0.9);
    const [first, last] = losses(out);
    expect(last).toBeLessThan(first / 10);
    expect(out).toMatch(/dull and the cast weak: negative/);
    expect(out).toMatch(/lovely music: positive/);
  });

  it('demo (npm start): the textbook example, a character model learning with samples before and after, WASM vs JS', () => {
    const out = run('src/cli/bin.ts', 'demo');
    expect(out).toContain('tomorrow 0.9900');
    const epochs = [...out.matchAll(/^ {3}epoch \d+\/\d+ {2}loss ([\d.]+) {2}val ([\d.]+)/gm)].map((m) => Number(m[1]));
    expect(epochs.length).toBeGreaterThan(5);
    expect(epochs.at(-1)).toBeLessThan(epochs[0] / 3);
    expect(out).toMatch(/before training, random weights write:\n {5}the .{100,}\n/);
    // After training the samples are made of the corpus' own words: at least one whole sentence of them.
    expect(out).toMatch(/after training, at temperature 0\.5:\n {5}the [a-z ]+\./);
    expect(out).toMatch(/train step +[\d.]+ +[\d.]+ +[\d.]+ +wasm-simd [\d.]+× faster than JS/);
  }, 60_000);
});
