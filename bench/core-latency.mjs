// How long a cache line takes to go from one core to the other and back, run by bench/cores.ts in a Node
// process pinned to cpus 0 and 1: two threads over one SharedArrayBuffer take turns moving a counter on, each
// spinning until it sees the other's move, and the median µs of one round trip over argv[2] batches is printed.
// A step of a recurrence split by hidden units waits about half of one at its barrier, and about as long again
// for the other thread's units of the state, so this, not the cores' speed, caps those splits.
import { Worker, isMainThread, workerData } from 'node:worker_threads';

const TRIPS = 20000; // round trips per batch
const THEIRS = 16; // the worker's counter, a cache line after the main thread's at 0

if (isMainThread) {
  const batches = Number(process.argv[2] ?? 20);
  const ints = new Int32Array(new SharedArrayBuffer(128));
  const worker = new Worker(new URL(import.meta.url), { workerData: { ints, trips: batches * TRIPS } });
  const times = [];
  for (let b = 0, n = 0; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < TRIPS; i++) {
      Atomics.store(ints, 0, ++n);
      while (Atomics.load(ints, THEIRS) < n);
    }
    times.push(((performance.now() - t0) * 1000) / TRIPS);
  }
  await worker.terminate();
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ us: times[times.length >> 1] }));
} else {
  const { ints, trips } = workerData;
  for (let n = 1; n <= trips; n++) {
    while (Atomics.load(ints, 0) < n);
    Atomics.store(ints, THEIRS, n);
  }
}
