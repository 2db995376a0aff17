// A team of threads over one shared memory, in the threads builds (elsewhere the team is one thread, every
// function here folds to a constant, and a kernel runs whole where it is called). Every thread of a team calls
// the same kernel with the same arguments (src/backends/threads.ts starts them); inside, each takes its share
// of a phase's rows or columns (share_start) and the team meets at a barrier where one phase reads what another
// wrote. A share never changes the order of a sum: products are split between whole tiles and batch columns
// are independent, so a result is the same bit for bit on any number of threads.
//
// The team's block: int32 slots in the shared memory that TypeScript writes too (the call, the team size, a
// failure) and wasm keeps the barrier in. The slots' numbers are repeated in src/backends/threads.ts, and
// test/threads.test.ts checks that the two agree.

// @ts-ignore: decorator
@inline const SIZE = 3; // threads in this call (written by thread 0 before it starts the others)
// @ts-ignore: decorator
@inline const SLEEPERS = 7; // threads asleep at the barrier: an arriving thread wakes them only if there are any
// @ts-ignore: decorator
@inline const FAILED = 8; // set when a thread stopped with an error: nobody waits for it
// @ts-ignore: decorator
@inline const SPIN = 10; // loads of another thread's arrivals before a waiting thread sleeps
// @ts-ignore: decorator
@inline const ARRIVALS = 128; // thread k's barriers passed in this call, at ARRIVALS + k · LINE (zeroed per call)
// @ts-ignore: decorator
@inline const LINE = 16; // int32 slots per cache line: each thread's arrivals have a line of their own
// @ts-ignore: decorator
@inline const FLAG = 1; // after the arrivals on thread k's line: the flag its share of a call answers (team_flag)
// @ts-ignore: decorator
@inline const START = 2; // on thread k's line: where its shares start, in 65536ths of the items (thread 0 writes it)
// @ts-ignore: decorator
@inline const TOOK = 4; // on thread k's line: the items of its last share, and (TOOK + 1) of how many

/** This instance's place in its team, and the team's block (0: no team). Globals are per instance. */
let INDEX: i32 = 0;
let POOL: usize = 0;

/** Makes this instance thread `index` of the team whose block is at `pool` (threads.ts's team_join). */
export function set_team(index: i32, pool: usize): void {
  INDEX = index;
  POOL = pool;
}

/** Threads in the current call: 1 outside a team. */
// @ts-ignore: decorator
@inline export function team_size(): i32 {
  if (!ASC_FEATURE_THREADS) return 1;
  return POOL ? load<i32>(POOL + SIZE * 4) : 1;
}

/** This thread's index in the team: 0 for the caller's thread. */
// @ts-ignore: decorator
@inline export function team_index(): i32 {
  return ASC_FEATURE_THREADS ? INDEX : 0;
}

/**
 * Where thread k's share of `count` items starts, in whole granules (k = the team size gives count). The
 * threads' parts of the items are thread 0's to set for each call (START, from how fast each thread has lately
 * run: src/backends/threads.ts), and every thread gets at least one granule. When the items do not give every
 * thread one, or the last thread's share would be less than `granule` items, thread 0 takes them all: a product
 * of one row takes another path than two rows do, so no share may be a lone row where the whole would not have
 * been. Any split on whole granules gives the same bits.
 */
export function share_start(count: i32, granule: i32, k: i32): i32 {
  const n = team_size();
  if (k <= 0) return 0;
  if (k >= n) return count;
  const units = (count + granule - 1) / granule;
  if (units < n) return count;
  const last = unit_start(units, n - 1, n);
  // The last thread's share is one granule cut short: it takes the granule before it too, if it can.
  const short = last == units - 1 && count % granule != 0;
  if (short && last == n - 1) return count;
  return min(count, (short ? min(unit_start(units, k, n), units - 2) : unit_start(units, k, n)) * granule);
}

/** The granule where thread k (0 < k < n) starts among `units`, leaving every thread at least one. */
function unit_start(units: i32, k: i32, n: i32): i32 {
  const start = load<i32>(POOL + <usize>(ARRIVALS + k * LINE + START) * 4);
  const at = <i32>((<i64>units * start + 32768) >> 16);
  return min(max(at, k), units - n + k);
}

/** This thread's share of `count` items: [lo, hi) packed as lo | hi << 32. */
// @ts-ignore: decorator
@inline export function share(count: i32, granule: i32): i64 {
  const k = team_index();
  const start = share_start(count, granule, k), end = share_start(count, granule, k + 1);
  if (ASC_FEATURE_THREADS && POOL) {
    // For the part of the next call: a share is whole granules, so its fraction of the items is not the part.
    const line = POOL + <usize>(ARRIVALS + k * LINE + TOOK) * 4;
    store<i32>(line, end - start);
    store<i32>(line, count, 4);
  }
  return <i64>start | (<i64>end << 32);
}

/** The start of a share. */
// @ts-ignore: decorator
@inline export function lo(range: i64): i32 {
  return <i32>range;
}

