// Matrix products over raw pointers, row-major with explicit row strides (ld*, in elements), all accumulating
// into C, over weights as PyTorch lays them out: the head's x·Wᵀ (gemm_nt), gradients into inputs dA·W
// (gemm_nn) and weight gradients dAᵀ·X (gemm_tn). The SIMD paths of gemm_nn, gemm_tn and packed.ts's
// gemm_packed share one tile of C, defined here; each product has the plain loop beside it, which is the
// reference and the scalar build's only path.
import { axpy, hsum, madd } from './vector';

// @ts-ignore: decorator
@inline const F32 = 4;

// ---- the tile --------------------------------------------------------------------------------------------
// C[m, n..n+16) += Σ_k a(m, k) · b(k, n..n+16) for two rows of C at a time: each a(m, k) is broadcast against
// four vectors of b(k, ·), into eight accumulators that stay in registers for the whole k loop; C is read and
// written once per tile. a(m, k) sits at a0 + k·ak and b(k, ·) at b + k·bk: one moving pointer each, and the
// four loads of b at constant offsets from it. A lone row takes two k per pass into four accumulators, each
// adding a pair of products: eight accumulators for one row need more registers than V8 has for them, and it
// then spills accumulators to the stack on every pass (measured: about half the speed). In the relaxed build
// each multiply-add is one FMA (vector.ts's madd), which needs no register for the product: V8's code for
// tile2, tile1, row_panel and row_dot keeps every accumulator in a register there too (node
// --print-wasm-code: no vector moves to the stack inside the loops, only on the stack-check path).

/** Columns per tile: four f32x4 vectors. */
// @ts-ignore: decorator
@inline export const TILE = 16;

/** Two rows of C: c0 and c1 get the first `width` columns of the tile (SIMD builds only). */
// @ts-ignore: decorator
@inline export function tile2(c0: usize, c1: usize, a0: usize, a1: usize, ak: usize, b: usize, bk: usize, K: i32, width: i32): void {
  let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
  const end = b + <usize>K * bk;
  while (b < end) {
    const x0 = v128.load32_splat(a0), x1 = v128.load32_splat(a1);
    const w0 = v128.load(b), w1 = v128.load(b, 16), w2 = v128.load(b, 32), w3 = v128.load(b, 48);
    s0 = madd(x0, w0, s0);
    s1 = madd(x0, w1, s1);
    s2 = madd(x0, w2, s2);
    s3 = madd(x0, w3, s3);
    t0 = madd(x1, w0, t0);
    t1 = madd(x1, w1, t1);
    t2 = madd(x1, w2, t2);
    t3 = madd(x1, w3, t3);
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
    s0 = madd2(x0, v128.load(b), x1, v128.load(b1), s0);
    s1 = madd2(x0, v128.load(b, 16), x1, v128.load(b1, 16), s1);
    s2 = madd2(x0, v128.load(b, 32), x1, v128.load(b1, 32), s2);
    s3 = madd2(x0, v128.load(b, 48), x1, v128.load(b1, 48), s3);
    a0 += 2 * ak;
    b += 2 * bk;
  }
  if (k < K) { // odd K: the last k alone
    const x0 = v128.load32_splat(a0);
    s0 = madd(x0, v128.load(b), s0);
    s1 = madd(x0, v128.load(b, 16), s1);
    s2 = madd(x0, v128.load(b, 32), s2);
    s3 = madd(x0, v128.load(b, 48), s3);
  }
  add_tile(c0, s0, s1, s2, s3, width);
}

/**
 * acc + (x0·w0 + x1·w1): tile1's pair of products. The SIMD build sums the pair before adding it, which
 * shortens the chain through each accumulator; with FMA both products go into the accumulator, one after
 * the other, which needs no register for a product.
 */
// @ts-ignore: decorator
@inline function madd2(x0: v128, w0: v128, x1: v128, w1: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return madd(x1, w1, madd(x0, w0, acc));
  return f32x4.add(acc, f32x4.add(f32x4.mul(x0, w0), f32x4.mul(x1, w1)));
}

/** Scratch for a tile narrower than 16 columns: its accumulators, lane by lane (each thread of a team its own). */
export let PARTIAL: usize = memory.data(TILE * F32, 16);

