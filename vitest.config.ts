// The demo page's test measures whether the page stays responsive (the longest wait of a 20 ms timer) while two
// workers train: on a 2-core machine it cannot share the cores with the other suites and still measure that, so
// it runs alone, after every other test file (a project of its own, ordered last).
//
// Node 20 runs relaxed SIMD only behind a flag: the test workers get it where this process lacks relaxed SIMD, so
// that every suite that loops over the backends runs the relaxed build too (CI's Node 20 included).
import { configDefaults, defineConfig } from 'vitest/config';
import { relaxedSimdSupported } from './src/backends/wasm.js';

const ALONE = ['test/browser.test.ts'];

export default defineConfig({
  test: {
    execArgv: relaxedSimdSupported() ? [] : ['--experimental-wasm-relaxed-simd'],
    projects: [
      { extends: true, test: { name: 'node', exclude: [...configDefaults.exclude, ...ALONE], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'responsiveness', include: ALONE, sequence: { groupOrder: 1 } } },
    ],
  },
});
