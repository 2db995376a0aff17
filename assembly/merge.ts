// The merge of a bidirectional layer's two directions into one (Keras's merge_mode): each row of the layer's
// output holds the forward direction's H values, then the reverse direction's, and the merge combines them
// element by element, mode 1 sum, 2 ave (their mean), 3 mul. Concatenation, the layer's own output, needs none.

// @ts-ignore: decorator
@inline const F32 = 4;

// @ts-ignore: decorator
@inline function merge1(f: f32, r: f32, mode: i32): f32 {
  return mode == 3 ? f * r : mode == 2 ? (f + r) * 0.5 : f + r;
}

// @ts-ignore: decorator
@inline function merge4(f: v128, r: v128, mode: i32): v128 {
  return mode == 3 ? f32x4.mul(f, r) : mode == 2 ? f32x4.mul(f32x4.add(f, r), f32x4.splat(0.5)) : f32x4.add(f, r);
}

export function merge_forward(
  out: usize, // [rows, H] written
  inp: usize, // [rows, 2H]: the forward half, then the reverse half
  rows: i32, H: i32, mode: i32,
): void {
  for (let m = 0; m < rows; m++) {
    const o = out + <usize>(m * H) * F32, f = inp + <usize>(m * 2 * H) * F32, r = f + <usize>H * F32;
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      for (; j + 4 <= H; j += 4) {
        const off = <usize>j * F32;
        v128.store(o + off, merge4(v128.load(f + off), v128.load(r + off), mode));
      }
    }
    for (; j < H; j++) {
      const off = <usize>j * F32;
      store<f32>(o + off, merge1(load<f32>(f + off), load<f32>(r + off), mode));
    }
  }
}

/** Each half's gradient: sum passes dout to both, ave half of it, mul dout times the other half. */
export function merge_backward(
  dinp: usize, // [rows, 2H] written
  dout: usize, // [rows, H]
  inp: usize, // [rows, 2H] the forward input (read by mul only)
  rows: i32, H: i32, mode: i32,
): void {
  const scale: f32 = mode == 2 ? 0.5 : 1;
  for (let m = 0; m < rows; m++) {
    const g = dout + <usize>(m * H) * F32;
    const df = dinp + <usize>(m * 2 * H) * F32, dr = df + <usize>H * F32;
    const f = inp + <usize>(m * 2 * H) * F32, r = f + <usize>H * F32;
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      for (; j + 4 <= H; j += 4) {
        const off = <usize>j * F32;
        const gj = v128.load(g + off);
        v128.store(df + off, mode == 3 ? f32x4.mul(gj, v128.load(r + off)) : f32x4.mul(gj, f32x4.splat(scale)));
        v128.store(dr + off, mode == 3 ? f32x4.mul(gj, v128.load(f + off)) : f32x4.mul(gj, f32x4.splat(scale)));
      }
    }
    for (; j < H; j++) {
      const off = <usize>j * F32;
      const gj = load<f32>(g + off);
      store<f32>(df + off, mode == 3 ? gj * load<f32>(r + off) : gj * scale);
      store<f32>(dr + off, mode == 3 ? gj * load<f32>(f + off) : gj * scale);
    }
  }
}
