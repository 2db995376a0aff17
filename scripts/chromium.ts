/**
 * Headless Chromium, for the browser tests and `npm run bench -- --browser`: the browser at $CHROMIUM_PATH, by
 * default Debian's /usr/bin/chromium (scripts/ensure-chromium.sh installs it where apt-get can), driven by
 * playwright-core, which downloads no browser of its own; and the bundles of the sources that run in it, made
 * with the package's own rollup configuration.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import type { Plugin, RollupOptions } from 'rollup';
import { rollup } from 'rollup';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The browser: CHROMIUM_PATH, or Debian's. */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Who needs the browser, for the message that says how to get one. */
export interface ChromiumUser {
  /** With its verb: 'the browser tests need'. */
  needs: string;
  /** The command to run again with CHROMIUM_PATH set. */
  command: string;
}

/** Why there is no browser to launch and how to get one, or undefined when there is one. */
export function chromiumMissing({ needs, command }: ChromiumUser): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const which = process.env.CHROMIUM_PATH ? `CHROMIUM_PATH is ${CHROMIUM}, which does not exist` : `${CHROMIUM} is missing`;
  return (
    `${which}: ${needs} Chromium or Chrome. Install one (\`bash scripts/ensure-chromium.sh\` installs Debian's `
    + "chromium where apt-get can, and says how to get one elsewhere; `npm test`'s pretest runs it), or point CHROMIUM_PATH "
    + `at one you have, e.g. CHROMIUM_PATH="/Applications/Google Chrome.app/Contents/MacOS/Google Chrome" ${command}`
  );
}

/** Launches headless Chromium; rejects with chromiumMissing's message where there is none. */
export async function launchChromium(user: ChromiumUser): Promise<Browser> {
  const missing = chromiumMissing(user);
  if (missing) throw new Error(missing);
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

/** rollup.config.mjs's build of the package's browser entry (dist/browser.js). */
async function browserConfig(): Promise<RollupOptions> {
  const configure = (await import(pathToFileURL(join(root, 'rollup.config.mjs')).href)).default as (args: object) => RollupOptions[];
  return configure({}).find((c) => !Array.isArray(c.output) && c.output?.file === 'dist/browser.js')!;
}

/** The package's browser entry as rollup.config.mjs builds it (dist/browser.js), written to `file` instead, the .wasm builds beside it. */
export async function writeBrowserBundle(file: string, output: { sourcemap?: boolean } = {}): Promise<void> {
  const config = await browserConfig();
  const bundle = await rollup({ ...config, onwarn: () => undefined });
  await bundle.write({ ...(config.output as object), file, ...output });
  await bundle.close();
}

/**
 * A script of this repository (`input`, TypeScript) bundled for the browser as the browser entry is, except that
 * the library itself (src/index.ts) stays out: every import of it becomes an import of `library` (a URL relative
 * to the script, e.g. './browser.js', where a copy of the browser entry is served), so that the script runs the
 * very bundle a user's page loads.
 */
export async function writeBrowserScript(input: string, file: string, library: string): Promise<void> {
  const config = await browserConfig();
  const entry = resolve(root, 'src/index.ts');
  const external: Plugin = {
    name: 'library-external',
    resolveId(source, importer) {
      if (!importer || !source.startsWith('.')) return null;
      return resolve(dirname(importer), source.replace(/\.js$/, '.ts')) === entry ? { id: library, external: true } : null;
    },
  };
  // The .wasm builds are the library's: they come with it, not with the script.
  const plugins = (config.plugins as Plugin[]).filter((p) => p.name !== 'wasm-beside-bundle');
  const bundle = await rollup({ input: resolve(root, input), plugins: [external, ...plugins], onwarn: () => undefined });
  await bundle.write({ file, format: 'es' });
  await bundle.close();
}
