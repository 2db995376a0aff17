// One core's speed, run by bench/cores.ts in a fresh Node process pinned to that core: the median ms of an RNN
// tanh forward of the package at argv[2] on one thread of the SIMD build, for argv[3] ms, of the sizes I, H, T, B
// in argv[4..7] (W5's, which bench/cores.ts passes).
const { RNN } = await import(process.argv[2]);
const [I, H, T, B] = process.argv.slice(4, 8).map(Number);
const net = await RNN.create({ inputSize: I, hiddenSize: H, seed: 1, backend: 'wasm-simd' });
const x = { data: new Float32Array(T * B * I).map((_, i) => Math.sin(i)), shape: [T, B, I] };
const out = { output: new Float32Array(T * B * H), y: new Float32Array(T * B * H), hN: new Float32Array(B * H) };
const times = [];
for (const end = performance.now() + Number(process.argv[3]); performance.now() < end || times.length < 5; ) {
  const t0 = performance.now();
  net.unroll(x, { out });
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ ms: times[times.length >> 1] }));
