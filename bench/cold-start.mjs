// Cold start, run by bench/bench.ts in a fresh Node process: from the import of the package (the URL of its
// entry, argv[2]) to the first `unroll` result of W0 (RNN tanh, I = 8, H = 32, T = 100, B = 1).
const start = performance.now();
const { RNN } = await import(process.argv[2]);
const net = await RNN.create({ cell: 'rnn', inputSize: 8, hiddenSize: 32, seed: 7 });
const x = new Float32Array(100 * 8).map((_, i) => Math.sin(i));
const { output } = net.unroll({ data: x, shape: [100, 1, 8] });
const ms = performance.now() - start;
console.log(JSON.stringify({ ms, backend: net.backend, last: output.data[output.data.length - 1] }));
