/**
 * How the benchmark reports a verdict on threads (bench/cores.ts, bench/verdicts.ts): with the state the two
 * cores were in around its workload, read from a cache line's round trip before and after its rounds, since on
 * a shared host the same unchanged code meets or misses the two-thread targets by that state alone.
 */
import { describe, expect, it } from 'vitest';
import { FAR_ROUND_TRIP, coresState } from '../bench/cores.js';
import { verdictsTable } from '../bench/verdicts.js';

describe('coresState', () => {
  it('names the state from the round trips on either side of the rounds', () => {
    expect(coresState(0.2, 0.21)).toBe('near: 0.20 → 0.21 µs');
    expect(coresState(0.88, 2.1)).toBe('far: 0.88 → 2.1 µs');
    expect(coresState(0.2, 0.88)).toBe('changed: 0.20 → 0.88 µs');
    expect(coresState(0.95, 0.19)).toBe('changed: 0.95 → 0.19 µs');
  });

  it('puts the threshold itself on the near side', () => {
    expect(coresState(FAR_ROUND_TRIP, FAR_ROUND_TRIP)).toMatch(/^near/);
    expect(coresState(FAR_ROUND_TRIP * 1.01, FAR_ROUND_TRIP)).toMatch(/^changed/);
  });

  it('says nothing where either probe is missing', () => {
    expect(coresState(undefined, 0.2)).toBeUndefined();
    expect(coresState(0.2)).toBeUndefined();
    expect(coresState()).toBeUndefined();
  });
});

describe('verdictsTable', () => {
  const plain = { target: 'W1 ≥ 20× faster than naive JS', value: '33.8×', met: true };

  it('has three columns while no verdict carries the cores', () => {
    const rows = verdictsTable([plain, { target: 'W3 not run', value: 'not measured', met: null }]).split('\n');
    expect(rows[0]).toBe('| target | measured | met |');
    expect(rows[2]).toBe('| W1 ≥ 20× faster than naive JS | 33.8× | yes |');
    expect(rows[3]).toBe('| W3 not run | not measured | – |');
  });

  it('adds a cores column where one does, left empty for the others', () => {
    const threads = { target: 'W1 on 2 threads ≥ 1.4× faster than SIMD', value: '0.98×', met: false, cores: 'far: 0.93 → 0.92 µs' };
    const rows = verdictsTable([plain, threads]).split('\n');
    expect(rows[0]).toBe('| target | measured | met | cores |');
    expect(rows[1].split('|')).toHaveLength(6);
    expect(rows[2]).toBe('| W1 ≥ 20× faster than naive JS | 33.8× | yes |  |');
    expect(rows[3]).toBe('| W1 on 2 threads ≥ 1.4× faster than SIMD | 0.98× | no | far: 0.93 → 0.92 µs |');
  });
});
