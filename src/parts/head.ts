/**
 * The head: a Linear layer y = x Wᵀ + b (PyTorch's nn.Linear, under the head's module name), read either at
 * every step of the last layer's output, or once per sequence from its final state: for a bidirectional core the
 * forward direction's state after each column's last step beside the reverse direction's after t = 0, PyTorch's
 * `cat(h_n[-2], h_n[-1])`. Tied to the embedding, its weight is the embedding's: one parameter with two names,
 * whose gradient sums both uses.
 */
import { type ParameterPlan, type Take, directions, featureSize, qualified } from '../layout.js';
import type { ModelConfig } from '../types.js';
import type { Context, Part, PartFactory, Stream } from './part.js';

export class Head implements Part {
  readonly weight: number;
  readonly bias: number;
  private y = 0;
  private dFeatures = 0;
  /** With the head on the final states: the gathered final states [B, D·H] and their gradient. */
  private final = 0;
  private dFinal = 0;

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
    const F = featureSize(this.c);
    const rows = this.c.headOn === 'final' ? s.B : s.T * s.B;
    if (this.c.headOn === 'final') {
      this.final = take(s.B * F);
      this.dFinal = take(s.B * F);
    }
    this.y = take(rows * this.c.outputSize);
    this.dFeatures = take(s.T * s.B * F);
    s.y = this.y;
    s.dFeatures = this.dFeatures;
  }

  forward(ctx: Context, s: Stream): void {
    const c = this.c;
    const F = featureSize(c);
    const final = c.headOn === 'final';
    if (final) this.gatherFinal(ctx, s);
    ctx.k.linear_forward(
      this.y,
      final ? this.final : s.features,
      ctx.param(this.weight),
      ctx.param(this.bias),
      final ? s.B : s.T * s.B,
      F,
      c.outputSize,
    );
  }

  backward(ctx: Context, s: Stream): void {
    const c = this.c;
    const F = featureSize(c);
    const { T, B } = s;
    ctx.heap.fill(this.dFeatures, T * B * F);
    if (c.headOn === 'steps') {
      ctx.k.linear_backward(
        this.dFeatures,
        ctx.grad(this.weight),
        ctx.grad(this.bias),
        s.dy,
        s.features,
        ctx.param(this.weight),
        T * B,
        F,
        c.outputSize,
      );
      return;
    }
    ctx.heap.fill(this.dFinal, B * F);
    ctx.k.linear_backward(
      this.dFinal,
      ctx.grad(this.weight),
      ctx.grad(this.bias),
      s.dy,
      this.final,
      ctx.param(this.weight),
      B,
      F,
      c.outputSize,
    );
    // Each half of a final state is one output row's half, and nothing else reaches it: a copy, not a sum.
    this.eachFinalRow(ctx, s, (from, to, n) =>
      ctx.heap.f32.copyWithin(this.dFeatures / 4 + from, this.dFinal / 4 + to, this.dFinal / 4 + to + n),
    );
  }

  /** final[b] = the last layer's state at each direction's last step: cat(h_n[-2], h_n[-1]) for two directions. */
  private gatherFinal(ctx: Context, s: Stream): void {
    this.eachFinalRow(ctx, s, (from, to, n) =>
      ctx.heap.f32.copyWithin(this.final / 4 + to, s.features / 4 + from, s.features / 4 + from + n),
    );
  }

  /**
   * For each column and direction: where its final state sits in the features (an element offset from their
   * start), where it goes in the [B, D·H] final states, and its width H.
   */
  private eachFinalRow(ctx: Context, s: Stream, visit: (from: number, to: number, n: number) => void): void {
    const { T, B } = s;
    const H = this.c.hiddenSize;
    const F = featureSize(this.c);
    const m = ctx.heap.i32;
    for (let b = 0; b < B; b++) {
      const last = (s.lengths ? m[s.lengths / 4 + b] : T) - 1;
      for (let d = 0; d < directions(this.c); d++) {
        const t = d === 0 ? last : 0; // the reverse direction ends at t = 0
        visit((t * B + b) * F + d * H, b * F + d * H, H);
      }
    }
  }
}

export const head: PartFactory = (c, params) => (c.outputSize ? new Head(c, params) : null);
