// The forward pass's products, x·Wᵀ over a packed copy of W: the layout (pack_weights, packed_size) and the
// product that reads it (gemm_packed), with the plain loop beside it, the scalar build's only path.
import { add_tile, PARTIAL, tile2, TILE, transpose } from './gemm';
import { await_arrival, barrier, hi, lo, share, share_start, team_index, team_size, touch } from './parallel';
import { bias_rows, madd } from './vector';

// @ts-ignore: decorator
@inline const F32 = 4;

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
 * [⌈R/8⌉, ⌈K/4⌉, 8, 4]: groups of 8 rows, 4 k of each row side by side, rows and k past the end zero. A team
 * packs its share of the panels and of the groups.
 */
export function pack_weights(dst: usize, w: usize, R: i32, K: i32): void {
  const panels = share(R, PANEL);
  for (let r0 = lo(panels); r0 < hi(panels); r0 += PANEL) {
    pack_panel(dst + <usize>(r0 * K) * F32, w + <usize>(r0 * K) * F32, min(PANEL, R - r0), K);
  }
  if (!ASC_FEATURE_SIMD) return;
  const K4 = (K + 3) & ~3;
  const groups = share(R, GROUP);
  const first = dst + <usize>panels_size(R, K) * F32;
  for (let r0 = lo(groups); r0 < hi(groups); r0 += GROUP) {
    let d = first + <usize>(r0 * K4) * F32;
    for (let k0 = 0; k0 < K4; k0 += 4) {
      for (let r = r0; r < r0 + GROUP; r++, d += 4 * F32) {
        if (r < R && k0 + 4 <= K) {
          v128.store(d, v128.load(w + <usize>(r * K + k0) * F32));
          continue;
        }
        for (let j = 0; j < 4; j++) {
          store<f32>(d + <usize>j * F32, r < R && k0 + j < K ? load<f32>(w + <usize>(r * K + k0 + j) * F32) : 0);
        }
      }
    }
  }
}

/** One panel: panel[k, i] = w[i, k] for the panel's `rows` rows of w, zero for i ≥ rows. */
function pack_panel(panel: usize, w: usize, rows: i32, K: i32): void {
  if (ASC_FEATURE_SIMD) transpose(panel, PANEL, w, K, rows, K);
  else {
    for (let k = 0; k < K; k++) {
      for (let i = 0; i < rows; i++) store<f32>(panel + <usize>(k * PANEL + i) * F32, load<f32>(w + <usize>(i * K + k) * F32));
    }
  }
  if (rows == PANEL) return;
  for (let k = 0; k < K; k++) memory.fill(panel + <usize>(k * PANEL + rows) * F32, 0, <usize>(PANEL - rows) * F32);
}

/**
 * c[0, width) += Σ_k a(k) · w(r, k) for one row a and one group of 8 rows, each row's four k in one vector
 * against a(k..k+4), summed across lanes at the end (SIMD builds only). Per multiply-add it issues the
 * loads and arithmetic of row_panel less its splat; it measured about 3% faster on a GRU step (H = 256).
 */
// @ts-ignore: decorator
@inline function row_dot(c: usize, a: usize, group: usize, K: i32, width: i32): void {
  row_dot_part(c, 0, a, group, 0, K, true, true, width);
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
    s0 = madd(x, v128.load(p), s0);
    s1 = madd(x, v128.load(p, 16), s1);
    s2 = madd(x, v128.load(p, 32), s2);
    s3 = madd(x, v128.load(p, 48), s3);
    // Never taken, but TurboFan does not know that: the test ends a basic block, and TurboFan issues all of a
    // block's loads at its top, so without it the eight loads, eight accumulators and the splat would need
    // more xmm registers than it has, and it spills accumulators on every pass (measured: half the speed).
    if (a >= end) break;
    s4 = madd(x, v128.load(p, 64), s4);
    s5 = madd(x, v128.load(p, 80), s5);
    s6 = madd(x, v128.load(p, 96), s6);
    s7 = madd(x, v128.load(p, 112), s7);
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
  packed_rows(c, ldc, a, lda, w, M, N, K, 0, N, backwards);
}

