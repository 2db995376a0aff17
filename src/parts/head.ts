/**
 * The head: a Linear layer z = x Wᵀ + b (PyTorch's nn.Linear, under the head's module name) and a function on it
 * (Keras's Dense `activation`, linear by default), read either at every step of the last core's output, or once
 * per sequence from the final states the core gathers (PyTorch's `cat(h_n[-2], h_n[-1])`). Tied to the
 * embedding, its weight is the embedding's: one parameter with two names, whose gradient sums both uses.
 */
import { type ParameterPlan, type Take, featureSize, qualified } from '../layout.js';
import type { ModelConfig } from '../types.js';
import type { Context, Part, PartFactory, Stream } from './part.js';

/** The kernels' codes of the head's activations (see `activation_forward`). */
const ACTIVATION = { linear: 0, relu: 1, tanh: 2, sigmoid: 3, softmax: 4 } as const;

export class Head implements Part {
  readonly weight: number;
  readonly bias: number;
  /** The linear layer's output, the activated output (the same buffer for 'linear'), and the gradient on the former. */
  private z = 0;
  private y = 0;
  private dz = 0;
  private dFeatures = 0;

  constructor(
    private readonly c: ModelConfig,
    params: ParameterPlan,
  ) {
    const F = featureSize(c);
    const name = (n: string) => qualified(c.names.head, n);
    const init = { kind: 'uniform', bound: 1 / Math.sqrt(F) } as const; // nn.Linear: U(±1/√fan_in)
    this.weight = c.tieWeights
      ? params.alias(name('weight'), qualified(c.names.embedding, 'weight'))
      : params.add(name('weight'), [c.outputSize, F], init);
    this.bias = params.add(name('bias'), [c.outputSize], init);
  }

  plan(_ctx: Context, s: Stream, take: Take): void {
    const activated = this.c.headActivation !== 'linear';
    const size = this.rows(s) * this.c.outputSize;
    this.z = take(size);
    this.y = activated ? take(size) : this.z;
    this.dz = activated ? take(size) : 0;
    this.dFeatures = this.c.headOn === 'final' ? 0 : take(s.T * s.B * featureSize(this.c));
    s.y = this.y;
    s.logits = this.z;
    s.dFeatures = this.dFeatures;
  }

  forward(ctx: Context, s: Stream): void {
    const c = this.c;
    const final = c.headOn === 'final';
    const rows = this.rows(s);
    ctx.k.linear_forward(
      this.z,
      final ? s.final : s.features,
      ctx.param(this.weight),
      ctx.param(this.bias),
      rows,
      featureSize(c),
      c.outputSize,
    );
    if (this.y !== this.z) ctx.k.activation_forward(this.y, this.z, rows, c.outputSize, ACTIVATION[c.headActivation]);
  }

  backward(ctx: Context, s: Stream): void {
    const c = this.c;
    const F = featureSize(c);
    const rows = this.rows(s);
    // A loss on the logits (cross-entropy after a softmax) has its gradient on z already.
    let dz = s.dy;
    if (this.y !== this.z && !s.lossOnLogits) {
      ctx.k.activation_backward(this.dz, s.dy, this.y, rows, c.outputSize, ACTIVATION[c.headActivation]);
      dz = this.dz;
    }
    const input = c.headOn === 'final' ? s.final : s.features;
    const dInput = c.headOn === 'final' ? s.dFinal : this.dFeatures;
    ctx.k.linear_backward(dInput, ctx.grad(this.weight), ctx.grad(this.bias), dz, input, ctx.param(this.weight), rows, F, c.outputSize);
  }

  /** One row per step and column, or per column for a head on the final states. */
  private rows(s: Stream): number {
    return this.c.headOn === 'final' ? s.B : s.T * s.B;
  }
}

export const head: PartFactory = (c, params) => (c.outputSize ? new Head(c, params) : null);
