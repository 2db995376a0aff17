// The module's exports: the kernels named in src/backend.ts, and where the heap starts.
export { rnn_forward, rnn_backward } from './rnn';
export { lstm_forward, lstm_backward } from './lstm';
export { gru_forward, gru_backward } from './gru';
export { linear_forward, linear_backward } from './linear';
export { embedding_forward, embedding_backward } from './embedding';
export { multiply, non_finite } from './vector';
export { activation_forward, activation_backward } from './activations';
export { merge_forward, merge_backward } from './merge';
export { reverse_sequence } from './sequence';
export { pack_weights, packed_size } from './packed';
export { mse_loss, cross_entropy_loss } from './loss';
export { sum_squares, scale, clamp, sgd_update, adam_update, rmsprop_update, adagrad_update } from './optim';

/** First free byte after the module's static data, 16-byte aligned: the TypeScript side lays out tensors from here. */
export function heap_base(): usize {
  return (__heap_base + 15) & ~(<usize>15);
}
export { scratch_size, team_join } from './threads';
