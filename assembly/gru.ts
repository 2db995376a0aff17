// The GRU, one direction of one layer over a whole sequence, gates stacked in PyTorch's order r, z, n:
//   r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr),  z = σ(x W_izᵀ + b_iz + h W_hzᵀ + b_hz)
//   n = tanh(x W_inᵀ + b_in + r⊙(h W_hnᵀ + b_hn)),  h' = (1 - z)⊙n + z⊙h
// b_hn sits inside the product with r, so the hidden side's n rows are cached apart from the input side's.
// σ is the gate function of kind `gate` and tanh becomes relu with `relu`, as in the LSTM. With reset_after 0
// the reset gate acts before the product instead (Keras's reset_after=False, ONNX's linear_before_reset=0):
//   n = tanh(x W_inᵀ + b_in + (r⊙h) W_hnᵀ + b_hn)
// so a step takes the r and z rows' product first and then the n rows' product over r⊙h, which is cached.
import { gemm_nn } from './gemm';
import { gemm_packed, gemm_packed_rows, project } from './packed';
import { bias_rows } from './vector';
import { barrier, hi, lo, share, solo, splits, team_index, touch, whole } from './parallel';
import { UNIT_GRANULE } from './rnn';
import { gate_fn, gate_fn4, gate_grad, gate_grad4, SIGMOID, squash, squash4, squash_grad, squash_grad4 } from './activations';
import { gemm_tn_shared, same_time_end, step_time, weight_grads, zero_padding } from './sequence';

// @ts-ignore: decorator
@inline const F32 = 4;

