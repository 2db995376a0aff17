/**
 * Strings in, strings out: a vocabulary of characters or words, built from a text or loaded from JSON, that
 * turns text into the token ids an embedding model takes and ids back into text.
 *
 * ```ts
 * const vocab = Vocabulary.fromText(corpus, { level: 'char' });
 * const net = await RNN.create({ cell: 'gru', hiddenSize: 64,
 *   embedding: { numEmbeddings: vocab.size, embeddingDim: 32 }, outputSize: vocab.size });
 * const ids = vocab.encode('the c');                           // Int32Array
 * const { ids: next } = net.generate({ data: ids, shape: [ids.length, 1] }, { steps: 20, temperature: 0.5 });
 * vocab.decode(next.data);                                      // 'at sat on the mat.'
 * ```
 */
import { OptionError } from './errors.js';
import { parseJson } from './io/json.js';
import { bool, checkKeys, oneOf, positiveInt, show } from './checks.js';

/** Options of `Vocabulary.fromText` and `Vocabulary.fromJSON`. */
export interface VocabularyOptions {
  /** 'char' (default): one token per character (code point); 'word': tokens split on whitespace. */
  level?: 'char' | 'word' | undefined;
  /** A token that stands for anything not in the vocabulary (e.g. '<unk>'); without one, encoding such text throws. */
  unknown?: string | undefined;
  /** A token for padding (e.g. '<pad>'), given id 0 so that it can be an embedding's paddingIdx. */
  padding?: string | undefined;
  /** A token that marks a line end in word vocabularies (word_language_model's '<eos>'): decoded as a line break. */
  endOfLine?: string | undefined;
  /** fromText: keep only tokens seen at least this often (default 1); the rest become `unknown`. */
  minCount?: number | undefined;
  /** fromText: keep at most this many tokens, the most frequent first. */
  maxSize?: number | undefined;
  /** fromText: fold the text to lower case first (default false). */
  lowerCase?: boolean | undefined;
}

const KEYS = ['level', 'unknown', 'padding', 'endOfLine', 'minCount', 'maxSize', 'lowerCase'];

/** Strings in, token ids out, and back: a vocabulary of characters or words, from a text or from JSON. */
export class Vocabulary {
  /** 'char': one token per character (code point); 'word': tokens split on whitespace. */
  readonly level: 'char' | 'word';
  /** Every token, in id order. */
  readonly tokens: readonly string[];
  /** The unknown token's id, or -1. */
  readonly unknownId: number;
  /** The padding token's id (0 when there is one), or -1. */
  readonly paddingId: number;
  /** @internal */
  private readonly ids: ReadonlyMap<string, number>;
  /** @internal */
  private readonly endOfLine: string | undefined;
  /** @internal */
  private readonly lowerCase: boolean;

  private constructor(tokens: readonly string[], o: Required<Pick<VocabularyOptions, 'level' | 'lowerCase'>> & VocabularyOptions) {
    const ids = new Map<string, number>();
    tokens.forEach((token, id) => {
      if (typeof token !== 'string') throw new OptionError(`Vocabulary: token ${id} is ${show(token)}, not a string`);
      if (ids.has(token))
        throw new OptionError(`Vocabulary: token ${JSON.stringify(token)} appears twice (ids ${ids.get(token)} and ${id})`);
      ids.set(token, id);
    });
    this.level = o.level;
    this.tokens = Object.freeze([...tokens]);
    this.ids = ids;
    this.unknownId = o.unknown === undefined ? -1 : (ids.get(o.unknown) ?? -1);
    this.paddingId = o.padding === undefined ? -1 : (ids.get(o.padding) ?? -1);
    this.endOfLine = o.endOfLine;
    this.lowerCase = o.lowerCase;
    if (o.unknown !== undefined && this.unknownId < 0)
      throw new OptionError(`Vocabulary: the unknown token ${JSON.stringify(o.unknown)} is not among the tokens`);
    if (o.padding !== undefined && this.paddingId < 0)
      throw new OptionError(`Vocabulary: the padding token ${JSON.stringify(o.padding)} is not among the tokens`);
  }

  /** The tokens of a text, the most frequent first (ties in order of first appearance), after the special tokens. */
  static fromText(text: string, options: VocabularyOptions = {}): Vocabulary {
    const o = parse(options);
    if (typeof text !== 'string' || text.length === 0) throw new OptionError('Vocabulary.fromText: expected a non-empty string');
    const counts = new Map<string, number>();
    for (const token of split(o.lowerCase ? text.toLowerCase() : text, o.level, o.endOfLine))
      counts.set(token, (counts.get(token) ?? 0) + 1);
    const special = [o.padding, o.unknown, o.endOfLine].filter((t): t is string => t !== undefined);
    const minCount = o.minCount === undefined ? 1 : positiveInt(o.minCount, 'Vocabulary: minCount');
    let kept = [...counts]
      .filter(([token, n]) => n >= minCount && !special.includes(token))
      .sort((a, b) => b[1] - a[1])
      .map(([t]) => t);
    if (o.maxSize !== undefined) kept = kept.slice(0, Math.max(0, positiveInt(o.maxSize, 'Vocabulary: maxSize') - special.length));
    if (kept.length < counts.size - special.filter((t) => counts.has(t)).length && o.unknown === undefined) {
      throw new OptionError('Vocabulary.fromText: minCount or maxSize leaves tokens out, so it needs an unknown token to stand for them');
    }
    return new Vocabulary([...unique(special), ...kept], o);
  }

