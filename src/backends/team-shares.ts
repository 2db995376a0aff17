/**
 * How a team divides a call's work between its threads. On these virtual machines one vCPU can run a third
 * slower than the other for seconds at a time, with no steal time reported (measured: 400 LSTM forward calls
 * in a row, B = 32, thread 0 took 36.5 ms for its half of each where the worker took 26.7), and a call split in
 * halves then waits for the slower thread: the balanced split would have been 1.19× faster. So each thread's
 * part follows how fast it has lately run. Any split on whole granules gives the same bits
 * (assembly/parallel.ts's share_start), so this only moves time.
 */

/** Milliseconds of calls over which the parts follow the times: a slow spell lasts seconds, a stray call one call. */
const MEMORY_MS = 1000;

/** A thread's part stays within these multiples of an even split, so that no spell can starve it. */
const LEAST = 0.5;
const MOST = 1.5;

/** Own times under this (ms) are mostly timer grain and call overhead, and are not counted. */
const SHORTEST_MS = 0.05;

export class TeamShares {
  /** Each thread's fraction of a call's work; they sum to 1. */
  readonly parts: Float64Array;

  constructor(size: number) {
    this.parts = new Float64Array(size).fill(1 / size);
  }

  /** Where thread k's share starts, in 65536ths of the items (share_start reads it), for k = 1 … size − 1. */
  start(k: number): number {
    let before = 0;
    for (let i = 0; i < k; i++) before += this.parts[i];
    return Math.round(before * 65536);
  }

  /**
   * Each thread's own time (ms) for its part of a call in which no thread waited for another, and the fraction
   * of the items its share held (NaN: not known). The parts move towards those that would have made the times
   * equal, by as much as the call weighs in MEMORY_MS. A share is whole granules, so the fraction it held is not
   * its part (8 of 16 pairs of columns for any part from 0.47 to 0.53): moving from the part itself would
   * hunt back and forth across the one split that is best.
   */
  took(ms: ArrayLike<number>, held: ArrayLike<number>): void {
    const n = this.parts.length;
    let mean = 0;
    let longest = 0;
    for (let k = 0; k < n; k++) {
      if (!(ms[k] >= SHORTEST_MS)) return;
      mean += ms[k] / n;
      longest = Math.max(longest, ms[k]);
    }
    const keep = Math.exp(-longest / MEMORY_MS);
    const known = Array.from(held).every((h) => h >= 0 && h <= 1);
    const wanted = Array.from(this.parts, (part, k) => ((known ? held[k] : part) * mean) / ms[k]);
    const total = wanted.reduce((a, b) => a + b, 0);
    let sum = 0;
    for (let k = 0; k < n; k++) {
      const part = keep * this.parts[k] + ((1 - keep) * wanted[k]) / total;
      this.parts[k] = Math.min(MOST / n, Math.max(LEAST / n, part));
      sum += this.parts[k];
    }
    for (let k = 0; k < n; k++) this.parts[k] /= sum;
  }
}
