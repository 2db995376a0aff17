/**
 * The table of parts, in the order data flows through them: a model is the chain of those its configuration
 * has. Parameters are declared in this order (PyTorch's `state_dict` order for a module that registers its
 * embedding, its RNN and its Linear in turn), forward runs in it and backward against it.
 */
import { ParameterPlan, type ParamLayout } from '../layout.js';
import type { ModelConfig } from '../types.js';
import { type Core, core } from './core.js';
import { type Embedding, embedding } from './embedding.js';
import { type Head, head } from './head.js';
import type { Part } from './part.js';

export interface Parts {
  readonly embedding: Embedding | null;
  readonly core: Core;
  readonly head: Head | null;
  /** The parts the configuration has, in the order of the chain. */
  readonly chain: readonly Part[];
  readonly layout: ParamLayout;
}

export function createParts(c: ModelConfig): Parts {
  const params = new ParameterPlan();
  const e = embedding(c, params) as Embedding | null;
  const r = core(c, params) as Core;
  const h = head(c, params) as Head | null;
  return { embedding: e, core: r, head: h, chain: [e, r, h].filter((p) => p !== null), layout: params.layout() };
}

/** Every parameter a model of this configuration has, in `state_dict` order: the plan, without a model. */
export function parameterLayout(c: ModelConfig): ParamLayout {
  return createParts(c).layout;
}
