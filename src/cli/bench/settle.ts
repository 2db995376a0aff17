/**
 * Waiting, before each contender's slice, until the cores are as quiet as they were when the run began. Some
 * contenders leave threads spinning after a call returns: onnxruntime-web's pool burns some 60 ms of a core,
 * PyTorch's OpenMP and OpenBLAS threads 100 ms or more of both (measured here). That time would fall on the
 * slice that comes next, and since the rounds keep one order it would fall on the same contender every time.
 * (Alternating 125 ms slices with onnxruntime-web on two threads, the 2-thread model ran W3 at 5.8–7.2 ms, against
 * 2.3–3.1 alternating with the one-thread model.) "As quiet as when the run began" keeps a deliberate load (the
 * contention run's spinning process) out of the comparison. Node only: a browser does not say how busy its cores are.
 */
import { cpus } from 'node:os';
import { stats } from './harness.js';

/** Milliseconds of each look at the cores: the kernel counts their time in ticks of 10 ms. */
const WINDOW_MS = 40;
/** Cores' worth of work above the starting level that still counts as quiet: less than one spinning thread. */
const SLACK = 0.5;
/** Longest wait before a slice: a machine busy for other reasons must not stall the run. */
const MAX_WAIT_MS = 1000;

export interface Clock {
  /** Milliseconds the cores have been busy since boot, all cores together. */
  busy(): number;
  now(): number;
  sleep(ms: number): Promise<void>;
}

const system: Clock = {
  busy: () => cpus().reduce((sum, { times: t }) => sum + t.user + t.nice + t.sys + t.irq, 0),
  now: () => performance.now(),
  sleep: (ms) => new Promise((done) => setTimeout(done, ms)),
};

/** Cores kept busy (on average) over one window. */
async function load(clock: Clock): Promise<number> {
  const [busy, start] = [clock.busy(), clock.now()];
  await clock.sleep(WINDOW_MS);
  return (clock.busy() - busy) / Math.max(1, clock.now() - start);
}

/**
 * Measures the cores' load now (the median of five windows) and returns the wait for it: resolves after the
 * first window no busier than that, or after MAX_WAIT_MS.
 */
export async function quietCores(clock: Clock = system): Promise<() => Promise<void>> {
  const looks: number[] = [];
  for (let i = 0; i < 5; i++) looks.push(await load(clock));
  const usual = stats(looks).median;
  return async () => {
    const until = clock.now() + MAX_WAIT_MS;
    while ((await load(clock)) > usual + SLACK && clock.now() < until);
  };
}
