// The LSTM, one direction of one layer over a whole sequence, gates stacked in PyTorch's order i, f, g, o:
//   a = x W_ihᵀ + b_ih + h[t-1] W_hhᵀ + b_hh      (one fused product over all 4H gate rows)
//   i, f, o = σ(a_i, a_f, a_o),  g = tanh(a_g),  c[t] = f⊙c[t-1] + i⊙g,  h[t] = o⊙tanh(c[t])
// σ is the gate function of kind `gate` (the logistic function, or a hard sigmoid) and tanh becomes relu with
// `relu`, in g and in h's tanh(c) alike, as Keras's recurrent_activation and activation choose them.
// The cache keeps every step's activated gates and cell state; backward reads them instead of recomputing.
import { gemm_nn } from './gemm';
import { gemm_packed, gemm_packed_rows, project, staged_row_product, stages } from './packed';
import { arrivals, arrive, barrier, hi, lo, share, solo, splits, team_index, touch, whole } from './parallel';
import { UNIT_GRANULE } from './rnn';
import { gate_fn, gate_fn4, gate_grad, gate_grad4, SIGMOID, squash, squash4, squash_grad, squash_grad4 } from './activations';
import { same_time_end, step_time, weight_grads, zero_padding } from './sequence';

// @ts-ignore: decorator
@inline const F32 = 4;

export function lstm_forward(
  out: usize, // [T, B, ldo]: this direction's H columns of the layer output
  cells: usize, // [T, B, H] cache: c[t]
  gates: usize, // [T, B, 4H] cache: i, f, g, o after their nonlinearities
  x: usize, // [T, B, I]
  lengths: usize, // [B] int32 valid steps per column, or 0 when all run T steps
  h0: usize, // [B, H]
  c0: usize, // [B, H]
  w_ih: usize, // [4H, I] packed by pack_weights
  w_hh: usize, // [4H, H] packed by pack_weights
  b_ih: usize, // [4H] or 0
  b_hh: usize, // [4H] or 0
  T: i32, B: i32, I: i32, H: i32, ldo: i32, reverse: i32,
  gate: i32, // the gates' function: 0 σ, 1 hard sigmoid clip(0.2a + 0.5, 0, 1), 2 clip(a/6 + 0.5, 0, 1)
  relu: i32, // relu in place of tanh
): void {
  const G = 4 * H;
  const plain = gate == SIGMOID && !relu;
  // A team splits the batch's columns or the hidden units, as in rnn_forward: a unit's four gate rows and
  // its cell go to one thread.
  const byColumns = !lengths && splits(B, 2);
  const byUnits = !byColumns && splits(H, UNIT_GRANULE);
  const columns = byColumns ? share(B, 2) : byUnits ? whole(B) : solo(B);
  const units = byUnits ? share(H, UNIT_GRANULE) : whole(H);
  project(gates, G, b_ih, b_hh, x, I, w_ih, T, B, G, I, byColumns ? columns : whole(B));
  const end = hi(columns), u0 = lo(units), u1 = hi(units), width = u1 - u0;
  const outStep = <usize>(B * ldo) * F32;
  const cellStep = <usize>(B * H) * F32;
  const unit = <usize>u0 * F32;
  const staged = stages(byUnits, B, H, 4), meet = byUnits && !staged, base = arrivals(); // as in rnn_forward
  for (let s = 0; s < T; s++) {
    if (meet && s > 0) barrier();
    for (let b = lo(columns); b < end;) {
      const t = step_time(lengths, b, s, T, reverse);
      if (t < 0) {
        b++;
        continue;
      }
      const e = same_time_end(lengths, b, t, s, T, end, reverse);
      const h = out + <usize>((t * B + b) * ldo) * F32;
      const c = cells + <usize>((t * B + b) * H) * F32;
      const g = gates + <usize>((t * B + b) * G) * F32;
      const first = s == 0;
      const hPrev = first ? h0 + <usize>(b * H) * F32 : (reverse ? h + outStep : h - outStep);
      const cPrev = first ? c0 + <usize>(b * H) * F32 : (reverse ? c + cellStep : c - cellStep);
      const ldh = first ? H : ldo, backwards = (s & 1) != 0;
      if (meet) touch(hPrev, e - b, ldh, H);
      // All four gates of the run's columns in one product, or of this thread's units gate by gate.
      if (width == H) gemm_packed(g, G, hPrev, ldh, w_hh, e - b, G, H, backwards);
      else if (staged) staged_row_product(g, hPrev, w_hh, 4, H, u0, u1, UNIT_GRANULE, base + s);
      else if (width > 0) {
        // A backwards step takes the gates last to first too, so that it starts where the last step ended.
        for (let i = 0; i < 4; i++) {
          const q = backwards ? 3 - i : i;
          gemm_packed_rows(g + <usize>(q * H) * F32 + unit, G, hPrev, ldh, w_hh, e - b, G, H, q * H + u0, q * H + u1, backwards);
        }
      }
      for (let r = 0; r < e - b; r++) {
        const hr = h + <usize>(r * ldo) * F32 + unit, cr = c + <usize>(r * H) * F32 + unit, gr = g + <usize>(r * G) * F32 + unit;
        const cPrevr = cPrev + <usize>(r * H) * F32 + unit;
        if (plain) lstm_cell(hr, cr, gr, cPrevr, width, H);
        else lstm_cell_with(hr, cr, gr, cPrevr, width, H, gate, relu);
      }
      b = e;
    }
    if (staged) arrive();
  }
  if (team_index() == 0) zero_padding(out, ldo, H, lengths, T, B);
}