/**
 * C[M, r1 - r0] += A[M, K] · W[r0:r1, K]ᵀ: rows r0 … r1-1 of a weight packed whole, c holding row r0's column.
 * The GRU with its reset gate before the product multiplies its n rows by r⊙h, and its r and z rows by h.
 */
export function gemm_packed_rows(
  c: usize, ldc: i32, // [M, r1 - r0]
  a: usize, lda: i32, // [M, K]
  w: usize, // packed [R, K]
  M: i32, R: i32, K: i32, r0: i32, r1: i32,
  backwards: bool,
): void {
  packed_rows(c, ldc, a, lda, w, M, R, K, r0, r1, backwards);
}

/**
 * Scratch for the one panel or group in which a row range starts past its first row: the product of its
 * whole width, of which only the range's lanes are added to C (add_edge).
 */
let EDGE: usize = memory.data(PANEL * F32, 16);

/** Bytes of a thread's own EDGE. */
export const PACKED_SCRATCH: i32 = PANEL * F32;

/** Points EDGE at a thread's own PACKED_SCRATCH bytes. */
export function use_packed_scratch(scratch: usize): void {
  EDGE = scratch;
}

/** c[lo, width) += EDGE[lo, width): c is where lane 0 would go, before the range's first column. */
function add_edge(c: usize, lo: i32, width: i32): void {
  for (let i = lo; i < width; i++) {
    const ci = c + <usize>i * F32;
    store<f32>(ci, load<f32>(ci) + load<f32>(EDGE + <usize>i * F32));
  }
}

/**
 * Both products: rows [r0, r1) of a packed [R, K] weight. gemm_packed's r0 = 0 is a constant after inlining,
 * so its first-panel test folds away and it compiles to the plain product over all rows; a range that starts
 * inside a panel (or a group of 8) runs that one panel row by row through EDGE.
 */
