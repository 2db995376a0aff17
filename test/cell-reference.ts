/**
 * A float64 reference of one direction of one LSTM or GRU layer, written from the equations alone, for
 * test/kernels-variants.test.ts: column by column, step by step, plain loops over Float64Array. Every gate
 * function (σ and both hard sigmoids), tanh or relu, the GRU's reset gate after or before the product,
 * per-column lengths and the reverse direction. The backward pass is the textbook BPTT of the loss
 * L = Σ dout ⊙ out, with each derivative taken from the pre-activation (not from the output, as the kernels do).
 */

export interface CellCase {
  cell: 'lstm' | 'gru';
  T: number;
  B: number;
  I: number;
  H: number;
  /** 0 σ, 1 clip(0.2a + 0.5, 0, 1), 2 clip(a/6 + 0.5, 0, 1). */
  gate: number;
  relu: boolean;
  /** GRU: r⊙(h W_hnᵀ + b_hn) when true, (r⊙h) W_hnᵀ + b_hn when false. */
  resetAfter: boolean;
  reverse: boolean;
  lengths: number[] | null;
}

/** The layer's inputs and parameters, and (for the gradient) the same shapes. c0 is empty for the GRU. */
export interface CellTensors {
  x: Float64Array; // [T, B, I]
  h0: Float64Array; // [B, H]
  c0: Float64Array; // [B, H]
  w_ih: Float64Array; // [G, I]
  w_hh: Float64Array; // [G, H]
  b_ih: Float64Array | null; // [G]
  b_hh: Float64Array | null; // [G]
}

export interface Forward {
  out: Float64Array; // [T, B, H], zero at padded steps
  /** The smallest distance of any pre-activation from a kink of its function (Infinity when none has one). */
  margin: number;
  /** Hard-sigmoid gate values clipped to 0 or 1, and those strictly inside. */
  clipped: number;
  inside: number;
}

const SLOPE = [0, 0.2, 1 / 6];

const sigma = (a: number, kind: number) => (kind === 0 ? 1 / (1 + Math.exp(-a)) : Math.min(1, Math.max(0, SLOPE[kind] * a + 0.5)));
const dsigma = (a: number, kind: number) => {
  if (kind === 0) {
    const s = 1 / (1 + Math.exp(-a));
    return s * (1 - s);
  }
  const y = SLOPE[kind] * a + 0.5;
  return y > 0 && y < 1 ? SLOPE[kind] : 0;
};
const act = (a: number, relu: boolean) => (relu ? Math.max(0, a) : Math.tanh(a));
const dact = (a: number, relu: boolean) => (relu ? (a > 0 ? 1 : 0) : 1 - Math.tanh(a) ** 2);

/** Σ_k w[r, k] v[k] for a row-major [·, n] matrix. */
function dot(w: Float64Array, r: number, v: ArrayLike<number>, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += w[r * n + k] * v[k];
  return s;
}

/**
 * What a value passed to `seen` is: a gate's pre-activation, a candidate's, or the LSTM's cell state (relu'd
 * in h = o⊙relu(c), but exactly 0 where clipped gates and relu zeroed every term: flat around there, no kink).
 */
type Seen = 'gate' | 'act' | 'cell';

/** One step's values, kept for the backward pass. */
interface Step {
  t: number;
  x: Float64Array;
  hPrev: Float64Array;
  cPrev: Float64Array;
  /** Pre-activations: the LSTM's [4H]; the GRU's input side [3H] and hidden side [3H] (n rows over r⊙h before). */
  a: Float64Array;
  ah: Float64Array;
  /** The LSTM's c; the GRU's r⊙hPrev (reset before). */
  c: Float64Array;
  q: Float64Array;
}

