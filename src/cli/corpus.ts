/**
 * The demo's training text, written by a small seeded grammar instead of copied from anywhere: short
 * sentences about a little world ("a fox waits near the old mill."). It has just enough structure to show
 * a character model learning — spelling, spacing, 'a' before consonants and 'an' before vowels, a period
 * and a space between sentences — in a few seconds.
 */
import { Random } from '../index.js';

const NOUNS = ['cat', 'dog', 'fox', 'bird', 'boat', 'tree', 'lamp', 'robot', 'baker', 'child', 'owl', 'apple', 'kite', 'mill'];
const ADJECTIVES = ['small', 'red', 'quiet', 'happy', 'old', 'green', 'lazy', 'bright', 'odd', 'tall'];
const SEES = ['sees', 'finds', 'likes', 'follows', 'paints', 'carries', 'watches'];
const WAITS = ['sleeps', 'sings', 'runs', 'waits', 'smiles', 'hides'];
const NEAR = ['near', 'under', 'behind', 'beside', 'past'];

const pick = <T>(random: Random, items: readonly T[]): T => items[random.int(items.length)];

function nounPhrase(random: Random): string {
  const words = random.next() < 0.5 ? [pick(random, ADJECTIVES), pick(random, NOUNS)] : [pick(random, NOUNS)];
  if (random.next() < 0.5) return `the ${words.join(' ')}`;
  return `${/^[aeiou]/.test(words[0]) ? 'an' : 'a'} ${words.join(' ')}`;
}

function sentence(random: Random): string {
  const subject = nounPhrase(random);
  const form = random.int(3);
  if (form === 0) return `${subject} ${pick(random, SEES)} ${nounPhrase(random)}.`;
  if (form === 1) return `${subject} ${pick(random, WAITS)} ${pick(random, NEAR)} ${nounPhrase(random)}.`;
  return `${subject} ${pick(random, WAITS)}.`;
}

/** About `length` characters of lines of one to three sentences, the same for the same seed. */
export function demoCorpus(length: number, seed: number): string {
  const random = new Random(seed);
  const lines: string[] = [];
  for (let size = 0; size < length; ) {
    const line = Array.from({ length: 1 + random.int(3) }, () => sentence(random)).join(' ');
    lines.push(line);
    size += line.length + 1;
  }
  return `${lines.join('\n')}\n`;
}
