/**
 * The text the demo's model learns to write: written for this project, short enough to learn in a minute,
 * with few distinct characters so that a small model can see each one often.
 */
import type { Sample, Tensor } from '../src/index.js';

export const TEXT = `a small network lives in this page.
it reads one letter at a time and keeps a little memory of the letters before.
at first it knows nothing at all, so every letter looks as likely as the next.
then it begins to notice things.
after a space comes a new word. after a dot comes a new line.
the letter q is rare, and the letter e is everywhere.
it learns the short words first: a, at, in, it, the, and.
then it learns the longer ones: letter, memory, network, morning.
each step it makes a guess, sees the answer, and moves its weights a little.
the loss says how surprised it was. watch the line go down.
when it writes, it picks each letter from what it believes comes next,
then reads its own letter and guesses again.
its first lines are noise. later they look almost like words.
later still they look almost like this page.
it never saw a book. it only saw these lines, over and over,
and it is doing its best.
`;

export const VOCAB = [...new Set(TEXT)].sort();
const ids = new Map(VOCAB.map((c, i) => [c, i]));

/** One-hot rows, [text.length, VOCAB.length]; characters outside the vocabulary stay all-zero. */
function oneHot(text: string): Float32Array {
  const rows = new Float32Array(text.length * VOCAB.length);
  [...text].forEach((c, t) => {
    const id = ids.get(c);
    if (id !== undefined) rows[t * VOCAB.length + id] = 1;
  });
  return rows;
}

/** Windows of `length` characters every `stride`: the input is the window, the target each next character. */
export function windows(length: number, stride: number): Sample[] {
  const samples: Sample[] = [];
  for (let i = 0; i + length + 1 <= TEXT.length; i += stride) {
    samples.push({
      input: { data: oneHot(TEXT.slice(i, i + length)), shape: [length, VOCAB.length] },
      target: [...TEXT.slice(i + 1, i + length + 1)].map((c) => ids.get(c)!),
    });
  }
  return samples;
}

/** A prompt for generate(): [T, 1, VOCAB.length]. */
export function prompt(text: string): Tensor {
  return { data: oneHot(text), shape: [text.length, 1, VOCAB.length] };
}

export function decode(sampled: ArrayLike<number>): string {
  return Array.from(sampled, (id) => VOCAB[id]).join('');
}
