/**
 * The memory plan: where every named tensor of a model lives in its backend's heap.
 *
 * Parameters sit in one flat block in PyTorch's `state_dict` order, each part's under its prefix, so gradients
 * and optimizer state mirror it element for element and an optimizer is one kernel call over the whole block. A
 * tied weight is one parameter with two names. Activation caches and scratch space come after, each part laying
 * out its own slice, sized for the largest (T, B) seen so far and reused across calls.
 */
import type { CoreConfig, ModelConfig } from './types.js';

/** How a parameter starts: PyTorch's default for its module, drawn from the model's seeded generator. */
type Init =
  /** U(-bound, bound): nn.RNN/LSTM/GRU (1/√H) and nn.Linear (1/√fan_in). */
  | { readonly kind: 'uniform'; readonly bound: number }
  /** N(0, 1), with the padding row zeroed: nn.Embedding. */
  | { readonly kind: 'normal'; readonly zeroRow: number | null };

export interface ParamSpec {
  /** PyTorch's name, e.g. `rnn.weight_hh_l1_reverse` or `decoder.bias`. */
  readonly name: string;
  readonly shape: readonly number[];
  /** Offset in elements from the start of the parameter block. */
  readonly offset: number;
  readonly size: number;
  readonly init: Init;
}

export interface ParamLayout {
  /** Every parameter once, in `state_dict` order. */
  readonly specs: readonly ParamSpec[];
  /** A tied weight's second name → the name it is stored under (the head's weight → the embedding's). */
  readonly aliases: ReadonlyMap<string, string>;
  /** Every name in `state_dict` order: a tied weight under both, each where its module declares it. */
  readonly names: readonly string[];
  /** Total number of parameters. */
  readonly count: number;
}

/** Declares one parameter and returns its offset; a part calls it for each of its parameters in order. */
export type AddParam = (name: string, shape: readonly number[], init: Init) => number;

export const directions = (c: Pick<CoreConfig, 'bidirectional'>) => (c.bidirectional ? 2 : 1);

/** The fields of a core's configuration but its name: the first core's are the model configuration's own. */
export const CORE_FIELDS = [
  'cell',
  'hiddenSize',
  'numLayers',
  'bidirectional',
  'nonlinearity',
  'recurrentActivation',
  'resetAfter',
  'bias',
  'goBackwards',
  'reverse',
  'mergeMode',
] as const satisfies readonly (keyof CoreConfig)[];

/** Every core of the model in the order data flows: the first (the top-level fields), then its stack. */
export function cores(c: ModelConfig): readonly CoreConfig[] {
  const first = Object.fromEntries(CORE_FIELDS.map((key) => [key, c[key]])) as Omit<CoreConfig, 'name'>;
  return [{ name: c.names.core, ...first }, ...c.stack];
}

/** Width of a core's output: D·H, or H where an element-wise merge joins the two directions. */
export const coreWidth = (core: Omit<CoreConfig, 'name'>) => (core.mergeMode === 'concat' ? directions(core) : 1) * core.hiddenSize;

/**
 * The core whose states a call takes and returns (h0, hN, …): a stack's last, or the configuration itself,
 * whose fields are its only core's (asked on every call: nothing is made for it).
 */
export const stateCore = (c: ModelConfig): Omit<CoreConfig, 'name'> => (c.stack.length ? c.stack[c.stack.length - 1] : c);

/** The shape of the initial and final states, [L·D, B, H], of the state core. */
export function stateShape(c: ModelConfig, B: number): [number, number, number] {
  const core = stateCore(c);
  return [core.numLayers * directions(core), B, core.hiddenSize];
}

/** Width of the last core's output: the head's input and, without a head, the model's output. */
export const featureSize = (c: ModelConfig) => coreWidth(stateCore(c));

/** Width of y: the head's outputs, or the core's features when there is no head. */
export const outputWidth = (c: ModelConfig) => c.outputSize || featureSize(c);

/** A parameter's full name: the part's module name, then the parameter's own ('rnn' + 'weight_ih_l0'). */
export const qualified = (prefix: string, name: string) => (prefix ? `${prefix}.${name}` : name);

/** A builder of the parameter block: the parts add to it in the order of their table. */
export class ParameterPlan {
  readonly specs: ParamSpec[] = [];
  readonly aliases = new Map<string, string>();
  readonly names: string[] = [];
  count = 0;

  readonly add: AddParam = (name, shape, init) => {
    const size = shape.reduce((a, b) => a * b, 1);
    this.specs.push({ name, shape: [...shape], offset: this.count, size, init });
    this.names.push(name);
    this.count += size;
    return this.count - size;
  };

  /** A second name for a parameter already added (a tied weight): returns the parameter's offset. */
  alias(name: string, of: string): number {
    const spec = this.specs.find((s) => s.name === of);
    if (!spec) throw new Error(`internal: alias ${name} of unknown parameter ${of}`);
    this.aliases.set(name, of);
    this.names.push(name);
    return spec.offset;
  }

  layout(): ParamLayout {
    return { specs: this.specs, aliases: this.aliases, names: this.names, count: this.count };
  }
}

export const align16 = (n: number) => Math.ceil(n / 16) * 16;

/** Takes 16-byte-aligned slices of the heap in turn, from `start`: a workspace, or the model's lasting memory. */
export class Slicer {
  private at: number;

  constructor(start: number) {
    this.at = align16(start);
  }

  /** Byte offset of a new slice of `floats` 4-byte elements. */
  readonly take = (floats: number): number => {
    const ptr = this.at;
    this.at = align16(this.at + floats * 4);
    return ptr;
  };

  /** The first byte after every slice taken. */
  get end(): number {
    return this.at;
  }
}

export type Take = Slicer['take'];
