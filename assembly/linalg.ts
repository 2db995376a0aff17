// Matrix products over raw pointers, row-major with explicit row strides (ld*, in elements), all accumulating
// into C. Each has a SIMD path (f32x4 over the contiguous axis, four independent accumulators) and the plain
// loop beside it: the plain loop is the reference, the scalar build's only path and the SIMD path's tail.

// @ts-ignore: decorator
@inline const F32 = 4;

/** C[M, N] += A[M, K] · B[N, K]ᵀ: dot products along contiguous K (x · Wᵀ with W as PyTorch stores it). */
export function gemm_nt(
  c: usize, ldc: i32, // [M, N]
  a: usize, lda: i32, // [M, K]
  b: usize, ldb: i32, // [N, K]
  M: i32, N: i32, K: i32,
): void {
  for (let m = 0; m < M; m++) {
    const aRow = a + <usize>(m * lda) * F32;
    const cRow = c + <usize>(m * ldc) * F32;
    let n = 0;
    if (ASC_FEATURE_SIMD) {
      // Four rows of B share each load of A: one vector of A feeds four multiply-adds.
      for (; n + 4 <= N; n += 4) {
        const b0 = b + <usize>(n * ldb) * F32;
        const b1 = b0 + <usize>ldb * F32;
        const b2 = b1 + <usize>ldb * F32;
        const b3 = b2 + <usize>ldb * F32;
        let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
        let k = 0;
        for (; k + 4 <= K; k += 4) {
          const off = <usize>k * F32;
          const av = v128.load(aRow + off);
          s0 = f32x4.add(s0, f32x4.mul(av, v128.load(b0 + off)));
          s1 = f32x4.add(s1, f32x4.mul(av, v128.load(b1 + off)));
          s2 = f32x4.add(s2, f32x4.mul(av, v128.load(b2 + off)));
          s3 = f32x4.add(s3, f32x4.mul(av, v128.load(b3 + off)));
        }
        let d0 = hsum(s0), d1 = hsum(s1), d2 = hsum(s2), d3 = hsum(s3);
        for (; k < K; k++) {
          const off = <usize>k * F32;
          const av = load<f32>(aRow + off);
          d0 += av * load<f32>(b0 + off);
          d1 += av * load<f32>(b1 + off);
          d2 += av * load<f32>(b2 + off);
          d3 += av * load<f32>(b3 + off);
        }
        const cn = cRow + <usize>n * F32;
        store<f32>(cn, load<f32>(cn) + d0);
        store<f32>(cn, load<f32>(cn, 4) + d1, 4);
        store<f32>(cn, load<f32>(cn, 8) + d2, 8);
        store<f32>(cn, load<f32>(cn, 12) + d3, 12);
      }
    }
    for (; n < N; n++) {
      const bRow = b + <usize>(n * ldb) * F32;
      let d: f32 = 0;
      for (let k = 0; k < K; k++) d += load<f32>(aRow + <usize>k * F32) * load<f32>(bRow + <usize>k * F32);
      const cn = cRow + <usize>n * F32;
      store<f32>(cn, load<f32>(cn) + d);
    }
  }
}

/** C[M, N] += A[M, K] · B[K, N]: each C row gathers rows of B scaled by one A row (gradients into inputs). */
export function gemm_nn(
  c: usize, ldc: i32, // [M, N]
  a: usize, lda: i32, // [M, K]
  b: usize, ldb: i32, // [K, N]
  M: i32, N: i32, K: i32,
): void {
  for (let m = 0; m < M; m++) {
    const aRow = a + <usize>(m * lda) * F32;
    const cRow = c + <usize>(m * ldc) * F32;
    for (let k = 0; k < K; k++) {
      axpy(cRow, b + <usize>(k * ldb) * F32, load<f32>(aRow + <usize>k * F32), N);
    }
  }
}

/** C[M, N] += A[K, M]ᵀ · B[K, N]: sums of outer products over K (weight gradients over all steps). */
export function gemm_tn(
  c: usize, ldc: i32, // [M, N]
  a: usize, lda: i32, // [K, M]
  b: usize, ldb: i32, // [K, N]
  M: i32, N: i32, K: i32,
): void {
  for (let k = 0; k < K; k++) {
    const aRow = a + <usize>(k * lda) * F32;
    const bRow = b + <usize>(k * ldb) * F32;
    for (let m = 0; m < M; m++) {
      const s = load<f32>(aRow + <usize>m * F32);
      // Zero rows are common (padded many-to-one targets, relu): skipping them is exact and cheap.
      if (s != 0) axpy(c + <usize>(m * ldc) * F32, bRow, s, N);
    }
  }
}

/** y[n] += s · x[n]. */
// @ts-ignore: decorator
@inline export function axpy(y: usize, x: usize, s: f32, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const sv = f32x4.splat(s);
    for (; i + 4 <= n; i += 4) {
      const off = <usize>i * F32;
      v128.store(y + off, f32x4.add(v128.load(y + off), f32x4.mul(sv, v128.load(x + off))));
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

/** Every row of C[M, N] set to b, or to zero when b is 0. */
export function fill_rows(
  c: usize, ldc: i32, // [M, N]
  b: usize, // [N] or 0
  M: i32, N: i32,
): void {
  for (let m = 0; m < M; m++) {
    const row = c + <usize>(m * ldc) * F32;
    if (b) memory.copy(row, b, <usize>N * F32);
    else memory.fill(row, 0, <usize>N * F32);
  }
}

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}
