/**
 * A team of threads for a threads build (assembly/parallel.ts): the caller's thread is thread 0, and each other
 * thread is a worker holding its own instance of the same module over the model's one shared memory. A team
 * kernel (a recurrence, the head, an optimizer's update) runs on every thread of the team with the same
 * arguments, each thread doing its share; every other kernel runs on thread 0 alone. The workers wait in a loop
 * on the team's block (POOL_BYTES of int32 slots in the shared memory), so a call costs no message: thread 0
 * writes the kernel and its arguments there, moves CALL on, does its own share and waits until each worker has
 * counted itself DONE. Whether a call runs on the team at all is team-choice.ts's to say, and how much of it
 * each thread takes, team-shares.ts's.
 *
 * A worker spins for a couple of milliseconds after each call, since the kernels of a training step come one
 * after another, then sleeps in `Atomics.wait`. Thread 0 waits the same way; it may block in Node and in a
 * browser's worker, never on a page's main thread, which is why select.ts keeps a threaded model off it.
 */
import type { Kernels } from '../backend.js';
import { ThreadError } from '../errors.js';
import { MAX_THREADS } from '../options.js';
import { startThread, type Thread } from './platform.js';
import { TeamChoice } from './team-choice.js';
import { TeamShares } from './team-shares.js';

type Kernel = (...args: number[]) => number | undefined;

// The block's slots, as assembly/parallel.ts numbers them (it reads SIZE, SPIN and FAILED, and keeps the barrier).
const CALL = 0; // moved on by thread 0 to start a call; -1 in KERNEL stops the workers
const DONE = 1; // workers finished with the call
const KERNEL = 2; // index into TEAM_KERNELS
const SIZE = 3; // threads in the call: 1 while thread 0 runs a kernel alone
const ARGC = 4;
const SLEEPERS = 7;
const FAILED = 8;
const SPIN = 10;
const ARGS = 16; // the arguments as float64 (an update's are not all integers), up to the arrivals
const ARRIVALS = 128; // each thread's barriers passed, a cache line (LINE slots) apiece
const LINE = 16;
// On thread k's line, after its arrivals and its flag:
const START = 2; // where its shares of the call's items start, in 65536ths (team-shares.ts)
const BUSY = 3; // a worker's own time in its last call, µs
const TOOK = 4; // the items of its last share in the call, and (TOOK + 1) of how many
const MAX_ARGS = (ARRIVALS - ARGS) / 2;
/** Bytes of the block: the slots, the arguments and the arrivals. */
export const POOL_BYTES = (ARRIVALS + MAX_THREADS * LINE) * 4;

/** Loads of another thread's arrivals that a thread spins through at a barrier before it sleeps: 20–50 µs here. */
const BARRIER_SPIN = 20_000;

/** Loads of DONE thread 0 spins through at the end of a call before it sleeps: the workers end close together. */
const JOIN_SPIN = 20_000;

/**
 * Multiply-adds below which a kernel runs on thread 0 alone: waking a worker and meeting it again costs some
 * 10–30 µs, which a call of this size (about 0.1 ms on one thread) does not win back.
 */
const SMALL_CALL = 2e6;

/** Call shapes whose choice a team remembers. */
const MAX_SHAPES = 256;

/** What each worker runs: a plain script, so that it needs no file of its own beside the bundle. */
const WORKER_SOURCE = `
const SLOTS = { CALL: ${CALL}, DONE: ${DONE}, KERNEL: ${KERNEL}, ARGC: ${ARGC}, FAILED: ${FAILED} };
const LINE = ${LINE}, ARRIVALS = ${ARRIVALS}, BUSY = ${BUSY};
// After a call a worker spins for IDLE_MS before it sleeps: the kernels of a step come one after another, and
// a sleeping core of a virtual machine can take milliseconds to wake.
const IDLE_MS = 2;
function serve({ module, memory, pool, scratch, index, names, poolInts }, ready) {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const k = instance.exports;
  k.team_join(index, pool, scratch);
  const ctl = new Int32Array(memory.buffer, pool, poolInts);
  const args = new Float64Array(memory.buffer, pool + ${ARGS * 4}, ${MAX_ARGS});
  const kernels = names.map((name) => k[name]);
  let seen = Atomics.load(ctl, SLOTS.CALL);
  ready();
  for (;;) {
    const until = performance.now() + IDLE_MS;
    for (let spins = 0; Atomics.load(ctl, SLOTS.CALL) === seen; spins++) {
      if ((spins & 255) === 0 && performance.now() > until) Atomics.wait(ctl, SLOTS.CALL, seen);
    }
    seen = Atomics.load(ctl, SLOTS.CALL);
    const kernel = ctl[SLOTS.KERNEL];
    if (kernel < 0) return;
    try {
      const start = performance.now();
      kernels[kernel](...args.subarray(0, ctl[SLOTS.ARGC]));
      ctl[ARRIVALS + index * LINE + BUSY] = Math.round((performance.now() - start) * 1000);
    } catch (error) {
      Atomics.store(ctl, SLOTS.FAILED, 1);
    }
    Atomics.add(ctl, SLOTS.DONE, 1);
    Atomics.notify(ctl, SLOTS.DONE);
  }
}
`;

