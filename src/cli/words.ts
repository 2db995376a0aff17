/**
 * Word language models as PyTorch users have them: pytorch/examples' word_language_model saves an
 * nn.Embedding (`encoder`), a recurrent core (`rnn`) and an nn.Linear (`decoder`, maybe tied to the
 * embedding), and keeps its words apart, in `corpus.dictionary.idx2word`. Here the words come from a JSON
 * file beside the weights, read by the library's Vocabulary: that list (index = id), or the object word → id
 * (`word2idx`). Its corpus ends every line with `<eos>`, which is a line break both ways, and `<unk>`, when
 * the vocabulary has it, stands for words it lacks.
 */
import { CliError, UsageError } from './errors.js';
import { readText } from './files.js';
import { RnnError, Vocabulary } from '../index.js';

/** The end-of-line token of word_language_model's corpus. */
const EOS = '<eos>';
/** The token a vocabulary may keep for words it lacks. */
const UNK = '<unk>';

/** The words of `path`, checked against the size of the model's embedding. */
export function readVocabulary(path: string, size: number): Vocabulary {
  const wanted = 'a JSON vocabulary: an array of words (index = id, as corpus.dictionary.idx2word) or an object word → id';
  const text = readText(path, wanted);
  let vocab: Vocabulary;
  try {
    const { tokens } = Vocabulary.fromJSON(text, { level: 'word' });
    vocab = Vocabulary.fromJSON({
      tokens: [...tokens],
      level: 'word',
      ...(tokens.includes(EOS) && { endOfLine: EOS }),
      ...(tokens.includes(UNK) && { unknown: UNK }),
    });
  } catch (error) {
    if (!(error instanceof RnnError)) throw error;
    throw new CliError(`${path} is not a vocabulary (${error.message}); give ${wanted}`);
  }
  if (vocab.size !== size) {
    throw new CliError(`${path} has ${vocab.size} words but the model's embedding has ${size}; give the vocabulary it was trained with`);
  }
  return vocab;
}

/** Where generation starts without a prompt: a new line, when the vocabulary marks line ends. */
export const startOfLine = (vocab: Vocabulary): string | undefined => (vocab.tokens.includes(EOS) ? '\n' : undefined);

/**
 * The ids of a prompt's words (split on whitespace, a line break as `<eos>`). Words the vocabulary lacks are
 * `<unk>` when it has that token, and are named in the error otherwise.
 */
export function encodeWords(prompt: string, vocab: Vocabulary): Int32Array {
  if (vocab.unknownId < 0) {
    const known = new Set(vocab.tokens);
    const unknown = [...new Set(prompt.split(/\s+/).filter((word) => word && !known.has(word)))];
    if (unknown.length) {
      const shown = unknown
        .slice(0, 8)
        .map((word) => JSON.stringify(word))
        .join(', ');
      const words = `${unknown.length} word${unknown.length > 1 ? 's' : ''}`;
      throw new CliError(
        `--prompt has ${words} the vocabulary lacks (${shown}${unknown.length > 8 ? ', …' : ''}) `
          + `and no ${UNK} to stand for them; use only words of the vocabulary`,
      );
    }
  }
  const ids = vocab.encode(prompt);
  if (!ids.length) throw new UsageError('--prompt has no words; give at least one word of the vocabulary');
  return ids;
}