/** Runs one column, calling `seen` on every pre-activation with its function, and returns its steps. */
function column(k: CellCase, p: CellTensors, b: number, out: Float64Array, seen: (a: number, kind: Seen) => void): Step[] {
  const { T, B, I, H } = k;
  const len = k.lengths ? k.lengths[b] : T;
  let h: Float64Array = p.h0.slice(b * H, (b + 1) * H);
  let c: Float64Array = k.cell === 'lstm' ? p.c0.slice(b * H, (b + 1) * H) : new Float64Array(H);
  const steps: Step[] = [];
  const G = (k.cell === 'lstm' ? 4 : 3) * H;
  const bias = (v: Float64Array | null, r: number) => (v ? v[r] : 0);
  for (let s = 0; s < len; s++) {
    const t = k.reverse ? len - 1 - s : s;
    const x = p.x.slice((t * B + b) * I, (t * B + b + 1) * I);
    const step: Step = {
      t,
      x,
      hPrev: h,
      cPrev: c,
      a: new Float64Array(G),
      ah: new Float64Array(G),
      c: new Float64Array(H),
      q: new Float64Array(H),
    };
    const hNext = new Float64Array(H);
    if (k.cell === 'lstm') {
      for (let r = 0; r < G; r++) step.a[r] = dot(p.w_ih, r, x, I) + bias(p.b_ih, r) + dot(p.w_hh, r, h, H) + bias(p.b_hh, r);
      for (let j = 0; j < H; j++) {
        const [ai, af, ag, ao] = [step.a[j], step.a[H + j], step.a[2 * H + j], step.a[3 * H + j]];
        for (const g of [ai, af, ao]) seen(g, 'gate');
        seen(ag, 'act');
        step.c[j] = sigma(af, k.gate) * c[j] + sigma(ai, k.gate) * act(ag, k.relu);
        seen(step.c[j], 'cell');
        hNext[j] = sigma(ao, k.gate) * act(step.c[j], k.relu);
      }
      c = step.c;
    } else {
      for (let r = 0; r < G; r++) step.a[r] = dot(p.w_ih, r, x, I) + bias(p.b_ih, r);
      for (let r = 0; r < 2 * H; r++) step.ah[r] = dot(p.w_hh, r, h, H) + bias(p.b_hh, r);
      const rGate = Array.from({ length: H }, (_, j) => sigma(step.a[j] + step.ah[j], k.gate));
      for (let j = 0; j < H; j++) step.q[j] = rGate[j] * h[j];
      for (let j = 0; j < H; j++) {
        const nr = 2 * H + j;
        step.ah[nr] = dot(p.w_hh, nr, k.resetAfter ? h : step.q, H) + bias(p.b_hh, nr);
        const z = sigma(step.a[H + j] + step.ah[H + j], k.gate);
        const pre = step.a[nr] + (k.resetAfter ? rGate[j] * step.ah[nr] : step.ah[nr]);
        seen(step.a[j] + step.ah[j], 'gate');
        seen(step.a[H + j] + step.ah[H + j], 'gate');
        seen(pre, 'act');
        hNext[j] = (1 - z) * act(pre, k.relu) + z * h[j];
      }
    }
    h = hNext;
    out.set(h, (t * B + b) * H);
    steps.push(step);
  }
  return steps;
}

export function referenceForward(k: CellCase, p: CellTensors): Forward {
  const out = new Float64Array(k.T * k.B * k.H);
  const result: Forward = { out, margin: Infinity, clipped: 0, inside: 0 };
  const seen = (a: number, kind: Seen) => {
    if (kind !== 'gate') {
      if (k.relu && !(kind === 'cell' && a === 0)) result.margin = Math.min(result.margin, Math.abs(a));
      return;
    }
    if (k.gate === 0) return;
    const s = SLOPE[k.gate];
    result.margin = Math.min(result.margin, Math.abs(a + 0.5 / s), Math.abs(a - 0.5 / s)); // where s·a + 0.5 is 0 or 1
    if (Math.abs(a) < 0.5 / s) result.inside++;
    else result.clipped++;
  };
  for (let b = 0; b < k.B; b++) column(k, p, b, out, seen);
  return result;
}

/** L = Σ dout ⊙ out: the scalar that the finite differences and the backward passes differentiate. */
export function referenceLoss(k: CellCase, p: CellTensors, dout: Float64Array): number {
  const { out } = referenceForward(k, p);
  let l = 0;
  for (let i = 0; i < out.length; i++) l += dout[i] * out[i];
  return l;
}

