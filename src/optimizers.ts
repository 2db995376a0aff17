/**
 * The one table of optimizers: PyTorch's hyperparameters (camelCased) with PyTorch's defaults, how many
 * parameter-sized state tensors each keeps, and which kernel applies its update. Adding an optimizer means
 * a kernel and an entry here; the model class only asks this table.
 */
import type { Kernels } from './backend.js';
import { NonFiniteError, OptionError, ShapeError, StateDictError } from './errors.js';
import { bool, checkKeys, nonNegativeInt, numberIn, oneOf } from './checks.js';
import { firstNonFinite } from './tensor.js';
import type { OptimizerConfig, OptimizerOptions, OptimizerSnapshot } from './types.js';

const nonNegative = (value: unknown, name: string) => numberIn(value, `optimizer.${name}`, { min: 0 });

type OptimizerKind = OptimizerConfig['kind'];

/** Byte offsets of the update's operands; `state[i]` is the i-th state tensor, `numParameters` floats each. */
export interface UpdateCall {
  p: number;
  g: number;
  state: readonly number[];
  n: number;
  /** 1 on the first update, counting up. */
  step: number;
}

interface OptimizerSpec<C extends OptimizerConfig> {
  /** Fills in PyTorch's defaults and checks ranges. */
  parse(o: Record<string, unknown>, lr: number): C;
  /** Parameter-sized state tensors kept between steps. */
  stateTensors(c: C): number;
  /** The value every state tensor starts from. */
  initialState(c: C): number;
  /** Runs the update kernel with `commit` (0: a check that writes nothing); its flag: 1 when non-finite. */
  update(k: Kernels, c: C, a: UpdateCall, commit: 0 | 1): number;
}

const SPECS: { [K in OptimizerKind]: OptimizerSpec<Extract<OptimizerConfig, { kind: K }>> } = {
  sgd: {
    parse: (o, lr) => {
      const c = {
        kind: 'sgd' as const,
        lr,
        momentum: nonNegative(o.momentum ?? 0, 'momentum'),
        dampening: nonNegative(o.dampening ?? 0, 'dampening'),
        nesterov: bool(o.nesterov ?? false, 'optimizer.nesterov'),
        weightDecay: nonNegative(o.weightDecay ?? 0, 'weightDecay'),
      };
      if (c.nesterov && (c.momentum === 0 || c.dampening !== 0)) {
        throw new OptionError('optimizer.nesterov needs momentum > 0 and dampening 0 (as in PyTorch)');
      }
      return c;
    },
    stateTensors: (c) => (c.momentum === 0 ? 0 : 1),
    initialState: () => 0,
    update: (k, c, a, commit) =>
      k.sgd_update(
        a.p,
        a.g,
        a.state[0] ?? 0,
        a.n,
        c.lr,
        c.momentum,
        c.dampening,
        c.nesterov ? 1 : 0,
        c.weightDecay,
        a.step === 1 ? 1 : 0,
        commit,
      ),
  },
  adam: {
    parse: (o, lr) => ({ kind: 'adam', lr, ...adamFields(o, 0) }),
    stateTensors: (c) => (c.amsgrad ? 3 : 2),
    initialState: () => 0,
    update: (k, c, a, commit) => adamUpdate(k, c, a, 0, commit),
  },
  adamw: {
    parse: (o, lr) => ({ kind: 'adamw', lr, ...adamFields(o, 0.01) }),
    stateTensors: (c) => (c.amsgrad ? 3 : 2),
    initialState: () => 0,
    update: (k, c, a, commit) => adamUpdate(k, c, a, 1, commit),
  },
  rmsprop: {
    parse: (o, lr) => ({
      kind: 'rmsprop',
      lr,
      alpha: numberIn(o.alpha ?? 0.99, 'optimizer.alpha', { min: 0, max: 1, below: true }),
      eps: nonNegative(o.eps ?? 1e-8, 'eps'),
      weightDecay: nonNegative(o.weightDecay ?? 0, 'weightDecay'),
      momentum: nonNegative(o.momentum ?? 0, 'momentum'),
      centered: bool(o.centered ?? false, 'optimizer.centered'),
    }),
    // The running mean of g², then the running mean of g when centered, then the momentum buffer.
    stateTensors: (c) => 1 + (c.centered ? 1 : 0) + (c.momentum > 0 ? 1 : 0),
    initialState: () => 0,
    update: (k, c, a, commit) =>
      k.rmsprop_update(
        a.p,
        a.g,
        a.state[0],
        c.centered ? a.state[1] : 0,
        c.momentum > 0 ? a.state.at(-1)! : 0,
        a.n,
        c.lr,
        c.alpha,
        c.eps,
        c.weightDecay,
        c.momentum,
        c.centered ? 1 : 0,
        commit,
      ),
  },
  adagrad: {
    parse: (o, lr) => ({
      kind: 'adagrad',
      lr,
      lrDecay: nonNegative(o.lrDecay ?? 0, 'lrDecay'),
      weightDecay: nonNegative(o.weightDecay ?? 0, 'weightDecay'),
      initialAccumulatorValue: nonNegative(o.initialAccumulatorValue ?? 0, 'initialAccumulatorValue'),
      eps: nonNegative(o.eps ?? 1e-10, 'eps'),
    }),
    stateTensors: () => 1,
    initialState: (c) => c.initialAccumulatorValue,
    update: (k, c, a, commit) => k.adagrad_update(a.p, a.g, a.state[0], a.n, c.lr, c.lrDecay, c.eps, c.weightDecay, a.step, commit),
  },
};