export function gru_forward(
  out: usize, // [T, B, ldo]: this direction's H columns of the layer output
  gates: usize, // [T, B, 3H] cache: r, z, n after their nonlinearities
  hn: usize, // [T, B, H] cache: h[t-1] W_hnᵀ + b_hn, or with reset_after 0 r⊙h[t-1] (zero at padded steps)
  gh: usize, // [B, 3H] scratch: the hidden side of one step
  x: usize, // [T, B, I]
  lengths: usize, // [B] int32 valid steps per column, or 0 when all run T steps
  h0: usize, // [B, H]
  w_ih: usize, // [3H, I] packed by pack_weights
  w_hh: usize, // [3H, H] packed by pack_weights
  b_ih: usize, // [3H] or 0
  b_hh: usize, // [3H] or 0
  T: i32, B: i32, I: i32, H: i32, ldo: i32, reverse: i32,
  gate: i32, // the gates' function: 0 σ, 1 hard sigmoid clip(0.2a + 0.5, 0, 1), 2 clip(a/6 + 0.5, 0, 1)
  relu: i32, // relu in place of tanh
  reset_after: i32, // 1: r scales h W_hnᵀ + b_hn (PyTorch); 0: r scales h before the product
): void {
  const G = 3 * H;
  const plain = gate == SIGMOID && !relu;
  // A team splits the batch's columns or the hidden units, as in rnn_forward: a unit's three gate rows go to
  // one thread. Each run's hidden side goes to its columns' rows of gh.
  const byColumns = !lengths && splits(B, 2);
  const byUnits = !byColumns && splits(H, UNIT_GRANULE);
  const columns = byColumns ? share(B, 2) : byUnits ? whole(B) : solo(B);
  const units = byUnits ? share(H, UNIT_GRANULE) : whole(H);
  project(gates, G, b_ih, 0, x, I, w_ih, T, B, G, I, byColumns ? columns : whole(B));
  const end = hi(columns), u0 = lo(units), u1 = hi(units), width = u1 - u0;
  const unit = <usize>u0 * F32;
  const outStep = <usize>(B * ldo) * F32;
  for (let s = 0; s < T; s++) {
    // Step s reads all of step s-1. Staged as the RNN's and the LSTM's products are (packed.ts's stages), the
    // GRU's measured 3–6% slower than after this barrier (one column, H = 256, the cores far apart), so it keeps it.
    if (byUnits && s > 0) barrier();
    for (let b = lo(columns); b < end;) {
      const t = step_time(lengths, b, s, T, reverse);
      if (t < 0) {
        b++;
        continue;
      }
      const e = same_time_end(lengths, b, t, s, T, end, reverse);
      const ghRun = gh + <usize>(b * G) * F32;
      const h = out + <usize>((t * B + b) * ldo) * F32;
      const first = s == 0;
      const hPrev = first ? h0 + <usize>(b * H) * F32 : (reverse ? h + outStep : h - outStep);
      const ldh = first ? H : ldo;
      const backwards = (s & 1) != 0;
      if (byUnits) touch(hPrev, e - b, ldh, H);
      if (width == H) bias_rows(ghRun, G, b_hh, 0, e - b, G);
      else {
        for (let q = 0; q < 3; q++) {
          const at = <usize>(q * H) * F32 + unit;
          bias_rows(ghRun + at, G, b_hh ? b_hh + at : 0, 0, e - b, width);
        }
      }
      if (reset_after) {
        // All three gates' hidden side for the run's columns in one product, or this thread's units gate by gate.
        if (width == H) gemm_packed(ghRun, G, hPrev, ldh, w_hh, e - b, G, H, backwards);
        else hidden_rows(ghRun + unit, hPrev, ldh, w_hh, e - b, H, u0, u1, 0, 3, backwards);
        for (let r = 0; r < e - b; r++) {
          const row = t * B + b + r;
          const hr = h + <usize>(r * ldo) * F32 + unit, ar = gates + <usize>(row * G) * F32 + unit;
          const hnr = hn + <usize>(row * H) * F32 + unit;
          const ghr = ghRun + <usize>(r * G) * F32 + unit, hPrevr = hPrev + <usize>(r * ldh) * F32 + unit;
          if (plain) gru_cell(hr, ar, hnr, ghr, hPrevr, width, H);
          else gru_cell_with(hr, ar, hnr, ghr, hPrevr, width, H, gate, relu);
        }
      } else {
        // The r and z rows over h[t-1], then the n rows over r⊙h[t-1], the run's rows of the cache; a team
        // meets between the two, as each unit's n reads every unit's r⊙h.
        const q = hn + <usize>((t * B + b) * H) * F32;
        hidden_rows(ghRun + unit, hPrev, ldh, w_hh, e - b, H, u0, u1, 0, 2, backwards);
        for (let r = 0; r < e - b; r++) {
          gru_reset_gates(gates + <usize>((t * B + b + r) * G) * F32 + unit, q + <usize>(r * H) * F32 + unit,
            ghRun + <usize>(r * G) * F32 + unit, hPrev + <usize>(r * ldh) * F32 + unit, width, H, gate);
        }
        if (byUnits) barrier();
        hidden_rows(ghRun + unit, q, H, w_hh, e - b, H, u0, u1, 2, 3, backwards);
        for (let r = 0; r < e - b; r++) {
          gru_reset_candidate(h + <usize>(r * ldo) * F32 + unit, gates + <usize>((t * B + b + r) * G) * F32 + unit,
            ghRun + <usize>(r * G) * F32 + unit, hPrev + <usize>(r * ldh) * F32 + unit, width, H, relu);
        }
      }
      b = e;
    }
  }
  if (team_index() != 0) return;
  zero_padding(out, ldo, H, lengths, T, B);
  // Padded rows of r⊙h[t-1] enter dW_hn's product over all steps (with zero gradients): zeros, not stale values.
  if (!reset_after) zero_padding(hn, H, H, lengths, T, B);
}

/**
 * gh[·, qH + u0 … qH + u1) += a · W_hhᵀ for the gate blocks q0 … q1-1 of a [3H, H] weight packed whole: one
 * thread's units of those gates (gh and the result at unit u0 of block 0), for M rows of a.
 */