/** The end of a share. */
// @ts-ignore: decorator
@inline export function hi(range: i64): i32 {
  return <i32>(range >>> 32);
}

/** All `count` items to every thread: a dimension the team does not split. */
// @ts-ignore: decorator
@inline export function whole(count: i32): i64 {
  return <i64>count << 32;
}

/** Whether the team splits `count` items of `granule` at all. */
// @ts-ignore: decorator
@inline export function splits(count: i32, granule: i32): bool {
  return team_size() > 1 && share_start(count, granule, 1) < count;
}

/** All `count` items to thread 0: a phase that does not split (a ragged batch's backward steps, or too few items). */
// @ts-ignore: decorator
@inline export function solo(count: i32): i64 {
  return team_index() == 0 ? <i64>count << 32 : <i64>count | (<i64>count << 32);
}

/**
 * Waits until every thread of the call has arrived. Each thread counts its arrivals on a cache line that only
 * it writes and reads the others', so no line is fought over however many threads there are (on two it
 * measured the same as one shared counter). A thread spins first (a step of a recurrence is a few
 * microseconds, and waking a sleeping thread costs about ten), then sleeps.
 */
export function barrier(): void {
  if (!ASC_FEATURE_THREADS) return;
  const n = team_size();
  if (n <= 1) return;
  const pass = arrive();
  for (let k = 0; k < n; k++) await_arrival(k, pass);
}

/** This thread's arrivals so far in this call: its barriers passed, and its steps published by `arrive`. */
export function arrivals(): i32 {
  if (!ASC_FEATURE_THREADS || !POOL) return 0;
  return load<i32>(POOL + <usize>(ARRIVALS + INDEX * LINE) * 4); // only this thread writes its line
}

/**
 * Half of a barrier: says that this thread has written what its next arrival stands for, without waiting
 * for the others (who wait for it with await_arrival). Returns its arrivals now.
 */
export function arrive(): i32 {
  if (!ASC_FEATURE_THREADS) return 0;
  const pass = arrivals() + 1;
  atomic.store<i32>(POOL + <usize>(ARRIVALS + INDEX * LINE) * 4, pass);
  if (atomic.load<i32>(POOL + SLEEPERS * 4)) atomic.notify(POOL + <usize>(ARRIVALS + INDEX * LINE) * 4, team_size());
  return pass;
}

/** The other half: waits until thread k has arrived `pass` times, or a thread failed. */
export function await_arrival(k: i32, pass: i32): void {
  if (!ASC_FEATURE_THREADS) return;
  const theirs = POOL + <usize>(ARRIVALS + k * LINE) * 4;
  const spin = load<i32>(POOL + SPIN * 4);
  let spins = 0;
  for (let seen = atomic.load<i32>(theirs); seen < pass; seen = atomic.load<i32>(theirs)) {
    if (atomic.load<i32>(POOL + FAILED * 4)) return;
    if (++spins < spin) continue;
    // Counted before the last look (wait32 compares with `seen`), so an arrival after it sees a sleeper to wake.
    // A bounded sleep: a thread that failed sets FAILED without arriving.
    atomic.add<i32>(POOL + SLEEPERS * 4, 1);
    memory.atomic.wait32(theirs, seen, 1_000_000);
    atomic.sub<i32>(POOL + SLEEPERS * 4, 1);
    spins = 0;
  }
}

/**
 * The flag of a whole call from each thread's `flag` for its share (1 when its share met a non-finite value):
 * every thread leaves its own on its line, and after a barrier thread 0, whose answer is the call's, ORs them.
 */
export function team_flag(flag: i32): i32 {
  if (!ASC_FEATURE_THREADS) return flag;
  const n = team_size();
  if (n <= 1) return flag;
  store<i32>(POOL + <usize>(ARRIVALS + INDEX * LINE + FLAG) * 4, flag);
  barrier();
  if (INDEX != 0) return flag;
  let any = 0;
  for (let k = 0; k < n; k++) any |= load<i32>(POOL + <usize>(ARRIVALS + k * LINE + FLAG) * 4);
  return any;
}

/** Where `touch` leaves what it read, so that no optimizer drops its loads. */
let TOUCHED: f32 = 0;

/**
 * Loads one float of every cache line of `rows` rows of `floats` floats (`ld` apart) at `p`, all at once: after
 * a barrier the other threads' part of a state is in their caches, and a product that meets those lines one by
 * one, as it walks the state, waits for each in turn (on a host whose cores are far apart, 0.5–1 µs a line).
 * Changes no value.
 */
export function touch(p: usize, rows: i32, ld: i32, floats: i32): void {
  if (!ASC_FEATURE_THREADS) return;
  let sum: f32 = 0;
  for (let r = 0; r < rows; r++) {
    const row = p + <usize>(r * ld) * 4;
    for (let i = 0; i < floats; i += 16) sum += load<f32>(row + <usize>i * 4);
  }
  TOUCHED = sum;
}
