// The GRU, one direction of one layer over a whole sequence, gates stacked in PyTorch's order r, z, n:
//   r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr),  z = σ(x W_izᵀ + b_iz + h W_hzᵀ + b_hz)
//   n = tanh(x W_inᵀ + b_in + r⊙(h W_hnᵀ + b_hn)),  h' = (1 - z)⊙n + z⊙h
// b_hn sits inside the product with r, so the hidden side's n rows are cached apart from the input side's.
import { gemm_nn } from './gemm';
import { gemm_packed } from './packed';
import { bias_rows } from './vector';
import { sigmoid, sigmoid4, tanh, tanh4 } from './activations';
import { same_time_end, step_time, weight_grads, zero_padding } from './sequence';

// @ts-ignore: decorator
@inline const F32 = 4;

export function gru_forward(
  out: usize, // [T, B, ldo]: this direction's H columns of the layer output
  gates: usize, // [T, B, 3H] cache: r, z, n after their nonlinearities
  hn: usize, // [T, B, H] cache: h[t-1] W_hnᵀ + b_hn
  gh: usize, // [B, 3H] scratch: the hidden side of one step
  x: usize, // [T, B, I]
  lengths: usize, // [B] int32 valid steps per column, or 0 when all run T steps
  h0: usize, // [B, H]
  w_ih: usize, // [3H, I] packed by pack_weights
  w_hh: usize, // [3H, H] packed by pack_weights
  b_ih: usize, // [3H] or 0
  b_hh: usize, // [3H] or 0
  T: i32, B: i32, I: i32, H: i32, ldo: i32, reverse: i32,
): void {
  const G = 3 * H;
  bias_rows(gates, G, b_ih, 0, T * B, G);
  gemm_packed(gates, G, x, I, w_ih, T * B, G, I);
  const outStep = <usize>(B * ldo) * F32;
  for (let s = 0; s < T; s++) {
    for (let b = 0; b < B;) {
      const t = step_time(lengths, b, s, T, reverse);
      if (t < 0) {
        b++;
        continue;
      }
      const e = same_time_end(lengths, b, t, s, T, B, reverse);
      const h = out + <usize>((t * B + b) * ldo) * F32;
      const first = s == 0;
      const hPrev = first ? h0 + <usize>(b * H) * F32 : (reverse ? h + outStep : h - outStep);
      const ldh = first ? H : ldo;
      // All three gates' hidden side for the run's columns in one product.
      bias_rows(gh, G, b_hh, 0, e - b, G);
      gemm_packed(gh, G, hPrev, ldh, w_hh, e - b, G, H, (s & 1) != 0);
      for (let r = 0; r < e - b; r++) {
        const row = t * B + b + r;
        gru_cell(h + <usize>(r * ldo) * F32, gates + <usize>(row * G) * F32, hn + <usize>(row * H) * F32,
          gh + <usize>(r * G) * F32, hPrev + <usize>(r * ldh) * F32, H);
      }
      b = e;
    }
  }
  zero_padding(out, ldo, H, lengths, T, B);
}

/**
 * One column's step after the product: a [3H] holds the input side's pre-activations and becomes the
 * activated r, z, n; the hidden side gh [3H] gives hn [H] (kept for the backward pass); h [H] from hPrev.
 */
