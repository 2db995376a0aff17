/** Runs the real `rnn-wasm` command (its TypeScript entry, through tsx) in a child process, for the CLI tests. */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The entry and the TypeScript loader, as absolute paths, so that the child may run in any folder. */
const CLI_ENTRY = fileURLToPath(new URL('../src/cli/bin.ts', import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** The argv that runs `rnn-wasm <args…>`: node, the loader, the entry, the arguments. */
export const cliCommand = (args: readonly string[]) => [process.execPath, '--import', TSX_LOADER, CLI_ENTRY, ...args];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `rnn-wasm <args…>` in `cwd`, with standard output and error as pipes (not a terminal); never rejects. */
export function cli(args: readonly string[], cwd: string): Promise<CliResult> {
  const [node, ...rest] = cliCommand(args);
  return new Promise((resolve) => {
    execFile(node, rest, { cwd, encoding: 'utf8', timeout: 60_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
