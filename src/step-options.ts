/**
 * The options of the calls that compute a loss (gradients, step, train): which loss, and gradient clipping,
 * checked like every other option.
 */
import { numberIn, oneOf } from './checks.js';
import type { LossKind } from './types.js';

export function lossKind(value: unknown): LossKind {
  return oneOf(value ?? 'mse', ['mse', 'cross_entropy'] as const, 'loss');
}

/** Gradient clipping, checked: undefined means none. */
export interface Clipping {
  norm?: number;
  value?: number;
}

export function clipping(options: { clipGradNorm?: unknown; clipGradValue?: unknown }): Clipping {
  return { norm: clipOption(options.clipGradNorm, 'clipGradNorm'), value: clipOption(options.clipGradValue, 'clipGradValue') };
}

/** A gradient-clipping limit: undefined (no clipping) or a finite number > 0. */
function clipOption(value: unknown, name: string): number | undefined {
  return value === undefined ? undefined : numberIn(value, name, { min: 0, above: true });
}