function hidden_rows(gh: usize, a: usize, lda: i32, w_hh: usize, M: i32, H: i32, u0: i32, u1: i32, q0: i32, q1: i32, backwards: bool): void {
  if (u0 == 0 && u1 == H) {
    gemm_packed_rows(gh + <usize>(q0 * H) * F32, 3 * H, a, lda, w_hh, M, 3 * H, H, q0 * H, q1 * H, backwards);
    return;
  }
  if (u1 <= u0) return;
  for (let i = q0; i < q1; i++) {
    const q = backwards ? q0 + q1 - 1 - i : i; // last to first on a backwards step, as the rows go
    gemm_packed_rows(gh + <usize>(q * H) * F32, 3 * H, a, lda, w_hh, M, 3 * H, H, q * H + u0, q * H + u1, backwards);
  }
}

// Each step of a cell exists twice, as in lstm.ts: with σ and tanh as constants, which the optimizer folds into
// the plain code, and with any gate and squashing function.

/** One column's step after the product, with σ and tanh. */
function gru_cell(h: usize, a: usize, hn: usize, gh: usize, hPrev: usize, width: i32, H: i32): void {
  gru_step(h, a, hn, gh, hPrev, width, H, SIGMOID, 0);
}

/** One column's step after the product, with any gate function and squashing function. */
function gru_cell_with(h: usize, a: usize, hn: usize, gh: usize, hPrev: usize, width: i32, H: i32, gate: i32, relu: i32): void {
  gru_step(h, a, hn, gh, hPrev, width, H, gate, relu);
}

/**
 * One column's step after the product, for `width` units of H (every pointer at the first of them): a [3H] holds the input side's pre-activations and becomes the
 * activated r, z, n; the hidden side gh [3H] gives hn [H] (kept for the backward pass); h [H] from hPrev.
 */
// @ts-ignore: decorator
@inline function gru_step(h: usize, a: usize, hn: usize, gh: usize, hPrev: usize, width: i32, H: i32, gate: i32, relu: i32): void {
  const block = <usize>H * F32;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= width; j += 4) {
      const oj = <usize>j * F32;
      const r = gate_fn4(f32x4.add(v128.load(a + oj), v128.load(gh + oj)), gate);
      const z = gate_fn4(f32x4.add(v128.load(a + oj + block), v128.load(gh + oj + block)), gate);
      const hidden = v128.load(gh + oj + 2 * block);
      const n = squash4(f32x4.add(v128.load(a + oj + 2 * block), f32x4.mul(r, hidden)), relu);
      v128.store(a + oj, r);
      v128.store(a + oj + block, z);
      v128.store(a + oj + 2 * block, n);
      v128.store(hn + oj, hidden);
      v128.store(h + oj, f32x4.add(f32x4.mul(f32x4.sub(f32x4.splat(1), z), n), f32x4.mul(z, v128.load(hPrev + oj))));
    }
  }
  for (; j < width; j++) {
    const oj = <usize>j * F32;
    const r = gate_fn(load<f32>(a + oj) + load<f32>(gh + oj), gate);
    const z = gate_fn(load<f32>(a + oj + block) + load<f32>(gh + oj + block), gate);
    const hidden = load<f32>(gh + oj + 2 * block);
    const n = squash(load<f32>(a + oj + 2 * block) + r * hidden, relu);
    store<f32>(a + oj, r);
    store<f32>(a + oj + block, z);
    store<f32>(a + oj + 2 * block, n);
    store<f32>(hn + oj, hidden);
    store<f32>(h + oj, (1 - z) * n + z * load<f32>(hPrev + oj));
  }
}

/** The reset-before step's first half: r and z activated in a [3H] from it and gh, and q = r⊙hPrev [H]. */
function gru_reset_gates(a: usize, q: usize, gh: usize, hPrev: usize, width: i32, H: i32, gate: i32): void {
  const block = <usize>H * F32;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= width; j += 4) {
      const oj = <usize>j * F32;
      const r = gate_fn4(f32x4.add(v128.load(a + oj), v128.load(gh + oj)), gate);
      v128.store(a + oj, r);
      v128.store(a + oj + block, gate_fn4(f32x4.add(v128.load(a + oj + block), v128.load(gh + oj + block)), gate));
      v128.store(q + oj, f32x4.mul(r, v128.load(hPrev + oj)));
    }
  }
  for (; j < width; j++) {
    const oj = <usize>j * F32;
    const r = gate_fn(load<f32>(a + oj) + load<f32>(gh + oj), gate);
    store<f32>(a + oj, r);
    store<f32>(a + oj + block, gate_fn(load<f32>(a + oj + block) + load<f32>(gh + oj + block), gate));
    store<f32>(q + oj, r * load<f32>(hPrev + oj));
  }
}

