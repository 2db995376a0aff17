/**
 * Headless Chromium for the browser tests: Debian's /usr/bin/chromium (installed by `npm test`'s pretest,
 * scripts/ensure-debian-package.sh), driven by playwright-core. No test downloads a browser.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

/** Where screenshots go (gitignored). */
export const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run \`npm test\` (its pretest installs Debian's chromium) or scripts/ensure-debian-package.sh /usr/bin/chromium chromium browser`);
  }
  mkdirSync(OUTPUT, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    // As root in a container Chromium needs --no-sandbox; the rest keep it from calling home on a closed network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}