const KEYS: { [K in OptimizerKind]: readonly string[] } = {
  sgd: ['momentum', 'dampening', 'nesterov', 'weightDecay'],
  adam: ['betas', 'eps', 'weightDecay', 'amsgrad'],
  adamw: ['betas', 'eps', 'weightDecay', 'amsgrad'],
  rmsprop: ['alpha', 'eps', 'weightDecay', 'momentum', 'centered'],
  adagrad: ['lrDecay', 'weightDecay', 'initialAccumulatorValue', 'eps'],
};

/** PyTorch's hyperparameters and defaults; Adam (lr 1e-3) when nothing is said. */
export function optimizerConfig(options: OptimizerOptions | undefined): OptimizerConfig {
  const o = (options ?? { kind: 'adam' }) as Record<string, unknown>;
  checkKeys(o, ['kind', 'lr', ...new Set(Object.values(KEYS).flat())], 'optimizer');
  const kind = o.kind as OptimizerKind;
  oneOf(kind, Object.keys(SPECS) as OptimizerKind[], 'optimizer.kind');
  checkKeys(o, ['kind', 'lr', ...KEYS[kind]], `optimizer (${kind})`);
  return SPECS[kind].parse(o, nonNegative(o.lr ?? 1e-3, 'lr'));
}

export function optimizerStateTensors(c: OptimizerConfig): number {
  return (SPECS[c.kind] as OptimizerSpec<OptimizerConfig>).stateTensors(c);
}

export function optimizerInitialState(c: OptimizerConfig): number {
  return (SPECS[c.kind] as OptimizerSpec<OptimizerConfig>).initialState(c);
}

/**
 * One optimizer step over the whole parameter block. Returns whether it is non-finite: whether any value it
 * writes, or with `commit` 0 would write, to the parameters or the optimizer's state is NaN or ±Infinity.
 * With `commit` 0 it is a check only and nothing in the heap changes, so a caller can refuse the step first;
 * with 1 it writes, exactly as PyTorch's rule gives, whatever the answer.
 */
export function applyUpdate(k: Kernels, c: OptimizerConfig, a: UpdateCall, commit: 0 | 1): boolean {
  return (SPECS[c.kind] as OptimizerSpec<OptimizerConfig>).update(k, c, a, commit) !== 0;
}

function adamFields(o: Record<string, unknown>, defaultDecay: number) {
  const betas = (o.betas ?? [0.9, 0.999]) as unknown;
  if (!Array.isArray(betas) || betas.length !== 2 || !betas.every((b) => typeof b === 'number' && b >= 0 && b < 1)) {
    throw new OptionError(`optimizer.betas must be two numbers in [0, 1), got ${JSON.stringify(betas)}`);
  }
  return {
    betas: [betas[0], betas[1]] as const,
    eps: nonNegative(o.eps ?? 1e-8, 'eps'),
    weightDecay: nonNegative(o.weightDecay ?? defaultDecay, 'weightDecay'),
    amsgrad: bool(o.amsgrad ?? false, 'optimizer.amsgrad'),
  };
}

function adamUpdate(
  k: Kernels,
  c: Extract<OptimizerConfig, { kind: 'adam' | 'adamw' }>,
  a: UpdateCall,
  decoupled: number,
  commit: 0 | 1,
): number {
  return k.adam_update(
    a.p,
    a.g,
    a.state[0],
    a.state[1],
    c.amsgrad ? a.state[2] : 0,
    a.n,
    c.lr,
    c.betas[0],
    c.betas[1],
    c.eps,
    c.weightDecay,
    decoupled,
    c.amsgrad ? 1 : 0,
    a.step,
    commit,
  );
}

/** A snapshot from `optimizerState()` (or a file) checked against a model of `count` parameters. */
export function checkOptimizerSnapshot(snapshot: OptimizerSnapshot, count: number, where: string): OptimizerSnapshot {
  checkKeys(snapshot, ['config', 'step', 'tensors'], where);
  const config = optimizerConfig(snapshot.config as OptimizerOptions);
  const step = nonNegativeInt(snapshot.step, `${where}: step`);
  const want = optimizerStateTensors(config);
  const tensors: unknown = snapshot.tensors;
  if (!Array.isArray(tensors) || tensors.length !== want) {
    throw new StateDictError(
      `${where}: ${config.kind} keeps ${want} state tensors, got ${Array.isArray(tensors) ? tensors.length : typeof tensors}`,
    );
  }
  tensors.forEach((t: unknown, i) => {
    if (!(t instanceof Float32Array) || t.length !== count) {
      throw new ShapeError(`${where}: state tensor ${i} must be a Float32Array of ${count} values`);
    }
    const bad = firstNonFinite(t);
    if (bad >= 0) throw new NonFiniteError(`${where}: state tensor ${i} element ${bad} is ${t[bad]}`);
  });
  return { config, step, tensors: tensors as Float32Array[] };
}
