/**
 * A word-level language model from PyTorch (pytorch/examples' word_language_model: an embedding named `encoder`,
 * an LSTM `rnn`, a Linear `decoder` tied to the embedding) continues a prompt, greedily, one word at a time.
 *
 *   npx tsx examples/word-lm.ts [model.safetensors vocab.json] [--prompt "the old"] [--steps 16]
 *
 * Without paths it loads this repository's test/fixtures/models/wordlm_lstm_tied_sgd.safetensors, a small model
 * of that shape trained by PyTorch, and its vocabulary, the `vocab` key of the case's .json. A vocab.json of your
 * own is a JSON array of words, the corpus' `dictionary.idx2word` (see the README).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { RNN } from '../src/index.js';

const fixture = 'test/fixtures/models/wordlm_lstm_tied_sgd';
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { prompt: { type: 'string', default: 'the old' }, steps: { type: 'string', default: '16' } },
});
const [modelPath = `${fixture}.safetensors`, vocabPath = `${fixture}.json`] = positionals;

const json: unknown = JSON.parse(readFileSync(vocabPath, 'utf8'));
const vocab = (Array.isArray(json) ? json : (json as { vocab: string[] }).vocab) as string[];
const idOf = new Map(vocab.map((word, id) => [word, id]));

// No options: the embedding, the LSTM and the tied head are found from the tensors' names and shapes.
const net = await RNN.fromSafetensors(modelPath);

const words = values.prompt.split(/\s+/).filter(Boolean);
const unknown = words.filter((w) => !idOf.has(w));
if (unknown.length) {
  console.error(`not in ${vocabPath}'s vocabulary: ${unknown.join(', ')}`);
  process.exit(1);
}
const ids = words.map((w) => [idOf.get(w)!]); // [T, B = 1]

const result = net.generate(ids, { steps: Number(values.steps), temperature: 0 }); // temperature 0: greedy
const continuation = Array.from(result.ids!.data, (id) => vocab[id]);
console.log([...words, ...continuation].join(' ').replace(/ ?<eos> ?/g, '\n')); // <eos> ends a line