// @ts-ignore: decorator
@inline function packed_rows(
  c: usize, ldc: i32,
  a: usize, lda: i32,
  w: usize,
  M: i32, R: i32, K: i32, r0: i32, r1: i32,
  backwards: bool,
): void {
  if (ASC_FEATURE_SIMD) {
    if (M == 1) {
      const size = <usize>(GROUP * ((K + 3) & ~3)) * F32;
      const first = w + <usize>panels_size(R, K) * F32;
      const g0 = r0 / GROUP, groups = (r1 + GROUP - 1) / GROUP - g0;
      for (let i = 0; i < groups; i++) {
        const g = g0 + (backwards ? groups - 1 - i : i);
        const n = g * GROUP;
        const cg = c + <usize>(n - r0) * F32, width = min(r1 - n, GROUP);
        const lo = g == g0 ? r0 % GROUP : 0;
        if (lo) {
          memory.fill(EDGE, 0, GROUP * F32);
          row_dot(EDGE, a, first + <usize>g * size, K, GROUP);
          add_edge(cg, lo, width);
        } else row_dot(cg, a, first + <usize>g * size, K, width);
      }
      return;
    }
    const cm = <usize>ldc * F32, am = <usize>lda * F32;
    const p0 = r0 / PANEL, panels = (r1 + PANEL - 1) / PANEL - p0;
    for (let i = 0; i < panels; i++) {
      const p = p0 + (backwards ? panels - 1 - i : i);
      const n = p * PANEL;
      const panel = w + <usize>(n * K) * F32;
      const cn = c + <usize>(n - r0) * F32;
      const width = min(r1 - n, PANEL);
      const lo = p == p0 ? r0 % PANEL : 0;
      if (lo) {
        for (let m = 0; m < M; m++) {
          memory.fill(EDGE, 0, PANEL * F32);
          row_panel(EDGE, a + <usize>m * am, panel, K, PANEL);
          add_edge(cn + <usize>m * cm, lo, width);
        }
        continue;
      }
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
    for (let n = r0; n < r1; n++) {
      // Row n of W is lane n % 32 of its panel: every 32nd float from there.
      const wRow = w + <usize>((n - n % PANEL) * K + n % PANEL) * F32;
      let d: f32 = 0;
      for (let k = 0; k < K; k++) d += load<f32>(aRow + <usize>k * F32) * load<f32>(wRow + <usize>(k * PANEL) * F32);
      const cn = c + <usize>(m * ldc + n - r0) * F32;
      store<f32>(cn, load<f32>(cn) + d);
    }
  }
}

/**
 * The staged product below keeps each group's eight accumulators between the parts of its sum, 128 bytes a
 * group, in scratch of each thread's own: room for this many rows (blocks × H) of one thread.
 */
// @ts-ignore: decorator
@inline export const STAGED_ROWS = 4096;

/** Bytes of a thread's own STAGE. */
export const STAGED_SCRATCH: i32 = STAGED_ROWS * 4 * F32;

/** Set by team_join: only a team stages its products, and each of its threads has scratch of its own. */
let STAGE: usize = 0;

/** Points STAGE at a thread's own STAGED_SCRATCH bytes. */
export function use_staged_scratch(scratch: usize): void {
  STAGE = scratch;
}

/**
 * Whether a recurrence split by hidden units takes its W_hh product staged (staged_row_product) rather than
 * after a barrier: one column (the one-row product, whose sums can be cut between k and resumed), whole groups
 * of 8 units in every gate block, and room in STAGE for every unit a thread could own. The same on every
 * thread, which must all meet their steps the same way.
 */
export function stages(byUnits: bool, B: i32, H: i32, blocks: i32): bool {
  return ASC_FEATURE_THREADS && ASC_FEATURE_SIMD && byUnits && B == 1 && H % GROUP == 0 && blocks * H <= STAGED_ROWS;
}

/**
 * c[qH + u0, qH + u1) += a · W[qH + u0, qH + u1)ᵀ for the gate blocks q < blocks of a packed [blocks·H, H]
 * weight: this thread's units [u0, u1) of every gate (shares of `granule`, a multiple of 8), for one row
 * a = h[t-1] whose units the threads of the team wrote at step t-1, each its share. A barrier before the product would make every thread wait for the last to
 * finish and then for its lines to cross. Instead the sum over k runs share by share, in order, each share of
 * another thread after that thread has arrived `pass` times (its step t-1 written): thread 0 starts on its
 * own share at once, while the others' cross. Every row's sum takes the operations of row_dot in its order,
 * its eight accumulators kept in STAGE from one share to the next, so the bits are one thread's.
 */
export function staged_row_product(
  c: usize, a: usize, w: usize, blocks: i32, H: i32, u0: i32, u1: i32, granule: i32, pass: i32,
): void {
  if (!ASC_FEATURE_SIMD || u1 <= u0) return;
  const size = <usize>(GROUP * H) * F32; // one group's weights: H is a multiple of 8, so of 4
  const first = w + <usize>panels_size(blocks * H, H) * F32;
  const groups = (u1 - u0) / GROUP;
  const n = team_size(), me = team_index();
  for (let p = 0; p < n; p++) {
    const k0 = share_start(H, granule, p), k1 = share_start(H, granule, p + 1); // thread p's units
    if (k0 >= k1) continue;
    if (p != me) {
      await_arrival(p, pass);
      touch(a + <usize>k0 * F32, 1, 0, k1 - k0);
    }
    for (let q = 0; q < blocks; q++) {
      const g0 = (q * H + u0) / GROUP;
      for (let i = 0; i < groups; i++) {
        const acc = STAGE + <usize>((q * groups + i) * GROUP * 4) * F32;
        const cg = c + <usize>(q * H + u0 + i * GROUP) * F32;
        row_dot_part(cg, acc, a, first + <usize>(g0 + i) * size, k0, k1, k0 == 0, k1 == H, GROUP);
      }
    }
  }
}

/**
 * row_dot over k in [k0, k1) only: from accumulators zero (`start`) or kept at `acc`, and then either kept
 * there again or (`finish`) summed across lanes and added to c[0, width). k0 is a multiple of 4, and so is k1
 * unless it ends the row; the staged product runs one row's sum in several parts, and every other caller in
 * one (row_dot), whose constant flags fold away when it is inlined.
 */
// @ts-ignore: decorator
@inline function row_dot_part(
  c: usize, acc: usize, a: usize, group: usize, k0: i32, k1: i32, start: bool, finish: bool, width: i32,
): void {
  let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
  if (!start) {
    s0 = v128.load(acc); s1 = v128.load(acc, 16); s2 = v128.load(acc, 32); s3 = v128.load(acc, 48);
    s4 = v128.load(acc, 64); s5 = v128.load(acc, 80); s6 = v128.load(acc, 96); s7 = v128.load(acc, 112);
  }
  let x = a + <usize>k0 * F32;
  const end = a + <usize>(k1 & ~3) * F32;
  let p = group + <usize>(k0 * GROUP) * F32;
  while (x < end) {
    const v = v128.load(x);
    s0 = madd(v, v128.load(p), s0);
    s1 = madd(v, v128.load(p, 16), s1);
    s2 = madd(v, v128.load(p, 32), s2);
    s3 = madd(v, v128.load(p, 48), s3);
    // As in row_panel: keeps TurboFan from issuing all eight loads at once and spilling accumulators.
    if (x >= end) break;
    s4 = madd(v, v128.load(p, 64), s4);
    s5 = madd(v, v128.load(p, 80), s5);
    s6 = madd(v, v128.load(p, 96), s6);
    s7 = madd(v, v128.load(p, 112), s7);
    x += 4 * F32;
    p += 4 * GROUP * F32;
  }
  if (!finish) {
    v128.store(acc, s0); v128.store(acc, s1, 16); v128.store(acc, s2, 32); v128.store(acc, s3, 48);
    v128.store(acc, s4, 64); v128.store(acc, s5, 80); v128.store(acc, s6, 96); v128.store(acc, s7, 112);
    return;
  }
  let lo = hsum4(s0, s1, s2, s3), hi = hsum4(s4, s5, s6, s7);
  if (k1 & 3) { // the last k of a K that 4 does not divide, without reading past the row
    let y = f32x4.replace_lane(f32x4.splat(0), 0, load<f32>(x));
    if ((k1 & 3) > 1) y = f32x4.replace_lane(y, 1, load<f32>(x, 4));
    if ((k1 & 3) > 2) y = f32x4.replace_lane(y, 2, load<f32>(x, 8));
    lo = f32x4.add(lo, hsum4(f32x4.mul(y, v128.load(p)), f32x4.mul(y, v128.load(p, 16)), f32x4.mul(y, v128.load(p, 32)), f32x4.mul(y, v128.load(p, 48))));
    hi = f32x4.add(hi, hsum4(f32x4.mul(y, v128.load(p, 64)), f32x4.mul(y, v128.load(p, 80)), f32x4.mul(y, v128.load(p, 96)), f32x4.mul(y, v128.load(p, 112))));
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

/**
 * C[T·B, N] = b1 + b2 + A[T·B, K] · W[N, K]ᵀ (either bias may be 0): a layer's input side for every step at
 * once, which does not depend on the state. A thread that owns some of the batch's `columns` (a share of B)
 * projects their rows of every step alone, since no other thread reads them; otherwise (`columns` the whole
 * batch) each thread takes its share of all the rows and the team meets before any step reads them.
 */
export function project(
  c: usize, ldc: i32, // [T·B, N]
  b1: usize, b2: usize, // [N] or 0
  a: usize, lda: i32, // [T·B, K]
  w: usize, // packed [N, K]
  T: i32, B: i32, N: i32, K: i32,
  columns: i64,
): void {
  const b0 = lo(columns), width = hi(columns) - b0;
  // An even B keeps each pair of rows the pair one thread would have taken (tile2), so no row changes path.
  if (width < B && !(B & 1)) {
    for (let t = 0; t < T; t++) project_rows(c, ldc, b1, b2, a, lda, w, t * B + b0, width, N, K);
    return;
  }
  const rows = share(T * B, 2);
  project_rows(c, ldc, b1, b2, a, lda, w, lo(rows), hi(rows) - lo(rows), N, K);
  barrier();
}

/** Rows [m, m + count) of project's product. */
function project_rows(c: usize, ldc: i32, b1: usize, b2: usize, a: usize, lda: i32, w: usize, m: i32, count: i32, N: i32, K: i32): void {
  if (count <= 0) return;
  const cm = c + <usize>(m * ldc) * F32;
  bias_rows(cm, ldc, b1, b2, count, N);
  gemm_packed(cm, ldc, a + <usize>(m * lda) * F32, lda, w, count, N, K);
}
