// Matrix products over raw pointers, row-major with explicit row strides (ld*, in elements), all accumulating
// into C. Each has a SIMD path and the plain loop beside it: the plain loop is the reference, the scalar
// build's only path and the SIMD path's tail.

// @ts-ignore: decorator
@inline const F32 = 4;

// ---- packed weights: the forward pass's products ---------------------------------------------------------
// A forward pass reads W_hh once per step and W_ih once per call, so both are packed once into panels of 16
// rows: for each k, the panel's 16 weights side by side. The product then reads one pointer that moves by a
// constant stride, at constant offsets (no per-load address arithmetic), and each broadcast input value meets
// four vectors of weights.

/** Rows per panel: four f32x4 vectors. */
// @ts-ignore: decorator
@inline const PANEL = 16;

/** Floats that the packed copy of a [R, K] weight takes: whole panels, rows past R zero. */
export function packed_size(R: i32, K: i32): i32 {
  return (R + PANEL - 1) / PANEL * PANEL * K;
}

/** dst: [⌈R/16⌉, K, 16] = w: [R, K] in panels of 16 rows, rows past R zero. */
export function pack_weights(dst: usize, w: usize, R: i32, K: i32): void {
  for (let r0 = 0; r0 < R; r0 += PANEL) {
    const panel = dst + <usize>(r0 * K) * F32;
    for (let k = 0; k < K; k++) {
      for (let i = 0; i < PANEL; i++) {
        const r = r0 + i;
        store<f32>(panel + <usize>(k * PANEL + i) * F32, r < R ? load<f32>(w + <usize>(r * K + k) * F32) : 0);
      }
    }
  }
}

/** Scratch for the last panel of an N that is not a multiple of 16: its accumulators, lane by lane. */
const PARTIAL: usize = memory.data(PANEL * F32, 16);

/**
 * C[M, N] += A[M, K] · W[N, K]ᵀ with W packed by pack_weights: a batch of rows x times Wᵀ.
 * SIMD: two rows of A share every load of a panel (2 × 4 vectors: eight accumulators). A lone row takes two
 * k per pass into four accumulators, each adding a pair of products: eight accumulators for one row would
 * need ten weight and input registers more, and V8 then spills accumulators to the stack on every pass.
 */