/** Multiply-adds of a recurrence whose T (then B, I, H) is its argument `at`: G·H rows by I + H, for T·B rows, per pass. */
const recurrence =
  (at: number, gates: number, passes: number) =>
  (a: ArrayLike<number>): number =>
    a[at] * a[at + 1] * a[at + 3] * (a[at + 2] + a[at + 3]) * gates * passes;

/** An update of the elements counted by argument `at`, each costing the time of `cost` multiply-adds of a product. */
const update =
  (at: number, cost: number) =>
  (a: ArrayLike<number>): number =>
    a[at] * cost;

/**
 * Multiply-adds of the head's [N, I] by [O, I] product (N, I and O its arguments from `at` on) in `passes`, plus
 * `cost` for each element of x, which the head reads from beyond L2 however few its outputs.
 */
const head =
  (at: number, passes: number, cost: number) =>
  (a: ArrayLike<number>): number =>
    a[at] * a[at + 1] * (passes * a[at + 2] + cost);

/**
 * The size of a team kernel's call as a function of its arguments, in multiply-adds. An update's cost per element
 * is its time over a product's per multiply-add (measured here: SGD 1.5 ns an element, 2.7 with momentum; Adam
 * 7.3, whose float64 square root and division dominate; RMSprop 5; Adagrad 4.7; the head with one output 0.7
 * ns an element of x forward and 1.3 backward; a product 0.067 ns a multiply-add). Packing a weight takes 2 ns
 * an element and counts as 2.7: it comes right after the update, while the workers are still awake, so that an
 * H = 256 W_hh (0.13 ms) runs together. Made per kernel, so that a small call (a `cell` step takes about 5 µs)
 * pays a few multiplications before it runs alone, and no lookups by name.
 */
const CALL_SIZE = {
  rnn_forward: recurrence(8, 1, 1),
  rnn_backward: recurrence(14, 1, 2),
  lstm_forward: recurrence(11, 4, 1),
  lstm_backward: recurrence(18, 4, 2),
  gru_forward: recurrence(11, 3, 1),
  gru_backward: recurrence(17, 3, 2),
  linear_forward: head(4, 1, 10),
  linear_backward: head(6, 2, 18),
  pack_weights: (a) => a[2] * a[3] * 40,
  sgd_update: update(3, 30),
  adam_update: update(5, 110),
  rmsprop_update: update(5, 75),
  adagrad_update: update(3, 70),
} satisfies Partial<Record<keyof Kernels, (args: ArrayLike<number>) => number>>;

type TeamKernel = keyof typeof CALL_SIZE;

/**
 * The kernels that a team runs together, numbered by their place here: the recurrences, the head, the packing
 * of the weights after each step, and the optimizers' updates (together, a training step's longest stretch
 * outside the recurrences). The others are short, or read the whole of what they write.
 */
const TEAM_KERNELS = Object.keys(CALL_SIZE) as TeamKernel[];

/**
 * For the tests, which must know that a team computed what they compare: `always` makes every call that
 * splits run together, `parts` (each thread's fraction, summing to 1) replaces the measured split, `together`
 * counts the calls that ran together, and `workers` the workers running.
 */
export const teamCalls = { always: false, parts: null as readonly number[] | null, together: 0, workers: 0 };

export class Team {
  readonly size: number;
  private readonly ctl: Int32Array;
  /** The call's arguments, in the block from ARGS on. */
  private readonly args: Float64Array;
  private readonly threads: Thread[];
  private readonly shapes = new Map<number, TeamChoice>();
  private readonly shares: TeamShares;
  private stopped = false;

  private constructor(size: number, ctl: Int32Array, threads: Thread[]) {
    this.size = size;
    this.ctl = ctl;
    this.args = new Float64Array(ctl.buffer, ctl.byteOffset + ARGS * 4, MAX_ARGS);
    this.threads = threads;
    this.shares = new TeamShares(size);
  }

