// The demo page's test measures whether the page stays responsive (the longest wait of a 20 ms timer) while two
// workers train: on a 2-core machine it cannot share the cores with the other suites and still measure that, so
// it runs alone, after every other test file (a project of its own, ordered last).
import { configDefaults, defineConfig } from 'vitest/config';

const ALONE = ['test/browser.test.ts'];

export default defineConfig({
  test: {
    projects: [
      { extends: true, test: { name: 'node', exclude: [...configDefaults.exclude, ...ALONE], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'responsiveness', include: ALONE, sequence: { groupOrder: 1 } } },
    ],
  },
});