/** c[0, width) += a tile row's four accumulators; only a packed weight's last panel is narrower than 16. */
// @ts-ignore: decorator
@inline export function add_tile(c: usize, s0: v128, s1: v128, s2: v128, s3: v128, width: i32): void {
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
 * C[M, N] += a(m, k) · B[K, N] over the tiles, for B row-major with row stride `bk` bytes and K ≤ K_BLOCK:
 * a(m, k) at a + m·am + k·ak. Columns past the last whole tile take one vector at a time, then the plain loop.
 * Each tile column of B is copied to B_PANEL first when several pairs of rows read it: B's rows are a whole
 * number of kilobytes apart (an LSTM's W_hh at H = 256: 1 KB), so its K lines fall in a few of L1's 64 sets,
 * which hold 32 of them, and every pair would read them again from L2 (measured: an LSTM's backward pass 1.15×
 * slower, and the relaxed build's FMA worth 1.15× there instead of 1.3×). The copy changes no sum.
 * (SIMD builds only.)
 */
// @ts-ignore: decorator
@inline function gemm_tiles(c: usize, ldc: i32, a: usize, am: usize, ak: usize, b: usize, bk: usize, M: i32, N: i32, K: i32): void {
  const cm = <usize>ldc * F32;
  const copied = M >= 4;
  let n = 0;
  for (; n + TILE <= N; n += TILE) {
    let bn = b + <usize>n * F32;
    let bnk = bk;
    if (copied) {
      copy_panel(B_PANEL, bn, bk, K);
      bn = B_PANEL;
      bnk = TILE * F32;
    }
    const cn = c + <usize>n * F32;
    let m = 0;
    for (; m + 2 <= M; m += 2) {
      const am0 = a + <usize>m * am;
      tile2(cn + <usize>m * cm, cn + <usize>(m + 1) * cm, am0, am0 + am, ak, bn, bnk, K, TILE);
    }
    if (m < M) tile1(cn + <usize>m * cm, a + <usize>m * am, ak, bn, bnk, K, TILE);
  }
  for (; n + 4 <= N; n += 4) {
    for (let m = 0; m < M; m++) {
      let x = a + <usize>m * am, p = b + <usize>n * F32;
      let s = f32x4.splat(0);
      for (let k = 0; k < K; k++) {
        s = madd(v128.load32_splat(x), v128.load(p), s);
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

/** dst[k, 0..16) = a tile column of B: K rows of 16 floats from `b`, `bk` bytes apart (SIMD builds only). */
// @ts-ignore: decorator
@inline function copy_panel(dst: usize, b: usize, bk: usize, K: i32): void {
  for (let k = 0; k < K; k++) {
    v128.store(dst, v128.load(b));
    v128.store(dst, v128.load(b, 16), 16);
    v128.store(dst, v128.load(b, 32), 32);
    v128.store(dst, v128.load(b, 48), 48);
    dst += TILE * F32;
    b += bk;
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
          s = madd(v128.load(aRow + off), v128.load(bRow + off), s);
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
let A_BLOCK: usize = memory.data(M_BLOCK * (K_BLOCK / 2) * F32, 16);

/** gemm_tiles's copy of one tile column of B: K_BLOCK rows of 16 floats. */
let B_PANEL: usize = memory.data(K_BLOCK * TILE * F32, 16);

/** Bytes of a thread's own PARTIAL, A_BLOCK and B_PANEL. */
export const GEMM_SCRATCH: i32 = TILE * F32 + M_BLOCK * (K_BLOCK / 2) * F32 + K_BLOCK * TILE * F32;

/** Points PARTIAL, A_BLOCK and B_PANEL at a thread's own GEMM_SCRATCH bytes. */
export function use_gemm_scratch(scratch: usize): void {
  PARTIAL = scratch;
  A_BLOCK = scratch + TILE * F32;
  B_PANEL = A_BLOCK + M_BLOCK * (K_BLOCK / 2) * F32;
}

/** dst[c, r] = src[r, c] for a [rows, cols] block of src, four by four (SIMD builds only). */
// @ts-ignore: decorator
@inline export function transpose(dst: usize, ldd: i32, src: usize, lds: i32, rows: i32, cols: i32): void {
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