  /**
   * Starts `size - 1` workers over `memory`, each joining the team whose block is at `pool` with
   * `scratchBytes` of scratch of its own at `scratch` + index · scratchBytes (thread 0 has the first);
   * resolves once every worker is waiting for calls.
   */
  static async start(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    size: number,
    pool: number,
    scratch: number,
    scratchBytes: number,
  ): Promise<Team> {
    const ctl = new Int32Array(memory.buffer, pool, POOL_BYTES / 4);
    ctl.fill(0);
    ctl[SIZE] = 1;
    ctl[SPIN] = BARRIER_SPIN;
    const threads: Thread[] = [];
    try {
      for (let index = 1; index < size; index++) {
        const data = {
          module,
          memory,
          pool,
          scratch: scratch + index * scratchBytes,
          index,
          names: [...TEAM_KERNELS],
          poolInts: POOL_BYTES / 4,
        };
        const thread = await startThread(WORKER_SOURCE, data);
        teamCalls.workers++;
        thread.ended.then(() => teamCalls.workers--);
        threads.push(thread);
      }
    } catch (error) {
      for (const thread of threads) thread.stop();
      throw new ThreadError(`could not start the threads of a ${size}-thread model: ${(error as Error).message}`);
    }
    return new Team(size, ctl, threads);
  }

  /** The kernels with the team's in place of the instance's own. */
  wrap(kernels: Kernels): Kernels {
    const wrapped = { ...kernels };
    TEAM_KERNELS.forEach((name, index) => {
      const alone = kernels[name] as Kernel;
      const sizeOf = CALL_SIZE[name];
      (wrapped as Record<string, unknown>)[name] = (...args: number[]) => {
        const size = sizeOf(args);
        if (size < SMALL_CALL) return alone(...args);
        return this.run(size * TEAM_KERNELS.length + index, index, alone, args);
      };
    });
    return wrapped;
  }

  /** Ends the workers; the team cannot be used afterwards. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.ctl[KERNEL] = -1;
    Atomics.add(this.ctl, CALL, 1);
    Atomics.notify(this.ctl, CALL);
    for (const thread of this.threads) thread.stop();
  }

  /** A call of the shape `key`, alone or together, whichever has been faster lately. */
  private run(key: number, index: number, alone: Kernel, args: number[]): number | undefined {
    let shape = this.shapes.get(key);
    if (!shape) {
      // Training on sequences of many lengths makes many shapes: the oldest choices go, not the memory.
      if (this.shapes.size >= MAX_SHAPES) this.shapes.delete(this.shapes.keys().next().value as number);
      shape = new TeamChoice();
      this.shapes.set(key, shape);
    }
    const together = teamCalls.always || shape.next();
    const start = performance.now();
    const result = together ? this.together(index, alone, args) : alone(...args);
    shape.took(together, performance.now() - start);
    return result;
  }

  /**
   * A call on every thread, each taking its part (TeamShares). Thread 0's result is the call's: a kernel's
   * threads agree on it (team_flag in assembly/parallel.ts).
   */
  private together(index: number, alone: Kernel, args: number[]): number | undefined {
    const ctl = this.ctl;
    if (this.stopped) throw new ThreadError('the threads of this model were stopped');
    teamCalls.together++;
    ctl[KERNEL] = index;
    ctl[ARGC] = args.length;
    this.args.set(args);
    // Every thread is idle here, so the barrier starts afresh even if a failed call left it half passed.
    ctl[DONE] = 0;
    ctl[FAILED] = 0;
    ctl.fill(0, ARRIVALS, ARRIVALS + this.size * LINE);
    const forced = teamCalls.parts;
    for (let k = 1, before = 0; k < this.size; k++) {
      before += forced?.[k - 1] ?? 0;
      ctl[ARRIVALS + k * LINE + START] = forced ? Math.round(before * 65536) : this.shares.start(k);
    }
    ctl[SLEEPERS] = 0;
    ctl[SIZE] = this.size;
    Atomics.add(ctl, CALL, 1);
    Atomics.notify(ctl, CALL);
    let failure: unknown;
    let result: number | undefined;
    const start = performance.now();
    let ownMs = 0;
    try {
      result = alone(...args);
      ownMs = performance.now() - start;
    } catch (error) {
      // The workers must not wait at a barrier for this thread: FAILED lets them through.
      failure = error;
      Atomics.store(ctl, FAILED, 1);
    }
    const workers = this.size - 1;
    let done = Atomics.load(ctl, DONE);
    for (let spins = 0; done < workers; done = Atomics.load(ctl, DONE)) {
      if (++spins > JOIN_SPIN) Atomics.wait(ctl, DONE, done, 10);
    }
    ctl[SIZE] = 1;
    if (failure !== undefined) throw failure;
    if (ctl[FAILED]) throw new ThreadError('a thread of this model failed inside a kernel; its results are not to be trusted');
    // Where no thread waited at a barrier (thread 0 passed none), each thread's own time says how fast it ran.
    if (ctl[ARRIVALS] === 0) {
      const own = [ownMs];
      const held = [];
      for (let k = 0; k < this.size; k++) {
        const line = ARRIVALS + k * LINE;
        if (k > 0) own.push(ctl[line + BUSY] / 1000);
        held.push(ctl[line + TOOK + 1] > 0 ? ctl[line + TOOK] / ctl[line + TOOK + 1] : Number.NaN);
      }
      this.shares.took(own, held);
    }
    return result;
  }
}
