/** Shared by the test files: the backends every contract runs on, and an elementwise closeness check. */
import { expect } from 'vitest';
import type { BackendChoice } from '../src/index.js';

/** Every backend; a suite that loops over these has no exclusion list. */
export const BACKENDS: readonly BackendChoice[] = ['js', 'wasm-relaxed', 'wasm-simd', 'wasm-scalar'];

/**
 * What `node` needs to run relaxed SIMD, for tests that start one: a flag on Node 20, nothing from Node 21 on
 * (V8 11.4 shipped it). vitest.config.ts gives the test workers the same.
 */
export const RELAXED_SIMD_FLAGS: readonly string[] =
  Number(process.versions.node.split('.')[0]) < 21 ? ['--experimental-wasm-relaxed-simd'] : [];

const RTOL = 1e-4;
const ATOL = 1e-5;

/** Largest |actual - expected|, and fails naming the worst element when any is outside atol + rtol·|expected|. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, name: string, rtol = RTOL, atol = ATOL): number {
  expect(actual.length, `${name}: length`).toBe(expected.length);
  let maxDiff = 0;
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= maxDiff)) maxDiff = diff; // NaN-safe: a NaN diff becomes the max
    const excess = diff - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= worstExcess)) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0) {
    expect.fail(`${name}[${worst}] = ${actual[worst]}, expected ${expected[worst]} (maxdiff ${maxDiff})`);
  }
  return maxDiff;
}

/** Deterministic values in [-scale, scale) for test inputs. */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}
