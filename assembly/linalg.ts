// Matrix products over raw pointers, row-major with explicit row strides (ld*, in elements), all accumulating
// into C: the forward pass's x·Wᵀ over packed weights (gemm_packed), and over weights as PyTorch lays them out
// the head's x·Wᵀ (gemm_nt), gradients into inputs dA·W (gemm_nn) and weight gradients dAᵀ·X (gemm_tn).
// The SIMD paths of gemm_packed, gemm_nn and gemm_tn share one tile of C; each product has the plain loop
// beside it, which is the reference and the scalar build's only path.

// @ts-ignore: decorator
@inline const F32 = 4;

// ---- the tile --------------------------------------------------------------------------------------------
// C[m, n..n+16) += Σ_k a(m, k) · b(k, n..n+16) for two rows of C at a time: each a(m, k) is broadcast against
// four vectors of b(k, ·), into eight accumulators that stay in registers for the whole k loop; C is read and
// written once per tile. a(m, k) sits at a0 + k·ak and b(k, ·) at b + k·bk: one moving pointer each, and the
// four loads of b at constant offsets from it. A lone row takes two k per pass into four accumulators, each
// adding a pair of products: eight accumulators for one row need more registers than V8 has for them, and it
// then spills accumulators to the stack on every pass (measured: about half the speed).

/** Columns per tile: four f32x4 vectors. */
// @ts-ignore: decorator
@inline const TILE = 16;

/** Two rows of C: c0 and c1 get the first `width` columns of the tile (SIMD builds only). */
// @ts-ignore: decorator
@inline function tile2(c0: usize, c1: usize, a0: usize, a1: usize, ak: usize, b: usize, bk: usize, K: i32, width: i32): void {
  let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
  const end = b + <usize>K * bk;
  while (b < end) {
    const x0 = v128.load32_splat(a0), x1 = v128.load32_splat(a1);
    const w0 = v128.load(b), w1 = v128.load(b, 16), w2 = v128.load(b, 32), w3 = v128.load(b, 48);
    s0 = f32x4.add(s0, f32x4.mul(x0, w0));
    s1 = f32x4.add(s1, f32x4.mul(x0, w1));
    s2 = f32x4.add(s2, f32x4.mul(x0, w2));
    s3 = f32x4.add(s3, f32x4.mul(x0, w3));
    t0 = f32x4.add(t0, f32x4.mul(x1, w0));
    t1 = f32x4.add(t1, f32x4.mul(x1, w1));
    t2 = f32x4.add(t2, f32x4.mul(x1, w2));
    t3 = f32x4.add(t3, f32x4.mul(x1, w3));
    a0 += ak;
    a1 += ak;
    b += bk;
  }
  add_tile(c0, s0, s1, s2, s3, width);
  add_tile(c1, t0, t1, t2, t3, width);
}

/** One row of C (SIMD builds only). */
// @ts-ignore: decorator
@inline function tile1(c0: usize, a0: usize, ak: usize, b: usize, bk: usize, K: i32, width: i32): void {
  let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
  let k = 0;
  for (; k + 2 <= K; k += 2) {
    const x0 = v128.load32_splat(a0), x1 = v128.load32_splat(a0 + ak);
    const b1 = b + bk;
    s0 = f32x4.add(s0, f32x4.add(f32x4.mul(x0, v128.load(b)), f32x4.mul(x1, v128.load(b1))));
    s1 = f32x4.add(s1, f32x4.add(f32x4.mul(x0, v128.load(b, 16)), f32x4.mul(x1, v128.load(b1, 16))));
    s2 = f32x4.add(s2, f32x4.add(f32x4.mul(x0, v128.load(b, 32)), f32x4.mul(x1, v128.load(b1, 32))));
    s3 = f32x4.add(s3, f32x4.add(f32x4.mul(x0, v128.load(b, 48)), f32x4.mul(x1, v128.load(b1, 48))));
    a0 += 2 * ak;
    b += 2 * bk;
  }
  if (k < K) { // odd K: the last k alone
    const x0 = v128.load32_splat(a0);
    s0 = f32x4.add(s0, f32x4.mul(x0, v128.load(b)));
    s1 = f32x4.add(s1, f32x4.mul(x0, v128.load(b, 16)));
    s2 = f32x4.add(s2, f32x4.mul(x0, v128.load(b, 32)));
    s3 = f32x4.add(s3, f32x4.mul(x0, v128.load(b, 48)));
  }
  add_tile(c0, s0, s1, s2, s3, width);
}

/** Scratch for a tile narrower than 16 columns: its accumulators, lane by lane. */
const PARTIAL: usize = memory.data(TILE * F32, 16);