  /**
   * A vocabulary from JSON: an array of tokens in id order (PyTorch's `idx2word`), an object token → id (`word2idx`),
   * or what `toJSON()` wrote; the JSON's text or its parsed value.
   */
  static fromJSON(json: unknown, options: VocabularyOptions = {}): Vocabulary {
    const value: unknown = typeof json === 'string' ? parseJson(json, 'Vocabulary.fromJSON', { maxDepth: 3, maxContainers: 4 }) : json;
    if (Array.isArray(value)) return new Vocabulary(value as string[], parse({ level: 'word', ...options }));
    if (value !== null && typeof value === 'object' && 'tokens' in value && Array.isArray((value as { tokens: unknown }).tokens)) {
      const { tokens, ...saved } = value as { tokens: string[] } & VocabularyOptions;
      return new Vocabulary(tokens, parse({ ...saved, ...options }));
    }
    if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>);
      const tokens = new Array<string>(entries.length);
      for (const [token, id] of entries) {
        if (!Number.isSafeInteger(id) || (id as number) < 0 || (id as number) >= entries.length || tokens[id as number] !== undefined) {
          throw new OptionError(
            `Vocabulary.fromJSON: ${JSON.stringify(token)} has id ${show(id)}; ids must be 0…${entries.length - 1}, each once`,
          );
        }
        tokens[id as number] = token;
      }
      return new Vocabulary(tokens, parse({ level: 'word', ...options }));
    }
    throw new OptionError(`Vocabulary.fromJSON: expected an array of tokens or an object of token ids, got ${show(value)}`);
  }

  /** The number of tokens: an embedding's `numEmbeddings` and a language model's `outputSize`. */
  get size(): number {
    return this.tokens.length;
  }

  /** The id of each token of the text; a token not in the vocabulary is the unknown id, or an OptionError naming it. */
  encode(text: string): Int32Array {
    if (typeof text !== 'string') throw new OptionError(`encode: expected a string, got ${show(text)}`);
    const tokens = split(this.lowerCase ? text.toLowerCase() : text, this.level, this.endOfLine);
    const out = new Int32Array(tokens.length);
    tokens.forEach((token, i) => {
      const id = this.ids.get(token) ?? this.unknownId;
      if (id < 0)
        throw new OptionError(`encode: ${JSON.stringify(token)} (token ${i}) is not in the vocabulary, which has no unknown token`);
      out[i] = id;
    });
    return out;
  }

  /** The text of the ids: characters joined as they are, words with spaces (and the end-of-line token as a line break). */
  decode(ids: ArrayLike<number>): string {
    let text = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const token = Number.isInteger(id) ? this.tokens[id] : undefined;
      if (token === undefined) throw new OptionError(`decode: ids[${i}] is ${show(id)}, not an id of this vocabulary (0…${this.size - 1})`);
      if (id === this.paddingId) continue;
      if (this.level === 'char') text += token;
      else if (token === this.endOfLine) text += '\n';
      else text += text === '' || text.endsWith('\n') ? token : ` ${token}`;
    }
    return text;
  }

  /** What `Vocabulary.fromJSON` reads back: the tokens and the options that give them meaning. */
  toJSON(): {
    /** Every token, in id order. */
    tokens: string[];
  } & VocabularyOptions {
    const special = {
      ...(this.unknownId >= 0 && { unknown: this.tokens[this.unknownId] }),
      ...(this.paddingId >= 0 && { padding: this.tokens[this.paddingId] }),
      ...(this.endOfLine !== undefined && { endOfLine: this.endOfLine }),
    };
    return { tokens: [...this.tokens], level: this.level, ...(this.lowerCase && { lowerCase: true }), ...special };
  }
}

function parse(options: VocabularyOptions) {
  checkKeys(options, KEYS, 'Vocabulary');
  for (const key of ['unknown', 'padding', 'endOfLine'] as const) {
    if (options[key] !== undefined && (typeof options[key] !== 'string' || options[key] === '')) {
      throw new OptionError(`Vocabulary: ${key} must be a non-empty string, got ${show(options[key])}`);
    }
  }
  return {
    ...options,
    level: oneOf(options.level ?? 'char', ['char', 'word'] as const, 'Vocabulary: level'),
    lowerCase: bool(options.lowerCase ?? false, 'Vocabulary: lowerCase'),
  };
}

/** Characters (code points, so an emoji is one token) or whitespace-separated words, line ends as `endOfLine`. */
function split(text: string, level: 'char' | 'word', endOfLine: string | undefined): string[] {
  if (level === 'char') return Array.from(text);
  if (endOfLine === undefined) return text.split(/\s+/).filter(Boolean);
  return text.split('\n').flatMap((line, i, lines) => {
    const words = line.split(/\s+/).filter(Boolean);
    return i < lines.length - 1 ? [...words, endOfLine] : words;
  });
}

const unique = (tokens: readonly string[]) => [...new Set(tokens)];
