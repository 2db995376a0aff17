/**
 * The embedding: token ids in, one row of its [numEmbeddings, embeddingDim] weight out per id, as PyTorch's
 * nn.Embedding. Forward is a gather into the core's input; backward a scatter-add of the core's input gradient
 * into the rows the ids picked, except the padding row, which gets no gradient (PyTorch's padding_idx).
 */
import { type ParameterPlan, type Take, qualified } from '../layout.js';
import type { EmbeddingConfig, ModelConfig } from '../types.js';
import type { Context, Part, PartFactory, Stream } from './part.js';

export class Embedding implements Part {
  /** Element offset of the weight in the parameter block. */
  readonly weight: number;
  readonly weightName: string;
  private ids = 0;

  constructor(
    private readonly e: EmbeddingConfig,
    c: ModelConfig,
    params: ParameterPlan,
  ) {
    this.weightName = qualified(c.names.embedding, 'weight');
    this.weight = params.add(this.weightName, [e.numEmbeddings, e.embeddingDim], { kind: 'normal', zeroRow: e.paddingIdx });
  }

  plan(_ctx: Context, s: Stream, take: Take): void {
    this.ids = take(s.T * s.B);
    s.ids = this.ids;
  }

  forward(ctx: Context, s: Stream): void {
    ctx.k.embedding_forward(s.x, ctx.param(this.weight), this.ids, s.T * s.B, this.e.embeddingDim);
  }

  backward(ctx: Context, s: Stream): void {
    ctx.k.embedding_backward(ctx.grad(this.weight), s.dx, this.ids, s.T * s.B, this.e.embeddingDim, this.e.paddingIdx ?? -1);
  }
}

export const embedding: PartFactory = (c, params) => (c.embedding ? new Embedding(c.embedding, c, params) : null);
