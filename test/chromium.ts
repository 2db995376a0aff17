/**
 * Headless Chromium for the browser tests: scripts/chromium.ts's launcher (the browser at $CHROMIUM_PATH, by
 * default Debian's /usr/bin/chromium, which `npm test`'s pretest, scripts/ensure-chromium.sh, installs where
 * apt-get can) and the folder for their screenshots. No test downloads a browser.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { launchChromium as launch } from '../scripts/chromium.js';

export { writeBrowserBundle } from '../scripts/chromium.js';

/** Where screenshots go (gitignored). */
export const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));

export async function launchChromium(): Promise<Browser> {
  const browser = await launch({ needs: 'the browser tests need', command: 'npx vitest run test/browser.test.ts' });
  mkdirSync(OUTPUT, { recursive: true });
  return browser;
}
