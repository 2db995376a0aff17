// `npm run lint`: every lint:* check of package.json, each silent when it passes; a failing one prints its output.
// All run even when one fails, so that one run lists every finding.
import { spawnSync } from 'node:child_process';

const CHECKS = ['lint:biome', 'lint:deps', 'lint:unused', 'lint:length'];

let failed = 0;
for (const check of CHECKS) {
  // One stream, in the order the tool wrote it; the biggest output (Biome's diffs of every unformatted file) is a few MB.
  const r = spawnSync(`npm run --silent ${check} 2>&1`, { shell: true, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  if (r.status === 0) continue;
  failed++;
  process.stdout.write(`\n✗ npm run ${check}\n${r.stdout}`);
}
if (failed) {
  console.error(`\n${failed} of ${CHECKS.length} lint checks failed`);
  process.exitCode = 1;
}
