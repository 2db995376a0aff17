/**
 * `rnn-wasm generate` on a word language model as PyTorch users have it: the `.safetensors` of
 * pytorch/examples' word_language_model (encoder = nn.Embedding, rnn = LSTM, decoder = nn.Linear tied to the
 * encoder) with its words in a JSON file. Greedy generation must print PyTorch's own continuation, word for
 * word; a prompt with unknown words, a missing or wrong vocabulary and a model that is no language model are
 * refused in one line. (Character models of rnn-wasm train: cli.test.ts.)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RNN } from '../src/index.js';
import { cli } from './cli-run.js';

const MODEL = join(import.meta.dirname, 'fixtures/models/wordlm_lstm_tied_sgd.safetensors');
const fixture = JSON.parse(readFileSync(MODEL.replace(/\.safetensors$/, '.json'), 'utf8')) as {
  vocab: string[];
  generate: { steps: number; prompt_words: string[][]; expected_words: string[][] };
};

let dir: string;
const at = (name: string) => join(dir, name);
const run = (...args: string[]) => cli(args, dir);

/** What the command prints for these words: spaces between them, a line break for each `<eos>`. */
const text = (words: string[]) => `${words.join(' ').replace(/ ?<eos> ?/g, '\n')}\n`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rnn-wasm-cli-generate-'));
  const { vocab } = fixture;
  writeFileSync(at('vocab.json'), JSON.stringify(vocab));
  writeFileSync(at('word2idx.json'), JSON.stringify(Object.fromEntries(vocab.map((word, id) => [word, id]).reverse())));
  writeFileSync(at('unk.json'), JSON.stringify(vocab.map((word) => (word === 'river' ? '<unk>' : word))));
  writeFileSync(at('short.json'), JSON.stringify(vocab.slice(1)));
  writeFileSync(at('twice.json'), JSON.stringify([...vocab.slice(0, -1), 'a']));
  writeFileSync(at('ids.json'), JSON.stringify({ a: 0, b: 0 }));
  writeFileSync(at('broken.json'), '["a", "b"');
  writeFileSync(at('series.csv'), 'x\n1\n2\n3\n');
  const core = await RNN.create({ inputSize: 3, hiddenSize: 4, seed: 1 });
  writeFileSync(at('core.safetensors'), core.toSafetensors());
  core.dispose();
  const net = await RNN.fromSafetensors(MODEL);
  writeFileSync(at('saved.ckpt'), net.save());
  net.dispose();
}, 30_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rnn-wasm generate on a PyTorch word language model', () => {
  const { steps, prompt_words: prompts, expected_words: expected } = fixture.generate;

  it.concurrent.each(prompts.map((prompt, i) => [prompt.join(' '), expected[i]] as const))(
    "continues %j greedily with PyTorch's own words",
    async (prompt, continuation) => {
      const r = await run('generate', MODEL, '--vocab', 'vocab.json', '--prompt', prompt, '--length', String(steps), '--temperature', '0');
      expect(r).toEqual({ code: 0, stdout: text([...prompt.split(' '), ...continuation]), stderr: '' });
    },
    30_000,
  );

  it('reads the vocabulary as an object word → id too, and a library checkpoint of the same model', async () => {
    const args = ['--prompt', ' the  old ', '-n', String(steps), '-t', '0'];
    const [byId, saved] = await Promise.all([
      run('generate', MODEL, '--vocab', 'word2idx.json', ...args),
      run('generate', 'saved.ckpt', '--vocab', 'vocab.json', ...args),
    ]);
    const want = text(['the', 'old', ...expected[0]]);
    expect(byId).toEqual({ code: 0, stdout: want, stderr: '' });
    expect(saved).toEqual({ code: 0, stdout: want, stderr: '' });
  }, 30_000);

  it('samples with --seed, --top-k and --top-p; --top-k 1 is greedy at any temperature; no prompt starts a line', async () => {
    const sampled = ['--prompt', 'the old', '-n', '30', '--temperature', '1.2', '--top-p', '0.9'];
    const [a, b, c, top1, fresh] = await Promise.all([
      run('generate', MODEL, '--vocab', 'vocab.json', ...sampled, '--seed', '1'),
      run('generate', MODEL, '--vocab', 'vocab.json', ...sampled, '--seed', '1'),
      run('generate', MODEL, '--vocab', 'vocab.json', ...sampled, '--seed', '2'),
      run('generate', MODEL, '--vocab', 'vocab.json', '--prompt', 'the old', '-n', String(steps), '--temperature', '5', '--top-k', '1'),
      run('generate', MODEL, '--vocab', 'vocab.json', '-n', '12', '--seed', '3'),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout.startsWith('the old ')).toBe(true);
    expect(b.stdout).toBe(a.stdout);
    expect(c.stdout).not.toBe(a.stdout);
    expect(top1.stdout).toBe(text(['the', 'old', ...expected[0]]));
    expect(fresh.code, fresh.stderr).toBe(0);
    for (const r of [a, fresh])
      expect(
        r.stdout
          .split(/\s+/)
          .filter(Boolean)
          .every((word) => fixture.vocab.includes(word)),
      ).toBe(true);
  }, 30_000);

  it('maps unknown words to <unk> when the vocabulary has it', async () => {
    const r = await run('generate', MODEL, '--vocab', 'unk.json', '--prompt', 'the zebra', '-n', '3', '-t', '0');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^the <unk> /);
  }, 30_000);

  const cases: [string, string[], number, RegExp][] = [
    [
      'unknown words',
      ['--vocab', 'vocab.json', '--prompt', 'the zebra and the yak'],
      1,
      /^--prompt has 3 words the vocabulary lacks \("zebra", "and", "yak"\) and no <unk> to stand for them; use only words of the vocabulary$/,
    ],
    [
      'no --vocab',
      [],
      2,
      /^\S+wordlm_lstm_tied_sgd\.safetensors is a word model \(an embedding of 26 tokens\) without its words; give them with --vocab <vocab\.json>/,
    ],
    [
      'a vocabulary of another size',
      ['--vocab', 'short.json'],
      1,
      /^short\.json has 25 words but the model's embedding has 26; give the vocabulary it was trained with$/,
    ],
    [
      'a word twice',
      ['--vocab', 'twice.json'],
      1,
      /^twice\.json is not a vocabulary \(.*"a" appears twice \(ids 0 and 25\)\); give a JSON vocabulary/,
    ],
    [
      'two words with one id',
      ['--vocab', 'ids.json'],
      1,
      /^ids\.json is not a vocabulary \(.*"b" has id 0; ids must be 0…1, each once\); give a JSON vocabulary/,
    ],
    ['a vocabulary that is not JSON', ['--vocab', 'broken.json'], 1, /^broken\.json is not a vocabulary \(.+\); give a JSON vocabulary/],
    ['a missing vocabulary', ['--vocab', 'none.json'], 1, /^none\.json does not exist; give a JSON vocabulary/],
    [
      'a prompt of spaces',
      ['--vocab', 'vocab.json', '--prompt', '  '],
      2,
      /^--prompt has no words; give at least one word of the vocabulary$/,
    ],
  ];

  it.concurrent.each(cases)(
    'refuses %s in one line',
    async (_, args, code, message) => {
      const r = await run('generate', MODEL, ...args);
      expect(r.code, r.stderr).toBe(code);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^rnn-wasm generate: [^\n]+\n$/);
      expect(r.stderr.slice('rnn-wasm generate: '.length, -1)).toMatch(message);
    },
    30_000,
  );

  it('refuses weights without an embedding, and sends predict to generate for a word model', async () => {
    const [core, predict] = await Promise.all([
      run('generate', 'core.safetensors', '--vocab', 'vocab.json'),
      run('predict', MODEL, 'series.csv'),
    ]);
    expect(core.code).toBe(1);
    expect(core.stderr).toMatch(/^rnn-wasm generate: core\.safetensors holds weights without training state \(as PyTorch saves them\), /);
    expect(core.stderr).toMatch(/not a checkpoint of rnn-wasm train; give a file written by rnn-wasm train\n$/);
    expect(predict.code).toBe(1);
    expect(predict.stderr).toMatch(
      /not a checkpoint of rnn-wasm train; .* \(or generate from this word model: rnn-wasm generate \S+ --vocab <vocab\.json>\)\n$/,
    );
  }, 30_000);
});
