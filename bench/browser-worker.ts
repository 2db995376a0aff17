/**
 * `npm run bench -- --browser`, inside Chromium: a dedicated worker of a cross-origin-isolated page (threads need
 * SharedArrayBuffer, and a model's thread 0 must be allowed to block in Atomics.wait, which a page's own thread is
 * not). bench/browser.ts bundles this file with the harness of the Node run (src/cli/bench/harness.ts: checked
 * results, interleaved rounds, tinybench medians) and serves it beside the browser entry, which it imports as
 * './browser.js'. It answers one request (browser-protocol.ts) with progress lines and the outcomes.
 */
import { type Contender, type Outcome, measure, ours } from '../src/cli/bench/harness.js';
import { WORKLOADS, type Workload, workloadData } from '../src/cli/bench/workloads.js';
import { type BenchRequest, type BenchResponse, CONTENDERS, type WorkerMessage } from './browser-protocol.js';

const post = (message: WorkerMessage) => postMessage(message);

// The workers the library starts for its teams, counted, so that the report says how many threads each model
// really had (the library starts them through the global Worker when a model is made).
let started = 0;
const NativeWorker = globalThis.Worker;
globalThis.Worker = class CountedWorker extends NativeWorker {
  constructor(...args: ConstructorParameters<typeof Worker>) {
    super(...args);
    started++;
  }
};

/** The smallest step of performance.now() seen over 50 steps. */
function clockResolution(): number {
  let [smallest, last, steps] = [Infinity, performance.now(), 0];
  while (steps < 50) {
    const now = performance.now();
    if (now === last) continue;
    smallest = Math.min(smallest, now - last);
    [last, steps] = [now, steps + 1];
  }
  return smallest;
}

/** A timed sample lasts at least this many ticks of the clock, so that rounding to a tick moves a median by under 0.5%. */
const TICKS_PER_SAMPLE = 200;

/**
 * Calls per sample for `w`: enough that a sample of the SIMD build lasts TICKS_PER_SAMPLE ticks (5 µs a tick in
 * an isolated page of Chromium, where W0 and S1 take 5–30 µs a call). The same for every contender, so that their
 * first results, which the harness compares, come from the same calls. From the fastest of five 10 ms windows
 * after a warm-up (a window that another process slowed would give too few calls).
 */
async function callsPerSample(w: Workload, tick: number): Promise<number> {
  const runner = await ours('SIMD', 'wasm-simd').prepare(w, await workloadData(w));
  if (typeof runner === 'string') return 1;
  try {
    /** The ms per call of a window of `ms` (and three calls at least). */
    const window = (ms: number) => {
      let calls = 0;
      const start = performance.now();
      for (; calls < 3 || performance.now() - start < ms; calls++) runner.run();
      return (performance.now() - start) / calls;
    };
    window(100); // warm-up: V8 tiers the code up
    const fastest = Math.min(...[1, 2, 3, 4, 5].map(() => window(10)));
    return Math.max(1, Math.ceil((TICKS_PER_SAMPLE * tick) / fastest));
  } finally {
    await runner.dispose();
  }
}

/**
 * `contender` with `calls` calls in each of its runner's calls (ours() runs synchronously), noting the threads of
 * the model it makes.
 */
function counted(contender: Contender, calls: number, threads: Record<string, number>): Contender {
  return {
    name: contender.name,
    async prepare(w, d) {
      const before = started;
      const runner = await contender.prepare(w, d);
      if (typeof runner === 'string') return runner;
      threads[contender.name] = 1 + started - before;
      if (calls === 1) return runner;
      return {
        ...runner,
        run() {
          for (let i = 0; i < calls; i++) runner.run();
        },
      };
    },
  };
}

/** A sample of `calls` calls, as the time of one. */
function perCall(outcome: Outcome, calls: number): Outcome {
  return typeof outcome === 'string' ? outcome : { median: outcome.median / calls, spread: outcome.spread / calls, n: outcome.n };
}

async function benchmark({ ids, timeMs }: BenchRequest): Promise<BenchResponse> {
  const tick = clockResolution();
  const response: BenchResponse = {
    userAgent: navigator.userAgent,
    cores: navigator.hardwareConcurrency,
    crossOriginIsolated,
    clockResolutionMs: tick,
    results: [],
    callsPerSample: {},
    threads: {},
  };
  for (const w of WORKLOADS.filter((x) => ids.includes(x.id))) {
    const calls = await callsPerSample(w, tick);
    post({ progress: `${w.id}: ${w.title}${calls > 1 ? ` (${calls} calls per sample)` : ''}…` });
    const threads: Record<string, number> = {};
    const contenders = CONTENDERS.map((c) => counted(ours(c.name, c.backend, { threads: c.threads }), calls, threads));
    const outcomes = await measure(w, contenders, { timeMs });
    response.results.push([w.id, [...outcomes].map(([name, o]) => [name, perCall(o, calls)])]);
    response.callsPerSample[w.id] = calls;
    response.threads[w.id] = threads;
  }
  return response;
}

addEventListener('message', (event: MessageEvent<BenchRequest>) => {
  benchmark(event.data).then(
    (done) => post({ done }),
    (error: Error) => post({ failed: error.stack ?? String(error) }),
  );
});
