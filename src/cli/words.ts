/**
 * Word language models as PyTorch users have them: pytorch/examples' word_language_model saves an
 * nn.Embedding (`encoder`), a recurrent core (`rnn`) and an nn.Linear (`decoder`, maybe tied to the
 * embedding), and keeps its words apart, in `corpus.dictionary.idx2word`. Here the words come from a JSON
 * file beside the weights: that list (index = id), or the object word → id (`word2idx`). Its corpus ends
 * every line with `<eos>`, which is printed as a line break.
 */
import { CliError, UsageError } from './errors.js';
import { readText } from './files.js';

/** The end-of-line token of word_language_model's corpus. */
export const EOS = '<eos>';
/** The token a vocabulary may keep for words it lacks. */
const UNK = '<unk>';

/** The words of `path`, by id, checked against the size of the model's embedding. */
export function readVocabulary(path: string, size: number): string[] {
  const wanted = 'a JSON vocabulary: an array of words (index = id, as corpus.dictionary.idx2word) or an object word → id';
  let value: unknown;
  try {
    value = JSON.parse(readText(path, wanted));
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`${path} is not JSON (${(error as Error).message}); give ${wanted}`);
  }
  const words = Array.isArray(value) ? wordList(value, path) : wordIds(value, path, wanted);
  const seen = new Map<string, number>();
  words.forEach((word, id) => {
    if (seen.has(word)) throw new CliError(`${path} has ${JSON.stringify(word)} twice (ids ${seen.get(word)} and ${id}); each word needs one id`);
    seen.set(word, id);
  });
  if (words.length !== size) {
    throw new CliError(`${path} has ${words.length} words but the model's embedding has ${size}; give the vocabulary it was trained with`);
  }
  return words;
}

function wordList(value: unknown[], path: string): string[] {
  const bad = value.findIndex((word) => typeof word !== 'string');
  if (bad >= 0) throw new CliError(`${path}: entry ${bad} is ${JSON.stringify(value[bad])}, not a word; the array holds the words as strings`);
  return value as string[];
}

function wordIds(value: unknown, path: string, wanted: string): string[] {
  if (value === null || typeof value !== 'object') throw new CliError(`${path} holds ${JSON.stringify(value)}; give ${wanted}`);
  const entries = Object.entries(value);
  const words: string[] = [];
  for (const [word, id] of entries) {
    if (!Number.isSafeInteger(id) || (id as number) < 0 || (id as number) >= entries.length) {
      throw new CliError(`${path}: the id of ${JSON.stringify(word)} is ${JSON.stringify(id)}; ids are whole numbers 0…${entries.length - 1}`);
    }
    if (words[id as number] !== undefined) {
      throw new CliError(`${path}: ${JSON.stringify(words[id as number])} and ${JSON.stringify(word)} have the same id ${id as number}`);
    }
    words[id as number] = word;
  }
  return words;
}

/**
 * The ids of a prompt's words, split on whitespace. A word the vocabulary lacks becomes `<unk>` when it has
 * that token, and is an error otherwise.
 */
export function encodeWords(prompt: string, vocab: readonly string[]): Int32Array {
  const index = new Map(vocab.map((word, id) => [word, id]));
  const words = prompt.split(/\s+/).filter(Boolean);
  if (!words.length) throw new UsageError('--prompt has no words; give at least one word of the vocabulary');
  const unk = index.get(UNK);
  const unknown = [...new Set(words.filter((word) => !index.has(word)))];
  if (unknown.length && unk === undefined) {
    const shown = unknown.slice(0, 8).map((word) => JSON.stringify(word)).join(', ');
    throw new CliError(`--prompt has ${unknown.length} word${unknown.length > 1 ? 's' : ''} the vocabulary lacks (${shown}${unknown.length > 8 ? ', …' : ''}) `
      + `and no ${UNK} to stand for them; use only words of the vocabulary`);
  }
  return Int32Array.from(words, (word) => index.get(word) ?? unk!);
}

/** Words as text: separated by spaces, with `<eos>` as the end of a line. */
export function renderWords(words: readonly string[]): string {
  let text = '';
  let lineStart = true;
  for (const word of words) {
    if (word === EOS) text += '\n';
    else text += `${lineStart ? '' : ' '}${word}`;
    lineStart = word === EOS;
  }
  return text;
}
