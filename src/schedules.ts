/**
 * Learning-rate schedules with PyTorch's formulas, stepped once per epoch as PyTorch's schedulers usually are.
 * Each gives the learning rate of epoch e (0, 1, …) from the optimizer's base rate; ReduceLROnPlateau also
 * watches a metric. Names and defaults follow torch.optim.lr_scheduler, camelCased.
 */
import { OptionError } from './errors.js';
import { checkKeys, nonNegativeInt as nonNegativeInteger, numberIn, oneOf, positiveInt as positiveInteger } from './checks.js';

const positive = (value: unknown, name: string) => numberIn(value, `schedule.${name}`, { min: 0, above: true });
const nonNegative = (value: unknown, name: string) => numberIn(value, `schedule.${name}`, { min: 0 });
const factorIn01 = (value: unknown, name: string) => numberIn(value, `schedule.${name}`, { min: 0, max: 1, above: true });
const positiveInt = (value: unknown, name: string) => positiveInteger(value, `schedule.${name}`);
const nonNegativeInt = (value: unknown, name: string) => nonNegativeInteger(value, `schedule.${name}`);

/** A learning-rate schedule for `train` (torch.optim.lr_scheduler's, camelCased), stepped after every epoch e = 0, 1, …. */
export type ScheduleOptions =
  | {
      /** StepLR: lr · gamma^⌊e / stepSize⌋. */
      kind: 'step';
      /** Epochs between two decays. */
      stepSize: number;
      /** Factor of each decay (default 0.1). */
      gamma?: number | undefined;
    }
  | {
      /** ExponentialLR: lr · gamma^e. */
      kind: 'exponential';
      /** Factor per epoch. */
      gamma: number;
    }
  | {
      /** CosineAnnealingLR: etaMin + (lr - etaMin)(1 + cos(π e / tMax)) / 2. */
      kind: 'cosine';
      /** Epochs of the half cosine. */
      tMax: number;
      /** The smallest learning rate (default 0). */
      etaMin?: number | undefined;
    }
  | {
      /** LinearLR (linear warm-up): lr · (startFactor + (endFactor - startFactor) · min(e, totalIters) / totalIters). */
      kind: 'linear';
      /** Factor at the first epoch (default 1/3). */
      startFactor?: number | undefined;
      /** Factor from `totalIters` on (default 1). */
      endFactor?: number | undefined;
      /** Epochs of the ramp (default 5). */
      totalIters?: number | undefined;
    }
  | {
      /** ReduceLROnPlateau: lr · factor whenever the metric has not improved for `patience` epochs. */
      kind: 'plateau';
      /** Whether the metric (the validation loss, else the training loss) should fall ('min', default) or rise. */
      mode?: 'min' | 'max' | undefined;
      /** Factor of each reduction (default 0.1). */
      factor?: number | undefined;
      /** Epochs without improvement before a reduction (default 10). */
      patience?: number | undefined;
      /** The least change that counts as an improvement (default 1e-4). */
      threshold?: number | undefined;
      /** Whether `threshold` is relative to the best value ('rel', default) or absolute. */
      thresholdMode?: 'rel' | 'abs' | undefined;
      /** Epochs to wait after a reduction before watching again (default 0). */
      cooldown?: number | undefined;
      /** The learning rate is never reduced below this (default 0). */
      minLr?: number | undefined;
      /** A reduction smaller than this is skipped (default 1e-8). */
      eps?: number | undefined;
    };

export interface Schedule {
  /** The learning rate for the current epoch. */
  readonly lr: number;
  /** Advances one epoch; `metric` (validation loss, else training loss) feeds ReduceLROnPlateau. */
  step(metric: number): void;
}

const KEYS: Record<ScheduleOptions['kind'], readonly string[]> = {
  step: ['stepSize', 'gamma'],
  exponential: ['gamma'],
  cosine: ['tMax', 'etaMin'],
  linear: ['startFactor', 'endFactor', 'totalIters'],
  plateau: ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps'],
};

