/**
 * The `rnn-wasm` command: dispatches to one module per command and turns failures into one line on
 * standard error and an exit code. Nothing here exits the process; the entry (bin.ts) sets the code.
 */
import { RnnError } from '../index.js';
import * as bench from './bench/command.js';
import * as demo from './demo.js';
import { CliError, EXIT } from './errors.js';
import * as generate from './generate.js';
import * as info from './info.js';
import * as predict from './predict.js';
import * as train from './train.js';
import { packageVersion } from './version.js';

const COMMANDS = { train, generate, predict, bench, info, demo } as const;
type Command = keyof typeof COMMANDS;

const USAGE = `usage: rnn-wasm <command> [options]      (rnn-wasm <command> --help for its options)

commands:
  train <file>                 train a character model on a text file, or a regressor on a CSV of numbers
  generate <checkpoint>        sample text from a character model
  predict <checkpoint> <csv>   forecast with a CSV model
  bench                        time WASM SIMD, WASM scalar, pure JS and installed peers on the same work
  info                         which backend this machine runs, and why
  demo                         the tour that npm start runs
`;

/** Runs one command line (without the `node` and script arguments); resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(USAGE);
    return EXIT.usage;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`rnn-wasm ${packageVersion()}\n`);
    return EXIT.ok;
  }
  if (!Object.hasOwn(COMMANDS, name)) {
    process.stderr.write(
      `rnn-wasm: there is no command '${name}'; the commands are ${Object.keys(COMMANDS).join(', ')} (rnn-wasm --help)\n`,
    );
    return EXIT.usage;
  }
  try {
    return await COMMANDS[name as Command].run(rest);
  } catch (error) {
    // Expected failures (bad input, bad options, a model error) are one line; anything else is a bug and keeps its stack.
    if (error instanceof CliError || error instanceof RnnError) {
      process.stderr.write(`rnn-wasm ${name}: ${error.message}\n`);
      return error instanceof CliError ? error.exitCode : EXIT.input;
    }
    process.stderr.write(`rnn-wasm ${name}: unexpected error, please report it: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT.input;
  }
}
