/**
 * Headless Chromium for the browser tests, driven by playwright-core: the browser at $CHROMIUM_PATH, by default
 * Debian's /usr/bin/chromium (which `npm test`'s pretest, scripts/ensure-chromium.sh, installs where apt-get can).
 * No test downloads a browser.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { type RollupOptions, rollup } from 'rollup';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The package's browser entry as rollup.config.mjs builds it (dist/browser.js), written to `file` instead. */
export async function writeBrowserBundle(file: string, output: { sourcemap?: boolean } = {}): Promise<void> {
  const configure = (await import(pathToFileURL(join(root, 'rollup.config.mjs')).href)).default as (args: object) => RollupOptions[];
  const config = configure({}).find((c) => !Array.isArray(c.output) && c.output?.file === 'dist/browser.js')!;
  const bundle = await rollup({ ...config, onwarn: () => undefined });
  await bundle.write({ ...(config.output as object), file, ...output });
  await bundle.close();
}

/** The browser the tests run: CHROMIUM_PATH, or Debian's. */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Where screenshots go (gitignored). */
export const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    const which = process.env.CHROMIUM_PATH ? `CHROMIUM_PATH is ${CHROMIUM}, which does not exist` : `${CHROMIUM} is missing`;
    throw new Error(
      `${which}: the browser tests need Chromium or Chrome. Run \`npm test\` (its pretest installs Debian's chromium where `
        + 'apt-get can, and says how to get one elsewhere), or point CHROMIUM_PATH at one you have, e.g. '
        + 'CHROMIUM_PATH="/Applications/Google Chrome.app/Contents/MacOS/Google Chrome" npx vitest run test/browser.test.ts',
    );
  }
  mkdirSync(OUTPUT, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    // As root in a container Chromium needs --no-sandbox; the rest keep it from calling home on a closed network.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
