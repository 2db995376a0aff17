/**
 * The benchmark's wait between slices (src/cli/bench/settle.ts), on a made-up clock: a thread left spinning by
 * one contender must not be timed as part of the next one's slice, and a load that was there from the start
 * (the contention run's busy process) must not stall the run.
 */
import { describe, expect, it } from 'vitest';
import { type Clock, quietCores } from '../src/cli/bench/settle.js';

/** A clock whose cores carry `cores(t)` cores' worth of work at time t (ms). */
function fakeClock(cores: (t: number) => number): Clock {
  let [t, busy] = [0, 0];
  return {
    busy: () => busy,
    now: () => t,
    async sleep(ms) {
      for (let i = 0; i < ms; i++) busy += cores(t++);
    },
  };
}

describe('quietCores', () => {
  it('waits out a thread that spins for 150 ms after the run began quiet', async () => {
    let spinUntil = -1;
    const clock = fakeClock((t) => (t < spinUntil ? 1 : 0.05));
    const settle = await quietCores(clock);
    spinUntil = clock.now() + 150;
    const start = clock.now();
    await settle();
    expect(clock.now()).toBeGreaterThanOrEqual(spinUntil);
    expect(clock.now() - start).toBeLessThan(150 + 2 * 40);
  });

  it('does not wait for a load that was there from the start', async () => {
    const clock = fakeClock(() => 1.02);
    const settle = await quietCores(clock);
    const start = clock.now();
    await settle();
    expect(clock.now() - start).toBe(40);
  });

  it('gives up after a second on a machine that never goes quiet again', async () => {
    let busyFrom = Infinity;
    const clock = fakeClock((t) => (t >= busyFrom ? 2 : 0));
    const settle = await quietCores(clock);
    busyFrom = clock.now();
    const start = clock.now();
    await settle();
    expect(clock.now() - start).toBeGreaterThanOrEqual(1000);
    expect(clock.now() - start).toBeLessThan(1000 + 40 + 1);
  });
});
