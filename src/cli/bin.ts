/** The executable entry of `rnn-wasm` (rollup turns it into dist/cli.js; `npm start` runs it with tsx). */
import { main } from './main.js';

// `rnn-wasm generate … | head` closes the pipe early; that is the reader's choice, not an error to report.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

process.exitCode = await main(process.argv.slice(2));
