// `npm run lint:length`: no file of the library is longer than MAX_LINES, so that a module stays one concern.
// Prints each longer file with its line count and exits 1; prints nothing when all fit.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const MAX_LINES = 450;
/** The library: the TypeScript API and the AssemblyScript kernels. */
const ROOTS = ['src', 'assembly'];
/** The command line is an application on top of the library, not held to the limit. */
const EXEMPT = ['src/cli/'];

const lineCount = (text: string) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);

const offenders: [string, number][] = [];
for (const root of ROOTS) {
  for (const entry of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    const file = join(root, entry).replaceAll('\\', '/');
    if (EXEMPT.some((prefix) => file.startsWith(prefix)) || !statSync(file).isFile()) continue;
    const lines = lineCount(readFileSync(file, 'utf8'));
    if (lines > MAX_LINES) offenders.push([file, lines]);
  }
}

if (offenders.length) {
  offenders.sort((a, b) => b[1] - a[1]);
  console.error(`${offenders.length} file(s) longer than ${MAX_LINES} lines; split them by concern:`);
  for (const [file, lines] of offenders) console.error(`  ${file}: ${lines} lines`);
  process.exitCode = 1;
}
