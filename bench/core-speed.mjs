// One core's speed, run by bench/cores.ts in a fresh Node process pinned to that core: the median ms of W5's
// shape (RNN tanh, I = 64, H = 256, T = 100, B = 32) on one thread of the SIMD build, for argv[3] ms.
const { RNN } = await import(process.argv[2]);
const [I, H, T, B] = [64, 256, 100, 32];
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