/** The reset-before step's second half, once gh's n rows hold (r⊙hPrev) W_hnᵀ + b_hn: n into a, and h [H]. */
function gru_reset_candidate(h: usize, a: usize, gh: usize, hPrev: usize, width: i32, H: i32, relu: i32): void {
  const block = <usize>H * F32;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= width; j += 4) {
      const oj = <usize>j * F32;
      const z = v128.load(a + oj + block);
      const n = squash4(f32x4.add(v128.load(a + oj + 2 * block), v128.load(gh + oj + 2 * block)), relu);
      v128.store(a + oj + 2 * block, n);
      v128.store(h + oj, f32x4.add(f32x4.mul(f32x4.sub(f32x4.splat(1), z), n), f32x4.mul(z, v128.load(hPrev + oj))));
    }
  }
  for (; j < width; j++) {
    const oj = <usize>j * F32;
    const z = load<f32>(a + oj + block);
    const n = squash(load<f32>(a + oj + 2 * block) + load<f32>(gh + oj + 2 * block), relu);
    store<f32>(a + oj + 2 * block, n);
    store<f32>(h + oj, (1 - z) * n + z * load<f32>(hPrev + oj));
  }
}

export function gru_backward(
  dx: usize, // [T, B, I] +=, or 0: not wanted
  dh0: usize, // [B, H] written; also the running gradient into the previous state
  dw_ih: usize, // [3H, I] +=
  dw_hh: usize, // [3H, H] +=
  db_ih: usize, // [3H] += or 0
  db_hh: usize, // [3H] += or 0
  dgi: usize, // [T, B, 3H] scratch: gradients of the input side's pre-activations
  dgh: usize, // [T, B, 3H] scratch: gradients of the hidden side's pre-activations (reset_after 0: [B, H] of it)
  dout: usize, // [T, B, ldo] gradient on this direction's output
  out: usize, // [T, B, ldo] forward output h
  gates: usize, // [T, B, 3H] forward cache
  hn: usize, // [T, B, H] forward cache
  x: usize, // [T, B, I]
  lengths: usize, // [B] int32 or 0
  h0: usize, // [B, H]
  w_ih: usize, // [3H, I]
  w_hh: usize, // [3H, H]
  T: i32, B: i32, I: i32, H: i32, ldo: i32, reverse: i32, gate: i32, relu: i32, reset_after: i32,
): void {
  const G = 3 * H;
  const plain = gate == SIGMOID && !relu;
  const outStep = <usize>(B * ldo) * F32;
  // Padded steps pass nothing back: their rows of dgi and dgh stay zero through the products below.
  const columns = lengths ? solo(B) : share(B, 2);
  const start = lo(columns), end = hi(columns);
  if (lengths && start < end) {
    memory.fill(dgi, 0, <usize>(T * B * G) * F32);
    if (reset_after) memory.fill(dgh, 0, <usize>(T * B * G) * F32);
  }
  memory.fill(dh0 + <usize>(start * H) * F32, 0, <usize>((end - start) * H) * F32);
  for (let s = T - 1; s >= 0; s--) {
    for (let b = start; b < end;) {
      const t = step_time(lengths, b, s, T, reverse);
      if (t < 0) {
        b++;
        continue;
      }
      const e = same_time_end(lengths, b, t, s, T, end, reverse);
      const h = out + <usize>((t * B + b) * ldo) * F32;
      const first = s == 0;
      const hPrev = first ? h0 + <usize>(b * H) * F32 : (reverse ? h + outStep : h - outStep);
      const ldh = first ? H : ldo;
      const dhNext = dh0 + <usize>(b * H) * F32; // one row per column of the run
      if (reset_after) {
        const dhid = dgh + <usize>((t * B + b) * G) * F32;
        for (let r = 0; r < e - b; r++) {
          const row = t * B + b + r;
          const dir = dgi + <usize>(row * G) * F32, dhidr = dhid + <usize>(r * G) * F32, dhr = dhNext + <usize>(r * H) * F32;
          const ar = gates + <usize>(row * G) * F32, hnr = hn + <usize>(row * H) * F32, hPrevr = hPrev + <usize>(r * ldh) * F32;
          const doutr = dout + <usize>(row * ldo) * F32;
          if (plain) gru_cell_grad(dir, dhidr, dhr, ar, hnr, hPrevr, doutr, H);
          else gru_cell_grad_with(dir, dhidr, dhr, ar, hnr, hPrevr, doutr, H, gate, relu);
        }
        gemm_nn(dhNext, H, dhid, G, w_hh, H, e - b, H, G); // plus the path through all three gates
      } else {
        // The hidden side's gradients are the input side's; dq = dn W_hn, the gradient into r⊙h[t-1], comes
        // between n's and r's, and dgh holds it.
        const d = dgi + <usize>((t * B + b) * G) * F32;
        for (let r = 0; r < e - b; r++) {
          const row = t * B + b + r;
          gru_reset_grad_nz(d + <usize>(r * G) * F32, dhNext + <usize>(r * H) * F32, gates + <usize>(row * G) * F32,
            hPrev + <usize>(r * ldh) * F32, dout + <usize>(row * ldo) * F32, H, gate, relu);
        }
        const dq = dgh + <usize>(b * H) * F32; // the run's columns' rows
        memory.fill(dq, 0, <usize>((e - b) * H) * F32);
        gemm_nn(dq, H, d + <usize>(2 * H) * F32, G, w_hh + <usize>(2 * H * H) * F32, H, e - b, H, H);
        for (let r = 0; r < e - b; r++) {
          gru_reset_grad_r(d + <usize>(r * G) * F32, dhNext + <usize>(r * H) * F32, dq + <usize>(r * H) * F32,
            gates + <usize>((t * B + b + r) * G) * F32, hPrev + <usize>(r * ldh) * F32, H, gate);
        }
        gemm_nn(dhNext, H, d, G, w_hh, H, e - b, H, 2 * H); // plus the paths through r and z
      }
      b = e;
    }
  }
  barrier();
  if (reset_after) {
    weight_grads(dx, dw_ih, dw_hh, db_ih, db_hh, dgi, dgh, out, ldo, x, h0, w_ih, lengths, T, B, I, H, G, reverse, G);
    return;
  }
  weight_grads(dx, dw_ih, dw_hh, db_ih, db_hh, dgi, dgi, out, ldo, x, h0, w_ih, lengths, T, B, I, H, G, reverse, 2 * H);
  // The n rows' weights multiplied r⊙h[t-1], which the cache holds: dW_hn += Σ_t dnᵀ (r⊙h[t-1]).
  gemm_tn_shared(dw_hh + <usize>(2 * H * H) * F32, H, dgi + <usize>(2 * H) * F32, G, hn, H, H, H, T * B);
}