// Each step of a cell exists twice: with the default functions, whose flags are constants once inlined, so
// that the optimizer folds every choice away and the step runs the plain σ/tanh code (the same operations,
// the same results bit for bit, the same speed as before the choice existed); and with any flags, which
// branches on them per element.

/** One column's step after the product, with σ and tanh. */
function lstm_cell(h: usize, c: usize, a: usize, cPrev: usize, width: i32, H: i32): void {
  lstm_step(h, c, a, cPrev, width, H, SIGMOID, 0);
}

/** One column's step after the product, with any gate function and squashing function. */
function lstm_cell_with(h: usize, c: usize, a: usize, cPrev: usize, width: i32, H: i32, gate: i32, relu: i32): void {
  lstm_step(h, c, a, cPrev, width, H, gate, relu);
}

/**
 * One column's step after the product, for `width` units of H: the gates a [4H] activated in place, then c and
 * h from cPrev (a, c, h and cPrev at the first of the units).
 */
// @ts-ignore: decorator
@inline function lstm_step(h: usize, c: usize, a: usize, cPrev: usize, width: i32, H: i32, gate: i32, relu: i32): void {
  const block = <usize>H * F32; // bytes from one gate block to the next
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= width; j += 4) {
      const pi = a + <usize>j * F32, pf = pi + block, pg = pf + block, po = pg + block;
      const i = gate_fn4(v128.load(pi), gate), f = gate_fn4(v128.load(pf), gate);
      const g = squash4(v128.load(pg), relu), o = gate_fn4(v128.load(po), gate);
      v128.store(pi, i);
      v128.store(pf, f);
      v128.store(pg, g);
      v128.store(po, o);
      const oj = <usize>j * F32;
      const cj = f32x4.add(f32x4.mul(f, v128.load(cPrev + oj)), f32x4.mul(i, g));
      v128.store(c + oj, cj);
      v128.store(h + oj, f32x4.mul(o, squash4(cj, relu)));
    }
  }
  for (; j < width; j++) {
    const pi = a + <usize>j * F32, pf = pi + block, pg = pf + block, po = pg + block;
    const i = gate_fn(load<f32>(pi), gate), f = gate_fn(load<f32>(pf), gate);
    const g = squash(load<f32>(pg), relu), o = gate_fn(load<f32>(po), gate);
    store<f32>(pi, i);
    store<f32>(pf, f);
    store<f32>(pg, g);
    store<f32>(po, o);
    const oj = <usize>j * F32;
    const cj = f * load<f32>(cPrev + oj) + i * g;
    store<f32>(c + oj, cj);
    store<f32>(h + oj, o * squash(cj, relu));
  }
}

export function lstm_backward(
  dx: usize, // [T, B, I] +=, or 0: not wanted
  dh0: usize, // [B, H] written; also the running gradient into the previous h
  dc0: usize, // [B, H] written; also the running gradient into the previous c
  dw_ih: usize, // [4H, I] +=
  dw_hh: usize, // [4H, H] +=
  db_ih: usize, // [4H] += or 0
  db_hh: usize, // [4H] += or 0
  dgates: usize, // [T, B, 4H] scratch: gradients of the gate pre-activations
  dout: usize, // [T, B, ldo] gradient on this direction's output
  out: usize, // [T, B, ldo] forward output h
  cells: usize, // [T, B, H] forward cache
  gates: usize, // [T, B, 4H] forward cache
  x: usize, // [T, B, I]
  lengths: usize, // [B] int32 or 0
  h0: usize, // [B, H]
  c0: usize, // [B, H]
  w_ih: usize, // [4H, I]
  w_hh: usize, // [4H, H]
  T: i32, B: i32, I: i32, H: i32, ldo: i32, reverse: i32, gate: i32, relu: i32,
): void {
  const G = 4 * H;
  const plain = gate == SIGMOID && !relu;
  const cellStep = <usize>(B * H) * F32;
  // Padded steps pass nothing back: their rows of dgates stay zero through the products below.
  const columns = lengths ? solo(B) : share(B, 2);
  const start = lo(columns), end = hi(columns);
  const own = <usize>(start * H) * F32, ownBytes = <usize>((end - start) * H) * F32;
  if (lengths && start < end) memory.fill(dgates, 0, <usize>(T * B * G) * F32);
  memory.fill(dh0 + own, 0, ownBytes);
  memory.fill(dc0 + own, 0, ownBytes);
  for (let s = T - 1; s >= 0; s--) {
    for (let b = start; b < end;) {
      const t = step_time(lengths, b, s, T, reverse);
      if (t < 0) {
        b++;
        continue;
      }
      const e = same_time_end(lengths, b, t, s, T, end, reverse);
      const c = cells + <usize>((t * B + b) * H) * F32;
      const cPrev = s == 0 ? c0 + <usize>(b * H) * F32 : (reverse ? c + cellStep : c - cellStep);
      const d = dgates + <usize>((t * B + b) * G) * F32;
      const dhNext = dh0 + <usize>(b * H) * F32; // one row per column of the run, as dcNext
      for (let r = 0; r < e - b; r++) {
        const row = <usize>(r * H) * F32;
        const dr = d + <usize>(r * G) * F32, dcr = dc0 + <usize>((b + r) * H) * F32, ar = gates + <usize>((t * B + b + r) * G) * F32;
        const doutr = dout + <usize>((t * B + b + r) * ldo) * F32;
        if (plain) lstm_cell_grad(dr, dhNext + row, dcr, ar, c + row, cPrev + row, doutr, H);
        else lstm_cell_grad_with(dr, dhNext + row, dcr, ar, c + row, cPrev + row, doutr, H, gate, relu);
      }
      memory.fill(dhNext, 0, <usize>((e - b) * H) * F32);
      gemm_nn(dhNext, H, d, G, w_hh, H, e - b, H, G); // dh[t-1] = da W_hh: all four gates, the run's columns at once
      b = e;
    }
  }
  barrier();
  weight_grads(dx, dw_ih, dw_hh, db_ih, db_hh, dgates, dgates, out, ldo, x, h0, w_ih, lengths, T, B, I, H, G, reverse, G);
}