export function gemm_packed(
  c: usize, ldc: i32, // [M, N]
  a: usize, lda: i32, // [M, K]
  w: usize, // packed [N, K]
  M: i32, N: i32, K: i32,
): void {
  if (!ASC_FEATURE_SIMD) {
    for (let m = 0; m < M; m++) {
      const aRow = a + <usize>(m * lda) * F32;
      for (let n = 0; n < N; n++) {
        // Row n of W is lane n % 16 of its panel: every 16th float from there.
        const wRow = w + <usize>((n - n % PANEL) * K + n % PANEL) * F32;
        let d: f32 = 0;
        for (let k = 0; k < K; k++) d += load<f32>(aRow + <usize>k * F32) * load<f32>(wRow + <usize>(k * PANEL) * F32);
        const cn = c + <usize>(m * ldc + n) * F32;
        store<f32>(cn, load<f32>(cn) + d);
      }
    }
    return;
  }
  const next = <usize>lda * F32; // from one row of A to the next
  for (let n = 0; n < N; n += PANEL) {
    const panel = w + <usize>(n * K) * F32;
    const end = panel + <usize>(K * PANEL) * F32;
    const width = min(N - n, PANEL);
    let m = 0;
    for (; m + 2 <= M; m += 2) {
      let x = a + <usize>(m * lda) * F32;
      let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
      for (let p = panel; p < end; p += PANEL * F32) {
        const x0 = v128.load32_splat(x), x1 = v128.load32_splat(x + next);
        const w0 = v128.load(p), w1 = v128.load(p, 16), w2 = v128.load(p, 32), w3 = v128.load(p, 48);
        s0 = f32x4.add(s0, f32x4.mul(x0, w0));
        s1 = f32x4.add(s1, f32x4.mul(x0, w1));
        s2 = f32x4.add(s2, f32x4.mul(x0, w2));
        s3 = f32x4.add(s3, f32x4.mul(x0, w3));
        t0 = f32x4.add(t0, f32x4.mul(x1, w0));
        t1 = f32x4.add(t1, f32x4.mul(x1, w1));
        t2 = f32x4.add(t2, f32x4.mul(x1, w2));
        t3 = f32x4.add(t3, f32x4.mul(x1, w3));
        x += F32;
      }
      const c0 = c + <usize>(m * ldc + n) * F32;
      add_panel(c0, s0, s1, s2, s3, width);
      add_panel(c0 + <usize>ldc * F32, t0, t1, t2, t3, width);
    }
    if (m < M) {
      let x = a + <usize>(m * lda) * F32;
      let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
      const pairs = panel + <usize>((K & ~1) * PANEL) * F32;
      let p = panel;
      for (; p < pairs; p += 2 * PANEL * F32) {
        const x0 = v128.load32_splat(x), x1 = v128.load32_splat(x, 4);
        s0 = f32x4.add(s0, f32x4.add(f32x4.mul(x0, v128.load(p)), f32x4.mul(x1, v128.load(p, 64))));
        s1 = f32x4.add(s1, f32x4.add(f32x4.mul(x0, v128.load(p, 16)), f32x4.mul(x1, v128.load(p, 80))));
        s2 = f32x4.add(s2, f32x4.add(f32x4.mul(x0, v128.load(p, 32)), f32x4.mul(x1, v128.load(p, 96))));
        s3 = f32x4.add(s3, f32x4.add(f32x4.mul(x0, v128.load(p, 48)), f32x4.mul(x1, v128.load(p, 112))));
        x += 2 * F32;
      }
      if (p < end) { // odd K: the last k alone
        const x0 = v128.load32_splat(x);
        s0 = f32x4.add(s0, f32x4.mul(x0, v128.load(p)));
        s1 = f32x4.add(s1, f32x4.mul(x0, v128.load(p, 16)));
        s2 = f32x4.add(s2, f32x4.mul(x0, v128.load(p, 32)));
        s3 = f32x4.add(s3, f32x4.mul(x0, v128.load(p, 48)));
      }
      add_panel(c + <usize>(m * ldc + n) * F32, s0, s1, s2, s3, width);
    }
  }
}

/** c[0, width) += one panel's four accumulators; only a last panel past N is narrower than 16 (SIMD builds only). */
// @ts-ignore: decorator
@inline function add_panel(c: usize, s0: v128, s1: v128, s2: v128, s3: v128, width: i32): void {
  if (width == PANEL) {
    v128.store(c, f32x4.add(v128.load(c), s0));
    v128.store(c, f32x4.add(v128.load(c, 16), s1), 16);
    v128.store(c, f32x4.add(v128.load(c, 32), s2), 32);
    v128.store(c, f32x4.add(v128.load(c, 48), s3), 48);
    return;
  }
  v128.store(PARTIAL, s0);
  v128.store(PARTIAL, s1, 16);
  v128.store(PARTIAL, s2, 32);
  v128.store(PARTIAL, s3, 48);
  for (let i = 0; i < width; i++) {
    const ci = c + <usize>i * F32;
    store<f32>(ci, load<f32>(ci) + load<f32>(PARTIAL + <usize>i * F32));
  }
}

