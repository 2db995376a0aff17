/**
 * A small seeded generator (mulberry32) so that initialisation, shuffling and sampling are reproducible.
 * Never Math.random: a run should be repeatable from its seed alone.
 *
 * Exported, so that a program's own randomness (its data, its shuffles in a loop of `net.step` calls) is as
 * reproducible as the library's: `new Random(seed)` draws the same numbers on every machine and backend, and
 * its `state` (the same 32 bits as `net.generatorState`) can be saved and restored to resume a sequence.
 */
export class Random {
  /** The whole state: 32 bits. Saving and restoring it resumes the sequence exactly. */
  state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1), 32 bits of entropy. */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Standard normal, by Box–Muller from two uniforms (1 - u keeps the logarithm's argument in (0, 1]). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}
