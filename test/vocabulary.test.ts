/** The vocabulary helper: text ↔ token ids, for characters and words, with unknown, padding and line-end tokens. */
import { describe, expect, it } from 'vitest';
import { FormatError, OptionError, RNN, Vocabulary } from '../src/index.js';

describe('Vocabulary', () => {
  it('encodes and decodes characters, the most frequent first, code points as one token', () => {
    const vocab = Vocabulary.fromText('abracadabra 🙂');
    expect(vocab.tokens.slice(0, 3)).toEqual(['a', 'b', 'r']);
    expect(vocab.size).toBe(new Set(Array.from('abracadabra 🙂')).size);
    const ids = vocab.encode('cab 🙂');
    expect(ids).toBeInstanceOf(Int32Array);
    expect(vocab.decode(ids)).toBe('cab 🙂');
    expect(() => vocab.encode('z')).toThrow(/"z" \(token 0\) is not in the vocabulary/);
  });

  it('words with unknown, padding and line-end tokens, as word_language_model reads its corpus', () => {
    const text = 'the cat sat\nthe dog sat\nthe cat ran';
    const vocab = Vocabulary.fromText(text, { level: 'word', unknown: '<unk>', padding: '<pad>', endOfLine: '<eos>', minCount: 2 });
    expect(vocab.paddingId).toBe(0);
    expect(vocab.tokens).toEqual(['<pad>', '<unk>', '<eos>', 'the', 'cat', 'sat']);
    const ids = vocab.encode('the dog sat\nthe cat');
    expect(Array.from(ids)).toEqual([3, 1, 5, 2, 3, 4]);
    expect(vocab.decode(ids)).toBe('the <unk> sat\nthe cat');
    expect(vocab.decode([0, 3, 0])).toBe('the');
    expect(() => vocab.decode([99])).toThrow(/ids\[0\] is 99, not an id/);
  });

  it('loads idx2word arrays, word2idx objects and its own toJSON, refusing duplicates and gaps', () => {
    const words = ['<eos>', 'a', 'b'];
    expect(Vocabulary.fromJSON(words).encode('b a')).toEqual(Int32Array.of(2, 1));
    expect(Vocabulary.fromJSON(JSON.stringify({ a: 1, '<eos>': 0, b: 2 })).tokens).toEqual(words);
    const vocab = Vocabulary.fromText('x y x', { level: 'word', unknown: '?' });
    const again = Vocabulary.fromJSON(JSON.stringify(vocab));
    expect(again.tokens).toEqual(vocab.tokens);
    expect(again.encode('x z')).toEqual(vocab.encode('x z'));
    expect(() => Vocabulary.fromJSON(['a', 'a'])).toThrow(/appears twice/);
    expect(() => Vocabulary.fromJSON({ a: 0, b: 2 })).toThrow(/ids must be 0…1/);
    expect(() => Vocabulary.fromJSON('[1, 2')).toThrow(FormatError);
    expect(() => Vocabulary.fromText('a b', { level: 'word', maxSize: 1 })).toThrow(/needs an unknown token/);
    expect(() => Vocabulary.fromText('a', { level: 'letters' as never })).toThrow(OptionError);
  });

  it('gives a character model in a few lines: ids in, text out', async () => {
    const text = 'the cat sat on the mat. '.repeat(8);
    const vocab = Vocabulary.fromText(text);
    const net = await RNN.create({
      cell: 'gru',
      hiddenSize: 24,
      embedding: { numEmbeddings: vocab.size, embeddingDim: 8 },
      outputSize: vocab.size,
      seed: 3,
    });
    const ids = vocab.encode(text);
    const sample = { input: Array.from(ids.subarray(0, -1)), target: Array.from(ids.subarray(1)) };
    const history = await net.train([sample], { epochs: 30, loss: 'cross_entropy', optimizer: { kind: 'adam', lr: 0.03 } });
    expect(history.loss.at(-1)!).toBeLessThan(history.loss[0] / 3);
    const prompt = vocab.encode('the c');
    const { ids: next } = net.generate({ data: prompt, shape: [prompt.length, 1] }, { steps: 10, temperature: 0 });
    expect(vocab.decode(next!.data)).toMatch(/^at /);
  }, 30_000);
});
