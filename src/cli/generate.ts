/**
 * `rnn-wasm generate <checkpoint>`: text sampled from a language model after a prompt. A checkpoint of
 * rnn-wasm train is a character model with its vocabulary inside; a word language model as PyTorch saves
 * it (a `.safetensors` with an embedding in front, e.g. pytorch/examples' word_language_model) needs its
 * words from `--vocab`. Either way the library draws each next token and feeds it back (`net.generate`).
 */
import { type CommandSpec, type Options, commandHelp, parseCommand } from './args.js';
import { type ModelFile, notCheckpointError, readModelFile } from './checkpoint.js';
import { CliError, EXIT, UsageError } from './errors.js';
import type { TextModel } from './task.js';
import { encode } from './text-task.js';
import { encodeWords, readVocabulary, startOfLine } from './words.js';
import type { GenerateOptions, RNN } from '../index.js';

export const spec: CommandSpec = {
  name: 'generate',
  usage: 'generate <checkpoint> [options]',
  summary:
    'Writes text sampled after the prompt, from a character model trained by rnn-wasm train, or from a word\n'
    + 'language model saved by PyTorch (a .safetensors of nn.Embedding, LSTM/GRU/RNN and nn.Linear) with --vocab.',
  positionals: ['<checkpoint>'],
  options: {
    vocab: {
      type: 'string',
      value: '<vocab.json>',
      help: "a word model's words: a JSON array (index = id, as idx2word) or an object word → id",
    },
    prompt: {
      type: 'string',
      short: 'p',
      value: '<text>',
      help: 'text to start from; words for a word model (default: the first character, or a new line)',
    },
    length: { type: 'string', short: 'n', value: '<n>', help: 'characters (or words) to generate after the prompt (default 200)' },
    temperature: {
      type: 'string',
      short: 't',
      value: '<x>',
      help: 'below 1 is safer, above 1 wilder; 0 always takes the likeliest (default 0.8)',
    },
    'top-k': { type: 'string', value: '<k>', help: 'draw only among the k likeliest (default: all)' },
    'top-p': { type: 'string', value: '<p>', help: 'draw only among the likeliest whose probabilities add up to p (default 1: all)' },
    seed: { type: 'string', value: '<n>', help: 'seed of the sampling (default 0)' },
  },
};

type DrawOptions = Pick<GenerateOptions, 'temperature' | 'topK' | 'topP' | 'seed'> & { steps: number };

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(spec, argv);
  if (!parsed) {
    process.stdout.write(commandHelp(spec));
    return EXIT.ok;
  }
  const o = parsed.options;
  const draw = drawOptions(o);
  const path = parsed.positionals[0];
  const file = await readModelFile(path);
  try {
    process.stdout.write(file.kind === 'checkpoint' ? `${characters(file, path, o, draw)}\n` : withNewline(words(file, path, o, draw)));
    return EXIT.ok;
  } finally {
    file.net.dispose();
  }
}

function drawOptions(o: Options): DrawOptions {
  return {
    steps: o.int('length', 200, { min: 1, max: 1_000_000 }),
    temperature: o.number('temperature', 0.8, { min: 0 }),
    ...(o.has('top-k') && { topK: o.int('top-k', 0, { min: 1 }) }),
    ...(o.has('top-p') && { topP: o.number('top-p', 1, { min: 0, above: true, max: 1 }) }),
    seed: o.int('seed', 0, { min: 0, max: 2 ** 32 - 1 }),
  };
}

/** A last `<eos>` already ended the line. */
const withNewline = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);

/** A checkpoint of rnn-wasm train: the prompt, then the characters drawn after it. */
function characters(file: Extract<ModelFile, { kind: 'checkpoint' }>, path: string, o: Options, draw: DrawOptions): string {
  const { meta, net } = file;
  if (meta.model.kind !== 'text') {
    throw new CliError(`${path} is a CSV model, which predicts numbers, not text; use rnn-wasm predict ${path} <csv>`);
  }
  if (o.has('vocab')) {
    throw new UsageError(
      `--vocab is for word models from PyTorch; ${path} is a character model of rnn-wasm train, with its vocabulary inside`,
    );
  }
  const prompt = o.string('prompt') ?? meta.model.start;
  if (prompt === '')
    throw new UsageError(
      `--prompt is empty; give at least one character, or leave it out to start from ${JSON.stringify(meta.model.start)}`,
    );
  return `${prompt}${sample(net, meta.model, prompt, draw)}`;
}

/** A model with an embedding (PyTorch weights, or another program's save()): the prompt's words and those drawn after them. */
function words(file: Exclude<ModelFile, { kind: 'checkpoint' }>, path: string, o: Options, draw: DrawOptions): string {
  const { net } = file;
  const embedding = net.config.embedding;
  if (!embedding) throw notCheckpointError(path, file);
  const c = net.config;
  if (c.bidirectional || c.headOn === 'final' || c.outputSize !== embedding.numEmbeddings) {
    const why = c.bidirectional
      ? 'it reads in both directions, as a tagger does'
      : c.outputSize === 0
        ? 'it has no decoder after its recurrent layers'
        : `its head gives ${c.outputSize} scores ${c.headOn === 'final' ? 'per sequence' : 'per step'} for its ${embedding.numEmbeddings} tokens`;
    throw new CliError(
      `${path} is not a language model (${why}); generate needs one that scores every token of its vocabulary at every step`,
    );
  }
  const vocabPath = o.string('vocab');
  if (vocabPath === undefined) {
    throw new UsageError(
      `${path} is a word model (an embedding of ${embedding.numEmbeddings} tokens) without its words; `
        + `give them with --vocab <vocab.json> (a JSON array, index = id, as corpus.dictionary.idx2word)`,
    );
  }
  const vocab = readVocabulary(vocabPath, embedding.numEmbeddings);
  const given = o.string('prompt');
  const start = given ?? startOfLine(vocab);
  if (start === undefined) throw new UsageError(`${vocabPath} has no <eos> to start a line from; give a --prompt`);
  const ids = encodeWords(start, vocab);
  const T = ids.length;
  const { ids: drawn } = net.generate({ data: ids, shape: net.config.batchFirst ? [1, T] : [T, 1] }, draw);
  // Without a prompt, generation starts a line: only what was drawn is printed.
  return vocab.decode(given === undefined ? drawn!.data : [...ids, ...drawn!.data]);
}

/** `steps` characters drawn after `prompt`, each fed back as the next input. */
export function sample(net: RNN, model: TextModel, prompt: string, options: DrawOptions): string {
  const V = model.vocab.length;
  const ids = encode(prompt, model, '--prompt');
  const x = new Float32Array(ids.length * V);
  ids.forEach((id, t) => (x[t * V + id] = 1));
  const result = net.generate({ data: x, shape: [ids.length, 1, V] }, { ...options, sample: true });
  return Array.from(result.ids!.data, (id) => model.vocab[id]).join('');
}
