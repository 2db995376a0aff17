/**
 * `npm run bench`: the same benchmark as `rnn-wasm bench` (src/cli/bench.ts, measured by src/cli/benchmark.ts),
 * with the same flags: unroll and one training step, pure JS vs WASM scalar vs WASM SIMD, measured in one run
 * with tinybench and printed as a Markdown table of medians with ratios, ready for the README.
 *
 *   npm run bench                      RNN: hidden 32, 128, 256, 512; LSTM, GRU: hidden 128, 256; batch 1, 32
 *   npm run bench -- --cells lstm --hidden 128 --batch 1 --plot bench.svg
 */
import { main } from '../src/cli/main.js';

process.exitCode = await main(['bench', ...process.argv.slice(2)]);
