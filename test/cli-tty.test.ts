/**
 * `rnn-wasm train` in a real terminal: tmux gives it a pseudo-terminal, so the live view (a braille loss
 * chart above a progress bar, redrawn in place) renders as a person sees it, and Ctrl-C arrives as the
 * terminal sends it: SIGINT to the foreground process group. The run must stop between two steps, save a
 * checkpoint that generate and --resume accept, and exit with 130.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { demoCorpus } from '../src/cli/corpus.js';
import { cli, cliCommand } from './cli-run.js';

/** A tmux server of this test's own, so that nothing else's sessions are touched. */
const SOCKET = `rnn-wasm-tty-${process.pid}`;
const tmux = (...args: string[]) =>
  execFileSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], {
    encoding: 'utf8',
    env: { ...process.env, TERM: process.env.TERM || 'xterm-256color' },
  });
const screen = () => tmux('capture-pane', '-p', '-t', 'cli');

let dir: string;

beforeAll(() => {
  // Like the browser tests' Chromium: installed from Debian's packages when the machine lacks it.
  execFileSync(
    'bash',
    [fileURLToPath(new URL('../scripts/ensure-debian-package.sh', import.meta.url)), 'tmux', 'tmux', 'test/cli-tty.test.ts'],
    { stdio: 'inherit' },
  );
  dir = mkdtempSync(join(tmpdir(), 'rnn-wasm-tty-'));
  writeFileSync(join(dir, 'story.txt'), demoCorpus(20_000, 2));
});

afterAll(() => {
  try {
    tmux('kill-server');
  } catch {
    // The server was never started (a failure before new-session) or has already gone.
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Polls the terminal until `done` holds for what it shows; fails with the screen after `ms`. */
async function waitForScreen(done: (text: string) => boolean, ms: number): Promise<string> {
  const until = Date.now() + ms;
  for (;;) {
    const text = screen();
    if (done(text)) return text;
    if (Date.now() > until) expect.fail(`the terminal never showed what was expected; it shows:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

it('draws the loss chart and progress bar in place, and Ctrl-C leaves a checkpoint that generate and --resume use', async () => {
  const train = cliCommand(['train', 'story.txt', '--hidden', '48', '--epochs', '1000', '--save-every', '0', '--out', 'tty.ckpt']);
  // bash ignores SIGINT itself (node resets the disposition for its own process), so it outlives the run
  // and reports its exit status on the screen.
  tmux(
    'new-session',
    '-d',
    '-s',
    'cli',
    '-x',
    '120',
    '-y',
    '40',
    '-c',
    dir,
    'bash',
    '-c',
    'trap "" INT; "$@"; echo "exit status $?"; sleep 600',
    'bash',
    ...train,
  );

  const live = await waitForScreen((s) => /┤[⠀-⣿]{60}\n[^\n]*━[^\n]*│ ETA \d+:\d\d/.test(s), 30_000);
  const bar = live.split('\n').filter((line) => line.includes('│ ETA'));
  expect(bar, 'one progress bar, redrawn in place').toHaveLength(1);
  expect(bar[0]).toMatch(/^epoch \d+\/1000 [━─]+ +\d+% │ step \d+\/\d+ │ loss [\d.]+ │ (val [\d.]+ │ )?[\d.]+k? tok\/s │ ETA \d+:\d\d$/);
  expect(
    live.split('\n').filter((line) => / ┤[⠀-⣿]{60}$/.test(line)),
    'a chart of 6 rows',
  ).toHaveLength(6);

  tmux('send-keys', '-t', 'cli', 'C-c');
  const end = await waitForScreen((s) => /exit status \d+/.test(s), 30_000);
  expect(end).toMatch(/exit status 130/);
  expect(end).toContain('stopped by Ctrl-C; go on with: rnn-wasm train story.txt --resume tty.ckpt');
  const step = Number(/saved {5}tty\.ckpt at step (\d+) of/.exec(end)?.[1]);
  expect(step).toBeGreaterThan(0);
  expect(readdirSync(dir).sort(), 'the checkpoint and no temporary file').toEqual(['story.txt', 'tty.ckpt']);

  const sample = await cli(['generate', 'tty.ckpt', '--length', '30'], dir);
  expect(sample.code, sample.stderr).toBe(0);
  expect(sample.stdout).toMatch(/^[\s\S]{31}\n$/);
  const resumed = await cli(['train', 'story.txt', '--resume', 'tty.ckpt', '--steps', String(step + 2)], dir);
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(resumed.stdout).toContain(`resuming at step ${step}`);
  expect(resumed.stdout).toContain(`saved     tty.ckpt at step ${step + 2} of ${step + 2}`);
}, 90_000);