/** One column's step back through the gates, for σ and tanh. */
function gru_cell_grad(di: usize, dhid: usize, dhNext: usize, a: usize, hn: usize, hPrev: usize, dout: usize, H: i32): void {
  gru_step_grad(di, dhid, dhNext, a, hn, hPrev, dout, H, SIGMOID, 0);
}

/** One column's step back through the gates, for any gate function and squashing function. */
function gru_cell_grad_with(
  di: usize, dhid: usize, dhNext: usize, a: usize, hn: usize, hPrev: usize, dout: usize, H: i32, gate: i32, relu: i32,
): void {
  gru_step_grad(di, dhid, dhNext, a, hn, hPrev, dout, H, gate, relu);
}

/**
 * One column's step back through the gates: from dout [H] and dhNext [H] (step t+1's gradient into this h),
 * the input side's and the hidden side's pre-activation gradients di, dhid [3H]; dhNext becomes the direct part
 * of the gradient into h[t-1] (the product with W_hh adds the rest). a: the activated gates, hn: h W_hnᵀ + b_hn.
 */
// @ts-ignore: decorator
@inline function gru_step_grad(
  di: usize, dhid: usize, dhNext: usize, a: usize, hn: usize, hPrev: usize, dout: usize, H: i32, gate: i32, relu: i32,
): void {
  const block = <usize>H * F32;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const one = f32x4.splat(1);
    for (; j + 4 <= H; j += 4) {
      const oj = <usize>j * F32;
      const r = v128.load(a + oj), z = v128.load(a + oj + block), n = v128.load(a + oj + 2 * block);
      const dh = f32x4.add(v128.load(dout + oj), v128.load(dhNext + oj));
      const dan = squash_grad4(f32x4.mul(dh, f32x4.sub(one, z)), n, relu);
      const dar = gate_grad4(f32x4.mul(dan, v128.load(hn + oj)), r, gate);
      const daz = gate_grad4(f32x4.mul(dh, f32x4.sub(v128.load(hPrev + oj), n)), z, gate);
      v128.store(di + oj, dar);
      v128.store(di + oj + block, daz);
      v128.store(di + oj + 2 * block, dan);
      v128.store(dhid + oj, dar);
      v128.store(dhid + oj + block, daz);
      v128.store(dhid + oj + 2 * block, f32x4.mul(dan, r));
      v128.store(dhNext + oj, f32x4.mul(dh, z));
    }
  }
  for (; j < H; j++) {
    const oj = <usize>j * F32;
    const r = load<f32>(a + oj), z = load<f32>(a + oj + block), n = load<f32>(a + oj + 2 * block);
    const dh = load<f32>(dout + oj) + load<f32>(dhNext + oj); // from the output and from step t+1
    const dan = squash_grad(dh * (1 - z), n, relu); // into n's pre-activation, through tanh
    const dar = gate_grad(dan * load<f32>(hn + oj), r, gate); // r scales the hidden n rows
    const daz = gate_grad(dh * (load<f32>(hPrev + oj) - n), z, gate);
    store<f32>(di + oj, dar);
    store<f32>(di + oj + block, daz);
    store<f32>(di + oj + 2 * block, dan);
    store<f32>(dhid + oj, dar);
    store<f32>(dhid + oj + block, daz);
    store<f32>(dhid + oj + 2 * block, dan * r);
    store<f32>(dhNext + oj, dh * z); // h' = … + z⊙h passes straight through
  }
}

