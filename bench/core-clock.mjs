// The clock of the core it is pinned to (bench/cores.ts), in GHz: a chain of dependent one-cycle integer
// operations (an add, then an xor, 16 to an iteration, which no compiler folds) takes a cycle each, so the
// chain's length over its time is the clock. The median of 15 timings of 80 million is printed.
const PER_ITERATION = 16;

function chain(n, y, z) {
  let x = 0;
  for (let i = 0; i < n; i++) {
    x = (x + y) ^ z;
    x = (x + y) ^ z;
    x = (x + y) ^ z;
    x = (x + y) ^ z;
    x = (x + y) ^ z;
    x = (x + y) ^ z;
    x = (x + y) ^ z;
    x = (x + y) ^ z;
  }
  return x;
}

const n = 5e6;
let sink = chain(n, 3, 5); // compiled before the timings
const ghz = [];
for (let r = 0; r < 15; r++) {
  const t0 = performance.now();
  sink ^= chain(n, r + 3, 5);
  ghz.push((n * PER_ITERATION) / ((performance.now() - t0) * 1e6));
}
ghz.sort((a, b) => a - b);
console.log(JSON.stringify({ ghz: ghz[ghz.length >> 1], sink: sink & 1 }));
