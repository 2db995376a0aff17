/**
 * Where the parity suites find their reference cases: the folders named by an environment variable
 * (':'-separated, resolved against the repository root), or by default this repository's own copies in
 * test/fixtures/ (scripts/copy-fixtures.sh refreshes the shared ones from ../shared/fixtures). CI points the
 * variables at held-out cases; a fresh clone needs nothing beside it.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** PyTorch's RNN, LSTM and GRU cases (forward, gradients, trajectories): the copies of ../shared/fixtures/torch and torch-training. */
export const TORCH = ['test/fixtures/torch', 'test/fixtures/torch-training'];
/** Text models (embedding, core, head): the copy of ../shared/fixtures/models, and this repository's own cases. */
export const MODELS = ['test/fixtures/models-shared', 'test/fixtures/models'];

/** TensorFlow.js / Keras models: the copy of ../shared/fixtures/tfjs, and this repository's own cases. */
export const TFJS = ['test/fixtures/tfjs-shared', 'test/fixtures/tfjs'];

/** The absolute folders of `variable`, or of `defaults` where it is unset or empty. */
export function fixtureFolders(variable: 'TORCH_FIXTURES' | 'MODEL_FIXTURES' | 'TFJS_FIXTURES', defaults: readonly string[]): string[] {
  const named = (process.env[variable] ?? '').split(':').filter(Boolean);
  return (named.length > 0 ? named : defaults).map((folder) => resolve(root, folder));
}
