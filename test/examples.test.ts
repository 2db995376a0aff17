/**
 * The README's examples run as written and learn what they claim to, so the documentation cannot rot.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (file: string) =>
  execFileSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 60_000 });

/** The first and last loss of the line `loss A → B`. */
const losses = (output: string) => output.match(/loss ([\d.e+-]+) → ([\d.e+-]+)/)!.slice(1).map(Number);

describe('examples', () => {
  it('lstm-adder: an LSTM learns running sums', () => {
    const out = run('examples/lstm-adder.ts');
    const [first, last] = losses(out);
    expect(last).toBeLessThan(first / 100);
    const sums = out.match(/0\.3, 0\.25, -0\.4, 0\.1: (.*)/)![1].split(', ').map(Number);
    [0.3, 0.55, 0.15, 0.25].forEach((exact, i) => expect(Math.abs(sums[i] - exact)).toBeLessThan(0.05));
  });

  it('gru-chars: a GRU character model learns the text and samples from it', () => {
    const out = run('examples/gru-chars.ts');
    const [first, last] = losses(out);
    expect(last).toBeLessThan(first / 5);
    expect(out).toMatch(/^the .{60}$/m);
  });

  it('demo (npm start) runs to the end', () => {
    const out = run('examples/demo.ts');
    expect(out).toContain('tomorrow 0.9900');
    expect(out).toMatch(/wasm-simd .* faster than JS/);
  });
});