/** c[0, width) += a tile row's four accumulators; only a packed weight's last panel is narrower than 16. */
// @ts-ignore: decorator
@inline function add_tile(c: usize, s0: v128, s1: v128, s2: v128, s3: v128, width: i32): void {
  if (width >= TILE) {
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

/**
 * C[M, N] += a(m, k) · B[K, N] over the tiles, for B row-major with row stride `bk` bytes: a(m, k) at
 * a + m·am + k·ak. Columns past the last whole tile take one vector at a time, then the plain loop.
 * (SIMD builds only.)
 */
// @ts-ignore: decorator
@inline function gemm_tiles(c: usize, ldc: i32, a: usize, am: usize, ak: usize, b: usize, bk: usize, M: i32, N: i32, K: i32): void {
  const cm = <usize>ldc * F32;
  let n = 0;
  for (; n + TILE <= N; n += TILE) {
    const bn = b + <usize>n * F32;
    const cn = c + <usize>n * F32;
    let m = 0;
    for (; m + 2 <= M; m += 2) {
      const am0 = a + <usize>m * am;
      tile2(cn + <usize>m * cm, cn + <usize>(m + 1) * cm, am0, am0 + am, ak, bn, bk, K, TILE);
    }
    if (m < M) tile1(cn + <usize>m * cm, a + <usize>m * am, ak, bn, bk, K, TILE);
  }
  for (; n + 4 <= N; n += 4) {
    for (let m = 0; m < M; m++) {
      let x = a + <usize>m * am, p = b + <usize>n * F32;
      let s = f32x4.splat(0);
      for (let k = 0; k < K; k++) {
        s = f32x4.add(s, f32x4.mul(v128.load32_splat(x), v128.load(p)));
        x += ak;
        p += bk;
      }
      const cp = c + <usize>m * cm + <usize>n * F32;
      v128.store(cp, f32x4.add(v128.load(cp), s));
    }
  }
  for (; n < N; n++) {
    for (let m = 0; m < M; m++) {
      let x = a + <usize>m * am, p = b + <usize>n * F32;
      let d: f32 = 0;
      for (let k = 0; k < K; k++) {
        d += load<f32>(x) * load<f32>(p);
        x += ak;
        p += bk;
      }
      const cp = c + <usize>m * cm + <usize>n * F32;
      store<f32>(cp, load<f32>(cp) + d);
    }
  }
}

// ---- packed weights: the forward pass's products ---------------------------------------------------------
// A forward pass reads W_hh once per step and W_ih once per call, so both are packed once into panels of 32
// rows: for each k, the panel's 32 weights side by side, rows past the end zero. Each half of a panel is the
// b(k, ·) of a tile, 64 bytes per k at a stride of 128. A single row of x (batch 1: W_hh's product at every
// step) reads a second copy instead, in groups of 8 rows: for each 4 k, the 8 rows' 4 weights one after the
// other, so that one load of x(k..k+4) serves 8 rows and nothing is splatted (row_dot).

/** Rows per panel of a packed weight: two tiles. */
// @ts-ignore: decorator
@inline const PANEL = 2 * TILE;

/** Rows per group of the one-row copy. */
// @ts-ignore: decorator
@inline const GROUP = 8;

/** Floats of the panels of a [R, K] weight: whole panels, rows past R zero. */
// @ts-ignore: decorator
@inline function panels_size(R: i32, K: i32): i32 {
  return (R + PANEL - 1) / PANEL * PANEL * K;
}

/** Floats that the packed copy of a [R, K] weight takes: its panels, then (SIMD builds) its groups of 8 rows. */
export function packed_size(R: i32, K: i32): i32 {
  return panels_size(R, K) + (ASC_FEATURE_SIMD ? (R + GROUP - 1) / GROUP * GROUP * ((K + 3) & ~3) : 0);
}

/**
 * dst: [⌈R/32⌉, K, 32] = w: [R, K] in panels of 32 rows, rows past R zero; then in SIMD builds
 * [⌈R/8⌉, ⌈K/4⌉, 8, 4]: groups of 8 rows, 4 k of each row side by side, rows and k past the end zero.
 */
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
  if (!ASC_FEATURE_SIMD) return;
  const K4 = (K + 3) & ~3;
  let d = dst + <usize>panels_size(R, K) * F32;
  for (let r0 = 0; r0 < R; r0 += GROUP) {
    for (let k0 = 0; k0 < K4; k0 += 4) {
      for (let i = 0; i < GROUP; i++) {
        for (let j = 0; j < 4; j++) {
          const r = r0 + i, k = k0 + j;
          store<f32>(d, r < R && k < K ? load<f32>(w + <usize>(r * K + k) * F32) : 0);
          d += F32;
        }
      }
    }
  }
}

/**
 * c[0, width) += Σ_k a(k) · w(r, k) for one row a and one group of 8 rows, each row's four k in one vector
 * against a(k..k+4), summed across lanes at the end (SIMD builds only). Per multiply-add it issues the
 * loads and arithmetic of row_panel less its splat; it measured about 3% faster on a GRU step (H = 256).
 */
// @ts-ignore: decorator
@inline function row_dot(c: usize, a: usize, group: usize, K: i32, width: i32): void {
  let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
  const end = a + <usize>(K & ~3) * F32;
  let p = group;
  while (a < end) {
    const x = v128.load(a);
    s0 = f32x4.add(s0, f32x4.mul(x, v128.load(p)));
    s1 = f32x4.add(s1, f32x4.mul(x, v128.load(p, 16)));
    s2 = f32x4.add(s2, f32x4.mul(x, v128.load(p, 32)));
    s3 = f32x4.add(s3, f32x4.mul(x, v128.load(p, 48)));
    // As in row_panel: keeps TurboFan from issuing all eight loads at once and spilling accumulators.
    if (a >= end) break;
    s4 = f32x4.add(s4, f32x4.mul(x, v128.load(p, 64)));
    s5 = f32x4.add(s5, f32x4.mul(x, v128.load(p, 80)));
    s6 = f32x4.add(s6, f32x4.mul(x, v128.load(p, 96)));
    s7 = f32x4.add(s7, f32x4.mul(x, v128.load(p, 112)));
    a += 4 * F32;
    p += 4 * GROUP * F32;
  }
  let lo = hsum4(s0, s1, s2, s3), hi = hsum4(s4, s5, s6, s7);
  if (K & 3) { // the last k of a K that 4 does not divide, without reading past the row
    let x = f32x4.replace_lane(f32x4.splat(0), 0, load<f32>(a));
    if ((K & 3) > 1) x = f32x4.replace_lane(x, 1, load<f32>(a, 4));
    if ((K & 3) > 2) x = f32x4.replace_lane(x, 2, load<f32>(a, 8));
    lo = f32x4.add(lo, hsum4(f32x4.mul(x, v128.load(p)), f32x4.mul(x, v128.load(p, 16)), f32x4.mul(x, v128.load(p, 32)), f32x4.mul(x, v128.load(p, 48))));
    hi = f32x4.add(hi, hsum4(f32x4.mul(x, v128.load(p, 64)), f32x4.mul(x, v128.load(p, 80)), f32x4.mul(x, v128.load(p, 96)), f32x4.mul(x, v128.load(p, 112))));
  }
  if (width >= GROUP) {
    v128.store(c, f32x4.add(v128.load(c), lo));
    v128.store(c, f32x4.add(v128.load(c, 16), hi), 16);
    return;
  }
  v128.store(PARTIAL, lo);
  v128.store(PARTIAL, hi, 16);
  for (let i = 0; i < width; i++) {
    const ci = c + <usize>i * F32;
    store<f32>(ci, load<f32>(ci) + load<f32>(PARTIAL + <usize>i * F32));
  }
}

/** [Σ s0, Σ s1, Σ s2, Σ s3]: each vector summed across its lanes. */
// @ts-ignore: decorator
@inline function hsum4(s0: v128, s1: v128, s2: v128, s3: v128): v128 {
  const u0 = f32x4.add(v128.shuffle<f32>(s0, s1, 0, 4, 1, 5), v128.shuffle<f32>(s0, s1, 2, 6, 3, 7));
  const u1 = f32x4.add(v128.shuffle<f32>(s2, s3, 0, 4, 1, 5), v128.shuffle<f32>(s2, s3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(u0, u1, 0, 1, 4, 5), v128.shuffle<f32>(u0, u1, 2, 3, 6, 7));
}

/**
 * c[0, width) += Σ_k a(k) · panel(k, ·) for one row a and one 32-row panel: one splat of a(k) against eight
 * vectors, into eight accumulators (SIMD builds only). Per multiply-add this issues fewer instructions than
 * tile1's two rows of k, which is what bounds a matrix–vector product on V8: about 10% faster on an LSTM's W_hh.
 */
// @ts-ignore: decorator
@inline function row_panel(c: usize, a: usize, panel: usize, K: i32, width: i32): void {
  let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
  const end = a + <usize>K * F32;
  let p = panel;
  while (a < end) {
    const x = v128.load32_splat(a);
    s0 = f32x4.add(s0, f32x4.mul(x, v128.load(p)));
    s1 = f32x4.add(s1, f32x4.mul(x, v128.load(p, 16)));
    s2 = f32x4.add(s2, f32x4.mul(x, v128.load(p, 32)));
    s3 = f32x4.add(s3, f32x4.mul(x, v128.load(p, 48)));
    // Never taken, but TurboFan does not know that: the test ends a basic block, and TurboFan issues all of a
    // block's loads at its top, so without it the eight loads, eight accumulators and the splat would need
    // more xmm registers than it has, and it spills accumulators on every pass (measured: half the speed).
    if (a >= end) break;
    s4 = f32x4.add(s4, f32x4.mul(x, v128.load(p, 64)));
    s5 = f32x4.add(s5, f32x4.mul(x, v128.load(p, 80)));
    s6 = f32x4.add(s6, f32x4.mul(x, v128.load(p, 96)));
    s7 = f32x4.add(s7, f32x4.mul(x, v128.load(p, 112)));
    a += F32;
    p += PANEL * F32;
  }
  add_tile(c, s0, s1, s2, s3, width);
  if (width > TILE) add_tile(c + TILE * F32, s4, s5, s6, s7, width - TILE);
}

/**
 * C[M, N] += A[M, K] · W[N, K]ᵀ with W packed by pack_weights: a batch of rows x times Wᵀ. `backwards` takes
 * the panels last to first: a recurrence alternates it from step to step, so that each step starts on the
 * panels the previous one read last, still in L2, rather than on those it evicted first (an LSTM's W_hh at
 * H = 256 is 1 MB, the size of a Zen 4 core's L2).
 */
export function gemm_packed(
  c: usize, ldc: i32, // [M, N]
  a: usize, lda: i32, // [M, K]
  w: usize, // packed [N, K]
  M: i32, N: i32, K: i32,
  backwards: bool = false,
): void {
  if (ASC_FEATURE_SIMD) {
    if (M == 1) {
      const groups = (N + GROUP - 1) / GROUP, size = <usize>(GROUP * ((K + 3) & ~3)) * F32;
      const first = w + <usize>panels_size(N, K) * F32;
      for (let i = 0; i < groups; i++) {
        const g = backwards ? groups - 1 - i : i;
        row_dot(c + <usize>(g * GROUP) * F32, a, first + <usize>g * size, K, min(N - g * GROUP, GROUP));
      }
      return;
    }
    const cm = <usize>ldc * F32, am = <usize>lda * F32;
    const panels = (N + PANEL - 1) / PANEL;
    for (let i = 0; i < panels; i++) {
      const n = (backwards ? panels - 1 - i : i) * PANEL;
      const panel = w + <usize>(n * K) * F32;
      const cn = c + <usize>n * F32;
      const width = min(N - n, PANEL);
      // Half a panel (16 KB of cache lines at K = 256) stays in L1 while every pair of rows takes its share.
      const pairs = M & ~1;
      for (let half = 0; half < width; half += TILE) {
        const ch = cn + <usize>half * F32;
        for (let m = 0; m < pairs; m += 2) {
          const am0 = a + <usize>m * am;
          tile2(ch + <usize>m * cm, ch + <usize>(m + 1) * cm, am0, am0 + am, F32, panel + <usize>half * F32, PANEL * F32, K, width - half);
        }
      }
      if (pairs < M) row_panel(cn + <usize>pairs * cm, a + <usize>pairs * am, panel, K, width);
    }
    return;
  }
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
}

// ---- products over weights as PyTorch lays them out: the head, and the backward pass ---------------------

/** C[M, N] += A[M, K] · B[N, K]ᵀ: dot products along contiguous K (the head's x · Wᵀ, a few outputs). */
export function gemm_nt(
  c: usize, ldc: i32, // [M, N]
  a: usize, lda: i32, // [M, K]
  b: usize, ldb: i32, // [N, K]
  M: i32, N: i32, K: i32,
): void {
  for (let m = 0; m < M; m++) {
    const aRow = a + <usize>(m * lda) * F32;
    const cRow = c + <usize>(m * ldc) * F32;
    for (let n = 0; n < N; n++) {
      const bRow = b + <usize>(n * ldb) * F32;
      let d: f32 = 0;
      let k = 0;
      if (ASC_FEATURE_SIMD) {
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

/**
 * Steps of K per pass of gemm_nn: the 256 rows of a 16-column panel of B that one pass reads (16 KB of cache
 * lines, half of L1) stay there while every pair of C rows takes its share; C is read and written once per
 * pass. A whole panel of an LSTM's W_hh (1024 rows, 64 KB) would not. gemm_tn reads a line of A beside each
 * line of B, so it takes half as many rows per pass.
 */
// @ts-ignore: decorator
@inline const K_BLOCK = 256;

/** C[M, N] += A[M, K] · B[K, N]: each C row gathers rows of B scaled by one A row (gradients into inputs). */
export function gemm_nn(
  c: usize, ldc: i32, // [M, N]
  a: usize, lda: i32, // [M, K]
  b: usize, ldb: i32, // [K, N]
  M: i32, N: i32, K: i32,
): void {
  if (ASC_FEATURE_SIMD) {
    const bk = <usize>ldb * F32;
    for (let k = 0; k < K; k += K_BLOCK) {
      gemm_tiles(c, ldc, a + <usize>k * F32, <usize>lda * F32, F32, b + <usize>k * bk, bk, M, N, min(K_BLOCK, K - k));
    }
    return;
  }
  for (let m = 0; m < M; m++) {
    const cRow = c + <usize>(m * ldc) * F32;
    for (let k = 0; k < K; k++) axpy(cRow, b + <usize>(k * ldb) * F32, load<f32>(a + <usize>(m * lda + k) * F32), N);
  }
}

/**
 * gemm_tn's block of A, transposed: up to 64 columns of A by 128 of its rows, each column contiguous. A's rows
 * are a whole gate block apart (1–4 KB, a power of two), so walking down a column directly touches a new page
 * at every step and keeps hitting the same few cache sets; the copy is read by every tile of C instead.
 */
// @ts-ignore: decorator
@inline const M_BLOCK = 64;
const A_BLOCK: usize = memory.data(M_BLOCK * (K_BLOCK / 2) * F32, 16);

/** dst[c, r] = src[r, c] for a [rows, cols] block of src, four by four (SIMD builds only). */
// @ts-ignore: decorator
@inline function transpose(dst: usize, ldd: i32, src: usize, lds: i32, rows: i32, cols: i32): void {
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const s0 = src + <usize>(r * lds) * F32, s1 = s0 + <usize>lds * F32, s2 = s1 + <usize>lds * F32, s3 = s2 + <usize>lds * F32;
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const off = <usize>c * F32;
      const r0 = v128.load(s0 + off), r1 = v128.load(s1 + off), r2 = v128.load(s2 + off), r3 = v128.load(s3 + off);
      const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
      const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
      const d = dst + <usize>(c * ldd + r) * F32, step = <usize>ldd * F32;
      v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
      v128.store(d + step, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
      v128.store(d + 2 * step, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
      v128.store(d + 3 * step, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
    }
    for (; c < cols; c++) {
      for (let i = 0; i < 4; i++) store<f32>(dst + <usize>(c * ldd + r + i) * F32, load<f32>(src + <usize>((r + i) * lds + c) * F32));
    }
  }
  for (; r < rows; r++) {
    for (let c = 0; c < cols; c++) store<f32>(dst + <usize>(c * ldd + r) * F32, load<f32>(src + <usize>(r * lds + c) * F32));
  }
}

/** C[M, N] += A[K, M]ᵀ · B[K, N]: sums of outer products over K (weight gradients over all steps). */
export function gemm_tn(
  c: usize, ldc: i32, // [M, N]
  a: usize, lda: i32, // [K, M]
  b: usize, ldb: i32, // [K, N]
  M: i32, N: i32, K: i32,
): void {
  if (ASC_FEATURE_SIMD) {
    const bk = <usize>ldb * F32;
    for (let k0 = 0; k0 < K; k0 += K_BLOCK / 2) {
      const kc = min(K_BLOCK / 2, K - k0);
      for (let m0 = 0; m0 < M; m0 += M_BLOCK) {
        const mc = min(M_BLOCK, M - m0);
        transpose(A_BLOCK, kc, a + <usize>(k0 * lda + m0) * F32, lda, kc, mc);
        gemm_tiles(c + <usize>(m0 * ldc) * F32, ldc, A_BLOCK, <usize>kc * F32, F32, b + <usize>k0 * bk, bk, mc, N, kc);
      }
    }
    return;
  }
  for (let k = 0; k < K; k++) {
    const aRow = a + <usize>(k * lda) * F32;
    const bRow = b + <usize>(k * ldb) * F32;
    for (let m = 0; m < M; m++) axpy(c + <usize>(m * ldc) * F32, bRow, load<f32>(aRow + <usize>m * F32), N);
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
@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}
