/**
 * What the command line reports instead of a stack trace: a one-line message that says what to fix, and the
 * exit code that goes with it. The entry point prints these; every command only throws them.
 */

/**
 * Exit codes: the conventional 2 for a wrong command line, 1 for input that cannot be used, and 128 + the
 * signal's number when Ctrl-C (SIGINT) or SIGTERM stopped a run.
 */
export const EXIT = { ok: 0, input: 1, usage: 2, interrupted: 130, terminated: 143 } as const;

export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number = EXIT.input) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A wrong command line: an unknown option, a missing argument, an impossible value. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}