// ---- products over weights as PyTorch lays them out: the head, and the backward pass ---------------------

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
      let k = 0;
      if (ASC_FEATURE_SIMD) {
        // Fewer than four rows left (a head with one output, say): vectors along K instead.
        let s = f32x4.splat(0);
        for (; k + 4 <= K; k += 4) {
          const off = <usize>k * F32;
          s = f32x4.add(s, f32x4.mul(v128.load(aRow + off), v128.load(bRow + off)));
        }
        d = hsum(s);
      }
      for (; k < K; k++) d += load<f32>(aRow + <usize>k * F32) * load<f32>(bRow + <usize>k * F32);
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
    let k = 0;
    if (ASC_FEATURE_SIMD) {
      // Four rows of B per pass over the C row: one load and store of C per four multiply-adds.
      for (; k + 4 <= K; k += 4) {
        const pa = aRow + <usize>k * F32;
        axpy4(cRow, b + <usize>(k * ldb) * F32, <usize>ldb * F32,
          load<f32>(pa), load<f32>(pa, 4), load<f32>(pa, 8), load<f32>(pa, 12), N);
      }
    }
    for (; k < K; k++) axpy(cRow, b + <usize>(k * ldb) * F32, load<f32>(aRow + <usize>k * F32), N);
  }
}

/** C[M, N] += A[K, M]ᵀ · B[K, N]: sums of outer products over K (weight gradients over all steps). */
export function gemm_tn(
  c: usize, ldc: i32, // [M, N]
  a: usize, lda: i32, // [K, M]
  b: usize, ldb: i32, // [K, N]
  M: i32, N: i32, K: i32,
): void {
  // Zero rows are common (padded many-to-one targets, relu): skipping them is exact and cheap.
  let k = 0;
  if (ASC_FEATURE_SIMD) {
    // Four outer products per pass over C: one load and store of each C row per four multiply-adds.
    const aStride = <usize>lda * F32;
    for (; k + 4 <= K; k += 4) {
      const aRow = a + <usize>(k * lda) * F32;
      const bRow = b + <usize>(k * ldb) * F32;
      for (let m = 0; m < M; m++) {
        const pa = aRow + <usize>m * F32;
        const s0 = load<f32>(pa), s1 = load<f32>(pa + aStride), s2 = load<f32>(pa + 2 * aStride), s3 = load<f32>(pa + 3 * aStride);
        if (s0 != 0 || s1 != 0 || s2 != 0 || s3 != 0) axpy4(c + <usize>(m * ldc) * F32, bRow, <usize>ldb * F32, s0, s1, s2, s3, N);
      }
    }
  }
  for (; k < K; k++) {
    const aRow = a + <usize>(k * lda) * F32;
    const bRow = b + <usize>(k * ldb) * F32;
    for (let m = 0; m < M; m++) {
      const s = load<f32>(aRow + <usize>m * F32);
      if (s != 0) axpy(c + <usize>(m * ldc) * F32, bRow, s, N);
    }
  }
}

/** y[n] += s0 x[0, n] + s1 x[1, n] + s2 x[2, n] + s3 x[3, n] for four rows of x `ldx` bytes apart (SIMD builds only). */
// @ts-ignore: decorator
@inline function axpy4(y: usize, x: usize, ldx: usize, s0: f32, s1: f32, s2: f32, s3: f32, n: i32): void {
  const x1 = x + ldx, x2 = x1 + ldx, x3 = x2 + ldx;
  const v0 = f32x4.splat(s0), v1 = f32x4.splat(s1), v2 = f32x4.splat(s2), v3 = f32x4.splat(s3);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i * F32;
    // Summed in pairs so that the four products do not form one dependency chain.
    const p01 = f32x4.add(f32x4.mul(v0, v128.load(x + off)), f32x4.mul(v1, v128.load(x1 + off)));
    const p23 = f32x4.add(f32x4.mul(v2, v128.load(x2 + off)), f32x4.mul(v3, v128.load(x3 + off)));
    v128.store(y + off, f32x4.add(v128.load(y + off), f32x4.add(p01, p23)));
  }
  for (; i < n; i++) {
    const off = <usize>i * F32;
    const p = (s0 * load<f32>(x + off) + s1 * load<f32>(x1 + off)) + (s2 * load<f32>(x2 + off) + s3 * load<f32>(x3 + off));
    store<f32>(y + off, load<f32>(y + off) + p);
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
@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}
