// Elementwise and one-row operations over raw pointers, each with a SIMD path over multiples of 4 floats and
// the plain loop for the tail: the building blocks the products and cells share.

// @ts-ignore: decorator
@inline const F32 = 4;

/**
 * acc + a·b, lane by lane: in the relaxed build one fused multiply-add (`f32x4.relaxed_madd`: V8 emits
 * vfmadd231ps where the CPU has FMA, and a multiply then an add where it has not, so its rounding depends on
 * the machine); elsewhere exactly the multiply and the add, rounded twice, as before the relaxed build existed.
 */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

/** y[n] += s · x[n]. */
// @ts-ignore: decorator
@inline export function axpy(y: usize, x: usize, s: f32, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const sv = f32x4.splat(s);
    for (; i + 4 <= n; i += 4) {
      const off = <usize>i * F32;
      v128.store(y + off, madd(sv, v128.load(x + off), v128.load(y + off)));
    }
  }
  for (; i < n; i++) {
    const off = <usize>i * F32;
    store<f32>(y + off, load<f32>(y + off) + s * load<f32>(x + off));
  }
}

/** Column sums: out[N] += Σ_m A[m, :]. */
export function add_column_sums(
  out: usize, // [N]
  a: usize, lda: i32, // [M, N]
  M: i32, N: i32,
): void {
  for (let m = 0; m < M; m++) axpy(out, a + <usize>(m * lda) * F32, 1, N);
}

/** out[i] = a[i] · b[i] over n elements (out may be a). */
export function multiply(out: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const off = <usize>i * F32;
      v128.store(out + off, f32x4.mul(v128.load(a + off), v128.load(b + off)));
    }
  }
  for (; i < n; i++) {
    const off = <usize>i * F32;
    store<f32>(out + off, load<f32>(a + off) * load<f32>(b + off));
  }
}

/**
 * 1 when any of the n floats at x is NaN or infinite, else 0. Inputs are checked here, after they were
 * copied into the heap, because a vector pass costs a fraction of a JS loop over the caller's array.
 */
export function non_finite(x: usize, n: i32): i32 {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    // v - v is +0 (all bits clear) for a finite v and NaN otherwise: or-ing the differences keeps any NaN's bits.
    let any = i32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(x + <usize>i * F32);
      any = v128.or(any, f32x4.sub(v, v));
    }
    if (v128.any_true(any)) return 1;
  }
  for (; i < n; i++) {
    const v = load<f32>(x + <usize>i * F32);
    if (v - v != 0) return 1;
  }
  return 0;
}

/** Every row of C[M, N] set to b1 + b2, either of which may be 0 (absent): the bias before a product accumulates. */
export function bias_rows(
  c: usize, ldc: i32, // [M, N]
  b1: usize, // [N] or 0
  b2: usize, // [N] or 0
  M: i32, N: i32,
): void {
  for (let m = 0; m < M; m++) {
    const row = c + <usize>(m * ldc) * F32;
    if (!b1 && !b2) {
      memory.fill(row, 0, <usize>N * F32);
      continue;
    }
    if (!b1 || !b2) {
      memory.copy(row, b1 | b2, <usize>N * F32);
      continue;
    }
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      for (; j + 4 <= N; j += 4) {
        const off = <usize>j * F32;
        v128.store(row + off, f32x4.add(v128.load(b1 + off), v128.load(b2 + off)));
      }
    }
    for (; j < N; j++) {
      const off = <usize>j * F32;
      store<f32>(row + off, load<f32>(b1 + off) + load<f32>(b2 + off));
    }
  }
}

// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}
