// How an instance joins a team (parallel.ts): its index, the team's block, and scratch of its own in place of
// the module's static scratch, which every instance over the shared memory would otherwise write at once.
import { GEMM_SCRATCH, use_gemm_scratch } from './gemm';
import { PACKED_SCRATCH, STAGED_SCRATCH, use_packed_scratch, use_staged_scratch } from './packed';
import { set_team } from './parallel';

/**
 * Scratch bytes a thread of a team needs of its own: the tiles' partial sums, a block of A, an edge panel, and
 * the staged product's accumulators.
 */
export function scratch_size(): i32 {
  return GEMM_SCRATCH + PACKED_SCRATCH + STAGED_SCRATCH;
}

/** Makes this instance thread `index` of the team whose block is at `pool`, with scratch_size() bytes at `scratch` (16-aligned). */
export function team_join(index: i32, pool: usize, scratch: usize): void {
  set_team(index, pool);
  use_gemm_scratch(scratch);
  use_packed_scratch(scratch + GEMM_SCRATCH);
  use_staged_scratch(scratch + GEMM_SCRATCH + PACKED_SCRATCH);
}