/** One column's step back through the gates, for σ and tanh. */
function lstm_cell_grad(d: usize, dhNext: usize, dcNext: usize, a: usize, c: usize, cPrev: usize, dout: usize, H: i32): void {
  lstm_step_grad(d, dhNext, dcNext, a, c, cPrev, dout, H, SIGMOID, 0);
}

/** One column's step back through the gates, for any gate function and squashing function. */
function lstm_cell_grad_with(
  d: usize, dhNext: usize, dcNext: usize, a: usize, c: usize, cPrev: usize, dout: usize, H: i32, gate: i32, relu: i32,
): void {
  lstm_step_grad(d, dhNext, dcNext, a, c, cPrev, dout, H, gate, relu);
}

/**
 * One column's step back through the gates: from dout [H] and the gradients dhNext, dcNext [H] of step t+1,
 * the gate pre-activation gradients d [4H]; dcNext becomes the gradient into c[t-1]. a: the activated gates.
 */
// @ts-ignore: decorator
@inline function lstm_step_grad(
  d: usize, dhNext: usize, dcNext: usize, a: usize, c: usize, cPrev: usize, dout: usize, H: i32, gate: i32, relu: i32,
): void {
  const block = <usize>H * F32;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= H; j += 4) {
      const oj = <usize>j * F32;
      const pi = a + oj, pf = pi + block, pg = pf + block, po = pg + block;
      const i = v128.load(pi), f = v128.load(pf), g = v128.load(pg), o = v128.load(po);
      const tc = squash4(v128.load(c + oj), relu);
      const dh = f32x4.add(v128.load(dout + oj), v128.load(dhNext + oj));
      const dc = f32x4.add(v128.load(dcNext + oj), squash_grad4(f32x4.mul(dh, o), tc, relu));
      v128.store(dcNext + oj, f32x4.mul(dc, f));
      v128.store(d + oj, gate_grad4(f32x4.mul(dc, g), i, gate));
      v128.store(d + oj + block, gate_grad4(f32x4.mul(dc, v128.load(cPrev + oj)), f, gate));
      v128.store(d + oj + 2 * block, squash_grad4(f32x4.mul(dc, i), g, relu));
      v128.store(d + oj + 3 * block, gate_grad4(f32x4.mul(dh, tc), o, gate));
    }
  }
  for (; j < H; j++) {
    const oj = <usize>j * F32;
    const pi = a + oj, pf = pi + block, pg = pf + block, po = pg + block;
    const i = load<f32>(pi), f = load<f32>(pf), g = load<f32>(pg), o = load<f32>(po);
    const tc = squash(load<f32>(c + oj), relu);
    const dh = load<f32>(dout + oj) + load<f32>(dhNext + oj); // from the output and from step t+1
    const dc = load<f32>(dcNext + oj) + squash_grad(dh * o, tc, relu); // through h = o⊙tanh(c), plus from c[t+1]
    store<f32>(dcNext + oj, dc * f); // into c[t-1]
    // Each gate's gradient, through its own nonlinearity, from its output: σ' = σ(1-σ), tanh' = 1 - tanh²,
    // the hard sigmoid's slope inside (0, 1), relu' = g > 0. tanh(c) is relu(c) with relu, and relu(c) > 0 is c > 0.
    store<f32>(d + oj, gate_grad(dc * g, i, gate));
    store<f32>(d + oj + block, gate_grad(dc * load<f32>(cPrev + oj), f, gate));
    store<f32>(d + oj + 2 * block, squash_grad(dc * i, g, relu));
    store<f32>(d + oj + 3 * block, gate_grad(dh * tc, o, gate));
  }
}