/** dL/d(every tensor of p), by backpropagation through time, column by column. */
export function referenceBackward(k: CellCase, p: CellTensors, dout: Float64Array): CellTensors {
  const { B, I, H } = k;
  const G = (k.cell === 'lstm' ? 4 : 3) * H;
  const d: CellTensors = {
    x: new Float64Array(p.x.length),
    h0: new Float64Array(p.h0.length),
    c0: new Float64Array(p.c0.length),
    w_ih: new Float64Array(p.w_ih.length),
    w_hh: new Float64Array(p.w_hh.length),
    b_ih: p.b_ih && new Float64Array(G),
    b_hh: p.b_hh && new Float64Array(G),
  };
  const scratch = new Float64Array(k.T * B * H);
  for (let b = 0; b < B; b++) {
    const steps = column(k, p, b, scratch, () => {});
    let dhNext = new Float64Array(H);
    let dcNext = new Float64Array(H);
    for (let s = steps.length - 1; s >= 0; s--) {
      const st = steps[s];
      const dh = Float64Array.from({ length: H }, (_, j) => dout[(st.t * B + b) * H + j] + dhNext[j]);
      const da = new Float64Array(G); // the input side's pre-activation gradients
      const dah = new Float64Array(G); // the hidden side's
      const dhPrev = new Float64Array(H);
      const dcPrev = new Float64Array(H);
      if (k.cell === 'lstm') {
        for (let j = 0; j < H; j++) {
          const [ai, af, ag, ao] = [st.a[j], st.a[H + j], st.a[2 * H + j], st.a[3 * H + j]];
          const dc = dcNext[j] + dh[j] * sigma(ao, k.gate) * dact(st.c[j], k.relu);
          da[3 * H + j] = dh[j] * act(st.c[j], k.relu) * dsigma(ao, k.gate);
          da[j] = dc * act(ag, k.relu) * dsigma(ai, k.gate);
          da[H + j] = dc * st.cPrev[j] * dsigma(af, k.gate);
          da[2 * H + j] = dc * sigma(ai, k.gate) * dact(ag, k.relu);
          dcPrev[j] = dc * sigma(af, k.gate);
        }
        dah.set(da);
      } else {
        const dq = new Float64Array(H);
        for (let j = 0; j < H; j++) {
          const nr = 2 * H + j;
          const r = sigma(st.a[j] + st.ah[j], k.gate);
          const z = sigma(st.a[H + j] + st.ah[H + j], k.gate);
          const pre = st.a[nr] + (k.resetAfter ? r * st.ah[nr] : st.ah[nr]);
          const n = act(pre, k.relu);
          da[nr] = dh[j] * (1 - z) * dact(pre, k.relu);
          da[H + j] = dh[j] * (st.hPrev[j] - n) * dsigma(st.a[H + j] + st.ah[H + j], k.gate);
          dhPrev[j] = dh[j] * z;
          if (k.resetAfter) {
            da[j] = da[nr] * st.ah[nr] * dsigma(st.a[j] + st.ah[j], k.gate);
            dah[nr] = da[nr] * r;
          } else dah[nr] = da[nr];
        }
        if (!k.resetAfter) {
          // q = r⊙hPrev fed the n rows: dq = W_hnᵀ dn, then into r and straight into hPrev.
          for (let j = 0; j < H; j++) for (let i = 0; i < H; i++) dq[i] += p.w_hh[(2 * H + j) * H + i] * da[2 * H + j];
          for (let j = 0; j < H; j++) {
            da[j] = dq[j] * st.hPrev[j] * dsigma(st.a[j] + st.ah[j], k.gate);
            dhPrev[j] += dq[j] * sigma(st.a[j] + st.ah[j], k.gate);
          }
        }
        for (let r = 0; r < 2 * H; r++) dah[r] = da[r];
      }
      // Through the products: the n rows of a reset-before GRU multiplied q, every other row hPrev.
      for (let r = 0; r < G; r++) {
        const source = k.cell === 'gru' && !k.resetAfter && r >= 2 * H ? st.q : st.hPrev;
        for (let i = 0; i < H; i++) {
          d.w_hh[r * H + i] += dah[r] * source[i];
          if (source === st.hPrev) dhPrev[i] += p.w_hh[r * H + i] * dah[r];
        }
        for (let i = 0; i < I; i++) {
          d.w_ih[r * I + i] += da[r] * st.x[i];
          d.x[(st.t * B + b) * I + i] += p.w_ih[r * I + i] * da[r];
        }
        if (d.b_ih) d.b_ih[r] += da[r];
        if (d.b_hh) d.b_hh[r] += dah[r];
      }
      dhNext = dhPrev;
      dcNext = dcPrev;
    }
    d.h0.set(dhNext, b * H);
    if (k.cell === 'lstm') d.c0.set(dcNext, b * H);
  }
  return d;
}
