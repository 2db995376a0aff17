/**
 * The choice between the team and the caller's thread alone (src/backends/team-choice.ts), driven with made-up
 * times: it settles on the faster way, leaves a way that turns slow within a few calls, spends little on tries
 * while the other way stays slow, comes back when it pays again (soon after a short slow stretch), and ignores
 * one stray call.
 */
import { describe, expect, it } from 'vitest';
import { TeamChoice } from '../src/backends/team-choice.js';

/** Runs `calls` calls whose times `ms(together, i)` gives; returns which way each call took. */
function drive(choice: TeamChoice, calls: number, ms: (together: boolean, i: number) => number): boolean[] {
  const ways: boolean[] = [];
  for (let i = 0; i < calls; i++) {
    const together = choice.next();
    choice.took(together, ms(together, i));
    ways.push(together);
  }
  return ways;
}

const share = (ways: boolean[]) => ways.filter(Boolean).length / ways.length;

describe('TeamChoice', () => {
  it('starts with both ways and settles on the faster', () => {
    const fastTeam = drive(new TeamChoice(), 400, (together) => (together ? 1 : 1.7));
    expect(fastTeam.slice(0, 6)).toEqual([true, true, true, false, false, false]);
    expect(share(fastTeam.slice(6))).toBeGreaterThan(0.97);
    const slowTeam = drive(new TeamChoice(), 400, (together) => (together ? 1.3 : 1));
    expect(share(slowTeam.slice(6))).toBeLessThan(0.05);
  });

  it('leaves the team within a few calls once another process makes it slow, and spends under 5% on tries', () => {
    const choice = new TeamChoice();
    drive(choice, 100, (together) => (together ? 1 : 1.7));
    const busy = drive(choice, 2000, (together) => (together ? 10 : 1.8));
    expect(busy.indexOf(false)).toBeLessThan(3);
    const spent = busy.reduce((ms, together) => ms + (together ? 10 : 1.8), 0);
    expect(spent / (busy.length * 1.8)).toBeLessThan(1.05);
  });

  it('comes back to the team when it pays again', () => {
    const choice = new TeamChoice();
    drive(choice, 100, (together) => (together ? 10 : 1.8));
    const quiet = drive(choice, 300, (together) => (together ? 1 : 1.7));
    expect(share(quiet.slice(-100))).toBeGreaterThan(0.95);
  });

  it('comes back within a few dozen calls after a short slow stretch, however long the team paid before it', () => {
    const choice = new TeamChoice();
    drive(choice, 3000, (together) => (together ? 1 : 1.7)); // tries of the caller alone are far apart by now
    drive(choice, 5, (together) => (together ? 3 : 1.7));
    const after = drive(choice, 100, (together) => (together ? 1 : 1.7));
    expect(after.indexOf(true)).toBeLessThan(20);
    expect(share(after.slice(-50))).toBeGreaterThan(0.95);
  });

  it('ignores one stray slow call of the way it takes', () => {
    const ways = drive(new TeamChoice(), 200, (together, i) => (together ? (i === 100 ? 50 : 1) : 1.7));
    expect(share(ways.slice(101, 150))).toBeGreaterThan(0.95);
  });
});