/**
 * The reset-before step back, first half: from dout and dhNext [H], the z and n rows of d [3H]; dhNext
 * becomes dh⊙z, the direct path into h[t-1].
 */
function gru_reset_grad_nz(d: usize, dhNext: usize, a: usize, hPrev: usize, dout: usize, H: i32, gate: i32, relu: i32): void {
  const block = <usize>H * F32;
  for (let j = 0; j < H; j++) {
    const oj = <usize>j * F32;
    const z = load<f32>(a + oj + block), n = load<f32>(a + oj + 2 * block);
    const dh = load<f32>(dout + oj) + load<f32>(dhNext + oj);
    store<f32>(d + oj + block, gate_grad(dh * (load<f32>(hPrev + oj) - n), z, gate));
    store<f32>(d + oj + 2 * block, squash_grad(dh * (1 - z), n, relu));
    store<f32>(dhNext + oj, dh * z);
  }
}

/** Second half, once dq [H] = dn W_hn is known: r's row of d from dq⊙hPrev, and dhNext += dq⊙r. */
function gru_reset_grad_r(d: usize, dhNext: usize, dq: usize, a: usize, hPrev: usize, H: i32, gate: i32): void {
  for (let j = 0; j < H; j++) {
    const oj = <usize>j * F32;
    const r = load<f32>(a + oj), dqj = load<f32>(dq + oj);
    store<f32>(d + oj, gate_grad(dqj * load<f32>(hPrev + oj), r, gate));
    store<f32>(dhNext + oj, load<f32>(dhNext + oj) + dqj * r);
  }
}