export function createSchedule(options: ScheduleOptions | undefined, baseLr: number): Schedule {
  if (options === undefined) return closedForm(() => baseLr);
  checkKeys(options, ['kind', ...new Set(Object.values(KEYS).flat())], 'schedule');
  const o = options as ScheduleOptions;
  oneOf(o.kind, Object.keys(KEYS) as ScheduleOptions['kind'][], 'schedule.kind');
  checkKeys(o, ['kind', ...KEYS[o.kind]], `schedule (${o.kind})`);
  switch (o.kind) {
    case 'step': {
      const stepSize = positiveInt(o.stepSize, 'stepSize');
      const gamma = positive(o.gamma ?? 0.1, 'gamma');
      return closedForm((e) => baseLr * gamma ** Math.floor(e / stepSize));
    }
    case 'exponential': {
      const gamma = positive(o.gamma, 'gamma');
      return closedForm((e) => baseLr * gamma ** e);
    }
    case 'cosine': {
      const tMax = positiveInt(o.tMax, 'tMax');
      const etaMin = nonNegative(o.etaMin ?? 0, 'etaMin');
      return closedForm((e) => etaMin + ((baseLr - etaMin) * (1 + Math.cos((Math.PI * e) / tMax))) / 2);
    }
    case 'linear': {
      const start = factorIn01(o.startFactor ?? 1 / 3, 'startFactor');
      const end = factorIn01(o.endFactor ?? 1, 'endFactor');
      const total = positiveInt(o.totalIters ?? 5, 'totalIters');
      return closedForm((e) => baseLr * (start + ((end - start) * Math.min(e, total)) / total));
    }
    case 'plateau':
      return plateau(o, baseLr);
  }
}

function closedForm(lrAt: (epoch: number) => number): Schedule {
  let epoch = 0;
  return {
    get lr() {
      return lrAt(epoch);
    },
    step() {
      epoch += 1;
    },
  };
}

/** PyTorch's ReduceLROnPlateau: compares each metric with the best so far, waits, reduces, cools down. */
function plateau(o: Extract<ScheduleOptions, { kind: 'plateau' }>, baseLr: number): Schedule {
  const mode = oneOf(o.mode ?? 'min', ['min', 'max'] as const, 'schedule.mode');
  const thresholdMode = oneOf(o.thresholdMode ?? 'rel', ['rel', 'abs'] as const, 'schedule.thresholdMode');
  const factor = factorIn01(o.factor ?? 0.1, 'factor');
  if (factor >= 1) throw new OptionError('schedule.factor must be below 1: it multiplies the learning rate on a plateau');
  const patience = nonNegativeInt(o.patience ?? 10, 'patience');
  const threshold = nonNegative(o.threshold ?? 1e-4, 'threshold');
  const cooldown = nonNegativeInt(o.cooldown ?? 0, 'cooldown');
  const minLr = nonNegative(o.minLr ?? 0, 'minLr');
  const eps = nonNegative(o.eps ?? 1e-8, 'eps');
  const better = (a: number, best: number) => {
    if (mode === 'min') return thresholdMode === 'rel' ? a < best * (1 - threshold) : a < best - threshold;
    return thresholdMode === 'rel' ? a > best * (1 + threshold) : a > best + threshold;
  };
  let lr = baseLr;
  let best = mode === 'min' ? Infinity : -Infinity;
  let badEpochs = 0;
  let cooldownLeft = 0;
  return {
    get lr() {
      return lr;
    },
    step(metric: number) {
      if (better(metric, best)) {
        best = metric;
        badEpochs = 0;
      } else {
        badEpochs += 1;
      }
      if (cooldownLeft > 0) {
        cooldownLeft -= 1;
        badEpochs = 0; // bad epochs in cooldown are ignored
      }
      if (badEpochs > patience) {
        const reduced = Math.max(lr * factor, minLr);
        if (lr - reduced > eps) lr = reduced; // changes smaller than eps are ignored
        cooldownLeft = cooldown;
        badEpochs = 0;
      }
    },
  };
}
