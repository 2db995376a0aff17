/**
 * Whether a call runs on the team or on the caller's thread alone, decided per shape of call by how the two
 * ways have gone lately. Whether a team pays depends on the call's size and on what else has the cores: a
 * process that keeps another core busy makes the threads wait for each other at every step (measured: one step
 * of H = 256 from 47 µs to 1.8 ms). So each shape runs the faster way, and the other way now and then, to see
 * whether the load has changed; the results are the same either way, bit for bit. A try is two calls, of which
 * the second counts: on a virtual machine a core that has been idle can take milliseconds to wake (measured
 * here: a lone call on the team 5–10 ms where calls one after another took 1.8), which says nothing about the
 * calls that would follow it.
 */

/**
 * The last three times (ms) of one way of running a shape, but its very first (which wakes the workers or warms
 * the caches). The estimate is their median, which one stray call (the thread descheduled, a collection)
 * cannot move; until three have come, the slowest counts.
 */
class Times {
  private readonly recent = [Infinity, Infinity, Infinity];
  private next = 0;
  /** Calls timed, the first one included. */
  calls = 0;

  add(ms: number): void {
    if (this.calls++ === 0) return;
    this.recent[this.next] = ms;
    this.next = (this.next + 1) % this.recent.length;
  }

  get estimate(): number {
    const [a, b, c] = this.recent;
    return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
  }
}

/** Calls of each way a shape starts with: the first, which does not count, and two that do. */
const WARM = 3;

/**
 * Calls between tries of the way not taken: at first FIRST_TRY, twice as many after each try that finds it
 * still slower (up to LAST_TRY), so that a team ten times slower under load costs a few percent, not half.
 */
const FIRST_TRY = 8;
const LAST_TRY = 512;

/** The choice for one shape of call. */
export class TeamChoice {
  private readonly together = new Times();
  private readonly alone = new Times();
  private untilTry = FIRST_TRY;
  private tryEvery = FIRST_TRY;
  /** Calls left in the current try: 2 at its first, which does not count, 1 at its second, 0 outside one. */
  private tryLeft = 0;

  /** Whether the next call runs on the team. */
  next(): boolean {
    if (this.together.calls < WARM) return true;
    if (this.alone.calls < WARM) return false;
    const faster = this.togetherFaster();
    if (this.tryLeft === 0 && --this.untilTry > 0) return faster;
    if (this.tryLeft === 0) this.tryLeft = 2;
    return !faster;
  }

  /** How long the call that `next` chose took. */
  took(together: boolean, ms: number): void {
    if (this.tryLeft === 2) {
      this.tryLeft = 1;
      return;
    }
    const before = this.togetherFaster();
    (together ? this.together : this.alone).add(ms);
    if (this.tryLeft === 0) {
      // The way taken fell behind the other's estimate, which may be hundreds of calls old: look at it again soon.
      if (this.togetherFaster() !== before) this.untilTry = this.tryEvery = FIRST_TRY;
      return;
    }
    this.tryLeft = 0;
    const other = (together ? this.alone : this.together).estimate;
    if (this.togetherFaster() !== before)
      this.tryEvery = FIRST_TRY; // the try changed the way
    else if (ms < other)
      this.tryEvery = 1; // faster this once: look again before believing it
    else this.tryEvery = Math.min(LAST_TRY, 2 * Math.max(FIRST_TRY, this.tryEvery));
    this.untilTry = this.tryEvery;
  }

  private togetherFaster(): boolean {
    return this.together.estimate <= this.alone.estimate;
  }
}
