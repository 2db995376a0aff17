// The GRU, one direction of one layer over a whole sequence, gates stacked in PyTorch's order r, z, n:
//   r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr),  z = σ(x W_izᵀ + b_iz + h W_hzᵀ + b_hz)
//   n = tanh(x W_inᵀ + b_in + r⊙(h W_hnᵀ + b_hn)),  h' = (1 - z)⊙n + z⊙h
// b_hn sits inside the product with r, so the hidden side's n rows are cached apart from the input side's.
import { add_column_sums, fill_rows, gemm_nn, gemm_nt, gemm_tn } from './linalg';
import { sigmoid } from './activations';

// @ts-ignore: decorator
@inline const F32 = 4;

export function gru_forward(
  out: usize, // [T, B, ldo]: this direction's H columns of the layer output
  gates: usize, // [T, B, 3H] cache: r, z, n after their nonlinearities
  hn: usize, // [T, B, H] cache: h[t-1] W_hnᵀ + b_hn
  gh: usize, // [B, 3H] scratch: the hidden side of one step
  x: usize, // [T, B, I]
  h0: usize, // [B, H]
  w_ih: usize, // [3H, I]
  w_hh: usize, // [3H, H]
  b_ih: usize, // [3H] or 0
  b_hh: usize, // [3H] or 0
  T: i32, B: i32, I: i32, H: i32, ldo: i32, reverse: i32,
): void {
  const G = 3 * H;
  const rows = T * B;
  fill_rows(gates, G, b_ih, rows, G);
  gemm_nt(gates, G, x, I, w_ih, I, rows, G, I);
  const outStep = <usize>(B * ldo) * F32;
  const gate = <usize>H * F32;
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const outT = out + <usize>t * outStep;
    const hPrev = s == 0 ? h0 : (reverse ? outT + outStep : outT - outStep);
    const ldh = s == 0 ? H : ldo;
    fill_rows(gh, G, b_hh, B, G);
    gemm_nt(gh, G, hPrev, ldh, w_hh, H, B, G, H); // all three gates' hidden side in one product
    for (let b = 0; b < B; b++) {
      const gi = gates + <usize>((t * B + b) * G) * F32;
      const gb = gh + <usize>(b * G) * F32;
      const hp = hPrev + <usize>(b * ldh) * F32;
      const hb = outT + <usize>(b * ldo) * F32;
      const hnb = hn + <usize>((t * B + b) * H) * F32;
      for (let j = 0; j < H; j++) {
        const oj = <usize>j * F32;
        const r = sigmoid(load<f32>(gi + oj) + load<f32>(gb + oj));
        const z = sigmoid(load<f32>(gi + oj + gate) + load<f32>(gb + oj + gate));
        const hidden = load<f32>(gb + oj + 2 * gate);
        const n = Mathf.tanh(load<f32>(gi + oj + 2 * gate) + r * hidden);
        store<f32>(gi + oj, r);
        store<f32>(gi + oj + gate, z);
        store<f32>(gi + oj + 2 * gate, n);
        store<f32>(hnb + oj, hidden);
        store<f32>(hb + oj, (1 - z) * n + z * load<f32>(hp + oj));
      }
    }
  }
}

export function gru_backward(
  dx: usize, // [T, B, I] +=
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
  h0: usize, // [B, H]
  w_ih: usize, // [3H, I]
  w_hh: usize, // [3H, H]
  T: i32, B: i32, I: i32, H: i32, ldo: i32, reverse: i32,
): void {
  const G = 3 * H;
  const outStep = <usize>(B * ldo) * F32;
  const stateStep = <usize>(B * H) * F32;
  const gateStep = <usize>(B * G) * F32;
  const gate = <usize>H * F32;
  memory.fill(dh0, 0, stateStep);
  for (let s = T - 1; s >= 0; s--) {
    const t = reverse ? T - 1 - s : s;
    const outT = out + <usize>t * outStep;
    const hPrev = s == 0 ? h0 : (reverse ? outT + outStep : outT - outStep);
    const ldh = s == 0 ? H : ldo;
    for (let b = 0; b < B; b++) {
      const row = <usize>((t * B + b) * G) * F32;
      const g = gates + row, di = dgi + row, dhid = dgh + row;
      const hp = hPrev + <usize>(b * ldh) * F32;
      const hnb = hn + <usize>((t * B + b) * H) * F32;
      const doutRow = dout + <usize>t * outStep + <usize>(b * ldo) * F32;
      const dnext = dh0 + <usize>(b * H) * F32;
      for (let j = 0; j < H; j++) {
        const oj = <usize>j * F32;
        const r = load<f32>(g + oj), z = load<f32>(g + oj + gate), n = load<f32>(g + oj + 2 * gate);
        const dh = load<f32>(doutRow + oj) + load<f32>(dnext + oj); // from the output and from step t+1
        const dan = dh * (1 - z) * (1 - n * n); // into n's pre-activation, through tanh
        const dar = dan * load<f32>(hnb + oj) * r * (1 - r); // r scales the hidden n rows
        const daz = dh * (load<f32>(hp + oj) - n) * z * (1 - z);
        store<f32>(di + oj, dar);
        store<f32>(di + oj + gate, daz);
        store<f32>(di + oj + 2 * gate, dan);
        store<f32>(dhid + oj, dar);
        store<f32>(dhid + oj + gate, daz);
        store<f32>(dhid + oj + 2 * gate, dan * r);
        store<f32>(dnext + oj, dh * z); // h' = … + z⊙h passes straight through
      }
    }
    gemm_nn(dh0, H, dgh + <usize>t * gateStep, G, w_hh, H, B, H, G); // plus the path through all three gates
  }
  const first = reverse ? T - 1 : 0;
  gemm_tn(dw_hh, H, dgh + <usize>first * gateStep, G, h0, H, G, H, B);
  if (T > 1) {
    if (reverse) gemm_tn(dw_hh, H, dgh, G, out + outStep, ldo, G, H, (T - 1) * B);
    else gemm_tn(dw_hh, H, dgh + gateStep, G, out, ldo, G, H, (T - 1) * B);
  }
  if (db_ih) add_column_sums(db_ih, dgi, G, T * B, G);
  if (db_hh) add_column_sums(db_hh, dgh, G, T * B, G);
  gemm_tn(dw_ih, I, dgi, G, x, I, G, I, T * B);
  gemm_nn(dx, I, dgi, G, w_ih, I, T * B, I, G);
}