function gru_cell(h: usize, a: usize, hn: usize, gh: usize, hPrev: usize, H: i32): void {
  const gate = <usize>H * F32;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= H; j += 4) {
      const oj = <usize>j * F32;
      const r = sigmoid4(f32x4.add(v128.load(a + oj), v128.load(gh + oj)));
      const z = sigmoid4(f32x4.add(v128.load(a + oj + gate), v128.load(gh + oj + gate)));
      const hidden = v128.load(gh + oj + 2 * gate);
      const n = tanh4(f32x4.add(v128.load(a + oj + 2 * gate), f32x4.mul(r, hidden)));
      v128.store(a + oj, r);
      v128.store(a + oj + gate, z);
      v128.store(a + oj + 2 * gate, n);
      v128.store(hn + oj, hidden);
      v128.store(h + oj, f32x4.add(f32x4.mul(f32x4.sub(f32x4.splat(1), z), n), f32x4.mul(z, v128.load(hPrev + oj))));
    }
  }
  for (; j < H; j++) {
    const oj = <usize>j * F32;
    const r = sigmoid(load<f32>(a + oj) + load<f32>(gh + oj));
    const z = sigmoid(load<f32>(a + oj + gate) + load<f32>(gh + oj + gate));
    const hidden = load<f32>(gh + oj + 2 * gate);
    const n = tanh(load<f32>(a + oj + 2 * gate) + r * hidden);
    store<f32>(a + oj, r);
    store<f32>(a + oj + gate, z);
    store<f32>(a + oj + 2 * gate, n);
    store<f32>(hn + oj, hidden);
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
  dgh: usize, // [T, B, 3H] scratch: gradients of the hidden side's pre-activations
  dout: usize, // [T, B, ldo] gradient on this direction's output
  out: usize, // [T, B, ldo] forward output h
  gates: usize, // [T, B, 3H] forward cache
  hn: usize, // [T, B, H] forward cache
  x: usize, // [T, B, I]
  lengths: usize, // [B] int32 or 0
  h0: usize, // [B, H]
  w_ih: usize, // [3H, I]
  w_hh: usize, // [3H, H]
  T: i32, B: i32, I: i32, H: i32, ldo: i32, reverse: i32,
): void {
  const G = 3 * H;
  const outStep = <usize>(B * ldo) * F32;
  // Padded steps pass nothing back: their rows of dgi and dgh stay zero through the products below.
  if (lengths) {
    memory.fill(dgi, 0, <usize>(T * B * G) * F32);
    memory.fill(dgh, 0, <usize>(T * B * G) * F32);
  }
  memory.fill(dh0, 0, <usize>(B * H) * F32);
  for (let s = T - 1; s >= 0; s--) {
    for (let b = 0; b < B;) {
      const t = step_time(lengths, b, s, T, reverse);
      if (t < 0) {
        b++;
        continue;
      }
      const e = same_time_end(lengths, b, t, s, T, B, reverse);
      const h = out + <usize>((t * B + b) * ldo) * F32;
      const first = s == 0;
      const hPrev = first ? h0 + <usize>(b * H) * F32 : (reverse ? h + outStep : h - outStep);
      const ldh = first ? H : ldo;
      const dhid = dgh + <usize>((t * B + b) * G) * F32;
      const dhNext = dh0 + <usize>(b * H) * F32; // one row per column of the run
      for (let r = 0; r < e - b; r++) {
        const row = t * B + b + r;
        gru_cell_grad(dgi + <usize>(row * G) * F32, dhid + <usize>(r * G) * F32, dhNext + <usize>(r * H) * F32,
          gates + <usize>(row * G) * F32, hn + <usize>(row * H) * F32, hPrev + <usize>(r * ldh) * F32,
          dout + <usize>(row * ldo) * F32, H);
      }
      gemm_nn(dhNext, H, dhid, G, w_hh, H, e - b, H, G); // plus the path through all three gates
      b = e;
    }
  }
  weight_grads(dx, dw_ih, dw_hh, db_ih, db_hh, dgi, dgh, out, ldo, x, h0, w_ih, lengths, T, B, I, H, G, reverse);
}

/**
 * One column's step back through the gates: from dout [H] and dhNext [H] (step t+1's gradient into this h),
 * the input side's and the hidden side's pre-activation gradients di, dhid [3H]; dhNext becomes the direct part
 * of the gradient into h[t-1] (the product with W_hh adds the rest). a: the activated gates, hn: h W_hnᵀ + b_hn.
 */
function gru_cell_grad(di: usize, dhid: usize, dhNext: usize, a: usize, hn: usize, hPrev: usize, dout: usize, H: i32): void {
  const gate = <usize>H * F32;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const one = f32x4.splat(1);
    for (; j + 4 <= H; j += 4) {
      const oj = <usize>j * F32;
      const r = v128.load(a + oj), z = v128.load(a + oj + gate), n = v128.load(a + oj + 2 * gate);
      const dh = f32x4.add(v128.load(dout + oj), v128.load(dhNext + oj));
      const dan = f32x4.mul(f32x4.mul(dh, f32x4.sub(one, z)), f32x4.sub(one, f32x4.mul(n, n)));
      const dar = f32x4.mul(f32x4.mul(f32x4.mul(dan, v128.load(hn + oj)), r), f32x4.sub(one, r));
      const daz = f32x4.mul(f32x4.mul(f32x4.mul(dh, f32x4.sub(v128.load(hPrev + oj), n)), z), f32x4.sub(one, z));
      v128.store(di + oj, dar);
      v128.store(di + oj + gate, daz);
      v128.store(di + oj + 2 * gate, dan);
      v128.store(dhid + oj, dar);
      v128.store(dhid + oj + gate, daz);
      v128.store(dhid + oj + 2 * gate, f32x4.mul(dan, r));
      v128.store(dhNext + oj, f32x4.mul(dh, z));
    }
  }
  for (; j < H; j++) {
    const oj = <usize>j * F32;
    const r = load<f32>(a + oj), z = load<f32>(a + oj + gate), n = load<f32>(a + oj + 2 * gate);
    const dh = load<f32>(dout + oj) + load<f32>(dhNext + oj); // from the output and from step t+1
    const dan = dh * (1 - z) * (1 - n * n); // into n's pre-activation, through tanh
    const dar = dan * load<f32>(hn + oj) * r * (1 - r); // r scales the hidden n rows
    const daz = dh * (load<f32>(hPrev + oj) - n) * z * (1 - z);
    store<f32>(di + oj, dar);
    store<f32>(di + oj + gate, daz);
    store<f32>(di + oj + 2 * gate, dan);
    store<f32>(dhid + oj, dar);
    store<f32>(dhid + oj + gate, daz);
    store<f32>(dhid + oj + 2 * gate, dan * r);
    store<f32>(dhNext + oj, dh * z); // h' = … + z⊙h passes straight through
  }
}
