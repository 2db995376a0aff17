/**
 * A bidirectional layer's two directions joined element-wise in the graph (Keras's merge modes, as toONNX writes
 * them: Slices of Y or Y_h, then Add, Mul, or Add and a half). The joined values are referred to as a
 * one-direction layer's outputs would be, so the checks of what reads them (the next layer, the head, the graph's
 * output) need only see the layer as it is read: `view`.
 */
import { type RefValue, type TracedLayer, ValueTracer, code, indexOf, sourceOf } from './values.js';

/** A traced layer with the sizes it was traced at. */
type TracedAt = TracedLayer & { T: number; batch: number; layout: number };

export class MergeTracer extends ValueTracer {
  /**
   * A's and B's elements are a bidirectional layer's two directions (its Y or Y_h) at the same step, column and
   * unit: their sum or product is that layer merged, referred to as a one-direction layer's outputs would be.
   */
  merge(mode: 'sum' | 'mul', A: RefValue, B: RefValue): RefValue {
    const refuse = (): never => this.unsupported("it combines values that are not a bidirectional layer's two directions");
    if (A.data.length !== B.data.length || A.data.length === 0) refuse();
    const first = this.sources[sourceOf(A.data[0])];
    if (first.kind !== 'Y' && first.kind !== 'Yh') return refuse();
    const L = this.layers[first.layer];
    const of = first.kind;
    const from = this.sources.indexOf(first);
    const out = this.mergedSource(of, first.layer, mode);
    const data = new Float64Array(A.data.length);
    for (let i = 0; i < A.data.length; i++) {
      if (sourceOf(A.data[i]) !== from || sourceOf(B.data[i]) !== from || L.directions !== 2) refuse();
      let [p, q] = [this.position(L, of, indexOf(A.data[i])), this.position(L, of, indexOf(B.data[i]))];
      if (p.d === 1) [p, q] = [q, p]; // both ops commute
      if (p.d !== 0 || q.d !== 1 || p.t !== q.t || p.b !== q.b || p.h !== q.h) refuse();
      data[i] = code(out, this.oneDirection(L, of, p));
    }
    return { kind: 'ref', dims: A.dims, data };
  }

  /** A merged sum times 0.5 (or over 2): the average. */
  average(x: RefValue): RefValue {
    const s = this.sources[sourceOf(x.data[0])];
    if (s.kind !== 'merged' || s.mode !== 'sum' || x.data.some((c) => sourceOf(c) !== sourceOf(x.data[0]))) {
      this.unsupported('a scaling of values other than a sum of two directions');
    }
    const out = this.mergedSource(s.of, s.layer, 'ave');
    return { kind: 'ref', dims: x.dims, data: x.data.map((c) => code(out, indexOf(c))) };
  }

  private mergedSource(of: 'Y' | 'Yh', layer: number, mode: 'sum' | 'ave' | 'mul'): number {
    const i = this.sources.findIndex((s) => s.kind === 'merged' && s.of === of && s.layer === layer && s.mode === mode);
    return i >= 0 ? i : this.source({ kind: 'merged', of, layer, mode });
  }

  /** Where element i of a layer's Y [T, D, B, H] (layout 1: [B, T, D, H]) or Y_h [D, B, H] ([B, D, H]) is. */
  private position(L: TracedAt, of: 'Y' | 'Yh', i: number): { t: number; d: number; b: number; h: number } {
    const { hiddenSize: H, directions: D, T, batch: Bt } = L;
    const h = i % H;
    const r = Math.floor(i / H);
    if (of === 'Yh') return L.layout === 0 ? { t: 0, d: Math.floor(r / Bt), b: r % Bt, h } : { t: 0, d: r % D, b: Math.floor(r / D), h };
    if (L.layout === 0) return { t: Math.floor(r / (D * Bt)), d: Math.floor(r / Bt) % D, b: r % Bt, h };
    return { b: Math.floor(r / (T * D)), t: Math.floor(r / D) % T, d: r % D, h };
  }

  /** The index the same (t, b, h) has in a one-direction layer's Y or Y_h. */
  private oneDirection(L: TracedAt, of: 'Y' | 'Yh', p: { t: number; b: number; h: number }): number {
    const { hiddenSize: H, T, batch: Bt } = L;
    if (of === 'Yh') return p.b * H + p.h;
    return (L.layout === 0 ? p.t * Bt + p.b : p.b * T + p.t) * H + p.h;
  }

  /**
   * How layer k is read: as it is, or merged (the first element's source says which). A merged layer reads
   * as one direction; the mode is recorded, and one layer read in two modes is refused.
   */
  view(k: number, first: number): { D: number; ySource: number; hSource: number } {
    const L = this.layers[k];
    const s = this.sources[sourceOf(first)];
    if (s?.kind !== 'merged' || s.layer !== k) {
      return {
        D: L.directions,
        ySource: this.sources.findIndex((x) => x.kind === 'Y' && x.layer === k),
        hSource: this.sources.findIndex((x) => x.kind === 'Yh' && x.layer === k),
      };
    }
    const known = this.merges.get(k);
    if (known && known !== s.mode) this.unsupported(`layer ${k}'s directions are joined in two ways (${known}, ${s.mode})`);
    this.merges.set(k, s.mode);
    const find = (of: 'Y' | 'Yh') =>
      this.sources.findIndex((x) => x.kind === 'merged' && x.of === of && x.layer === k && x.mode === s.mode);
    return { D: 1, ySource: find('Y'), hSource: find('Yh') };
  }

  /** The layers whose two directions the graph joins element-wise, and how. */
  readonly merges = new Map<number, 'sum' | 'ave' | 'mul'>();
}
