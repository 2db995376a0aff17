/**
 * `npm start`: a short tour. Reproduces the textbook example, trains a small model to continue a sine wave
 * with visible progress, and times the same training on the WebAssembly and pure-JS backends.
 */
import { RNN, type Sample } from '../src/index.js';

const write = (s: string) => process.stdout.write(s);

// ---- 1. The textbook example ---------------------------------------------------------------------------
console.log('1. The textbook example: one ReLU unit, w_xh = 1.8, w_hh = -0.5, w_hy = 1.1, no biases\n');
const textbook = await RNN.create({ inputSize: 1, hiddenSize: 1, nonlinearity: 'relu', outputSize: 1 });
textbook.loadStateDict({
  weight_ih_l0: [[1.8]], weight_hh_l0: [[-0.5]], bias_ih_l0: [0], bias_hh_l0: [0],
  'head.weight': [[1.1]], 'head.bias': [0],
});
const days = [[0, 0], [0, 0.5], [1, 1]];
// Time-major [T = 2 days, B = 3 sequences, I = 1].
const { y } = textbook.unroll([days.map(([yesterday]) => [yesterday]), days.map(([, today]) => [today])]);
days.forEach(([yesterday, today], b) => {
  console.log(`   yesterday ${yesterday.toFixed(1)}, today ${today.toFixed(1)}  →  tomorrow ${y.data[3 + b].toFixed(4)}`);
});
textbook.dispose();

// ---- 2. Train a sequence model --------------------------------------------------------------------------
const WINDOW = 20;
const wave = (t: number) => Math.sin(t * 0.3) * 0.8 + Math.sin(t * 0.07) * 0.2;
// Many-to-one: a window of the wave in, the next value out.
const data: Sample[] = Array.from({ length: 256 }, (_, i) => ({
  input: Array.from({ length: WINDOW }, (_, t) => [wave(i + t)]),
  target: [wave(i + WINDOW)],
}));

console.log(`\n2. Training a 32-unit RNN to continue a wave (${data.length} windows of ${WINDOW} steps, Adam)\n`);
const net = await RNN.create({ inputSize: 1, hiddenSize: 32, outputSize: 1, seed: 1 });
const EPOCHS = 40;
const started = performance.now();
const history = await net.train(data, {
  epochs: EPOCHS, batchSize: 16, optimizer: { kind: 'adam', lr: 0.005 }, clipGradNorm: 1, seed: 1,
  onProgress: (p) => {
    if (p.batch !== p.batches) return;
    const filled = Math.round((p.epoch / p.epochs) * 30);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] epoch ${String(p.epoch).padStart(2)}/${p.epochs}  loss ${p.epochLoss.toExponential(3)}`;
    // Redraw one line on a terminal; in a log, print every tenth epoch instead.
    if (process.stdout.isTTY) write(`\r   ${line}${p.epoch === p.epochs ? '\n' : ''}`);
    else if (p.epoch % 10 === 0) write(`   ${line}\n`);
  },
});
const seconds = (performance.now() - started) / 1000;
console.log(`   loss ${history.loss[0].toExponential(3)} → ${history.loss.at(-1)!.toExponential(3)} in ${seconds.toFixed(1)} s on ${net.backend}`);

const prompt = Array.from({ length: WINDOW }, (_, t) => [[wave(1000 + t)]]);
const generated = net.generate(prompt, { steps: 10 });
console.log('\n   one-to-many: the model continues a window it never saw, feeding its predictions back');
console.log('   step   predicted   true');
for (let s = 0; s < 10; s++) {
  console.log(`   ${String(s + 1).padStart(4)}   ${generated.y.data[s].toFixed(4).padStart(9)}   ${wave(1000 + WINDOW + s).toFixed(4).padStart(7)}`);
}
net.dispose();

// ---- 3. WebAssembly vs pure JS ---------------------------------------------------------------------------
console.log('\n3. The same training epoch (hidden 128, batch 32) on each backend, median of 5\n');
const big: Sample[] = Array.from({ length: 128 }, (_, i) => ({
  input: Array.from({ length: WINDOW }, (_, t) => [wave(i + t)]),
  target: [wave(i + WINDOW)],
}));
const times: Record<string, number> = {};
for (const backend of ['js', 'wasm-scalar', 'wasm-simd'] as const) {
  const model = await RNN.create({ inputSize: 1, hiddenSize: 128, outputSize: 1, seed: 1, backend });
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    await model.train(big, { epochs: 1, batchSize: 32, optimizer: { kind: 'sgd', lr: 0.01 } });
    runs.push(performance.now() - t0);
  }
  model.dispose();
  times[backend] = runs.sort((a, b) => a - b)[2];
  console.log(`   ${backend.padEnd(12)} ${times[backend].toFixed(1).padStart(8)} ms${backend === 'js' ? '' : `   ${(times.js / times[backend]).toFixed(1)}× faster than JS`}`);
}
console.log('\n   Full benchmark: npm run bench');
