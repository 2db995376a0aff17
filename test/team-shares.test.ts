/**
 * How a team divides its calls' work (src/backends/team-shares.ts), driven by a made-up team: threads of given
 * speeds splitting calls into whole granules as assembly/parallel.ts's share_start does. Even speeds leave the
 * split even; a slow thread gets less until the times meet, on the best split of whole granules, without
 * hunting back and forth; the split comes back when the spell ends; no thread is starved by a wild reading.
 */
import { describe, expect, it } from 'vitest';
import { TeamShares } from '../src/backends/team-shares.js';

/** Where thread k starts among `units` granules, as unit_start computes it from the part TeamShares gives. */
function unitStart(shares: TeamShares, units: number, k: number, n: number): number {
  const at = Math.round((units * shares.start(k)) / 65536);
  return Math.min(Math.max(at, k), units - n + k);
}

/** The granules of each thread's share. */
function split(shares: TeamShares, units: number): number[] {
  const n = shares.parts.length;
  const starts = [0, ...Array.from({ length: n - 1 }, (_, i) => unitStart(shares, units, i + 1, n)), units];
  return starts.slice(1).map((end, k) => end - starts[k]);
}

/**
 * `calls` calls of `units` granules, thread k running `speeds(i)[k]` granules a millisecond: each call's split,
 * and its time (its slowest thread's).
 */
function drive(shares: TeamShares, calls: number, units: number, speeds: (i: number) => number[]) {
  const splits: number[][] = [];
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const s = split(shares, units);
    const ms = s.map((granules, k) => granules / speeds(i)[k]);
    shares.took(
      ms,
      s.map((g) => g / units),
    );
    splits.push(s);
    times.push(Math.max(...ms));
  }
  return { splits, times };
}

describe('TeamShares', () => {
  it('leaves an even split where the threads run alike, whatever the granules', () => {
    for (const units of [16, 17, 3]) {
      const shares = new TeamShares(2);
      const { splits } = drive(shares, 200, units, () => [1, 1]);
      expect(new Set(splits.map((s) => s.join()))).toEqual(new Set([split(new TeamShares(2), units).join()]));
    }
  });

  it('gives a thread that runs slower less, until the times meet, and settles on one split', () => {
    // 32 granules at 1 and 0.7 a millisecond: 16 and 16 take 22.9 ms, 13 and 19 the best, 19 ms.
    const shares = new TeamShares(2);
    const { splits, times } = drive(shares, 400, 32, () => [0.7, 1]);
    expect(times[0]).toBeCloseTo(16 / 0.7, 5);
    expect(times.at(-1)).toBeCloseTo(19, 5);
    // Within about a second of calls, and then no hunting.
    const settled = splits.findIndex((s) => s[0] === 13);
    expect(settled).toBeGreaterThan(0);
    expect(times.slice(0, settled).reduce((a, b) => a + b, 0)).toBeLessThan(2500);
    expect(new Set(splits.slice(settled).map((s) => s.join()))).toEqual(new Set(['13,19']));
  });

  it('comes back to an even split when the spell ends, and follows a spell of the other thread', () => {
    const shares = new TeamShares(2);
    drive(shares, 400, 32, () => [0.7, 1]);
    expect(drive(shares, 400, 32, () => [1, 1]).splits.at(-1)).toEqual([16, 16]);
    expect(drive(shares, 400, 32, () => [1, 0.7]).splits.at(-1)).toEqual([19, 13]);
  });

  it('balances three threads', () => {
    const { times } = drive(new TeamShares(3), 600, 60, () => [1, 0.6, 1]);
    // 25, 15 and 20 … the best split of 60 at these speeds takes about 23 ms, the even one 33.3.
    expect(times.at(-1)).toBeLessThan(25);
  });

  it('never takes a thread below half of an even part, and ignores times too short to say anything', () => {
    const shares = new TeamShares(2);
    drive(shares, 2000, 64, () => [1, 0.01]);
    expect(shares.parts[1]).toBeCloseTo(0.25, 9);
    const even = new TeamShares(2);
    even.took([0.01, 0.04], [0.5, 0.5]);
    even.took([1, Number.NaN], [0.5, 0.5]);
    expect(Array.from(even.parts)).toEqual([0.5, 0.5]);
  });
});
