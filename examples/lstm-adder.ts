/**
 * An LSTM learns to add: it reads a sequence of numbers one step at a time and outputs their running sum
 * (many-to-many). Run: npx tsx examples/lstm-adder.ts
 */
import { RNN } from '../src/index.js';

const net = await RNN.create({ cell: 'lstm', inputSize: 1, hiddenSize: 24, outputSize: 1, seed: 1 });

let seed = 1;
const random = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5;
const data = Array.from({ length: 512 }, () => {
  const values = Array.from({ length: 8 }, random);
  let sum = 0;
  return { input: values.map((v) => [v]), target: values.map((v) => [(sum += v)]) };
});

const history = await net.train(data, { epochs: 30, batchSize: 32, optimizer: { kind: 'adam', lr: 0.01 }, seed: 1 });
console.log(`loss ${history.loss[0].toFixed(4)} → ${history.loss.at(-1)!.toFixed(5)}`);

const { y } = net.unroll([[[0.3]], [[0.25]], [[-0.4]], [[0.1]]]); // [T = 4, B = 1, I = 1]
console.log('running sums of 0.3, 0.25, -0.4, 0.1:', Array.from(y.data, (v) => v.toFixed(3)).join(', '));
console.log('exact:                               0.300, 0.550, 0.150, 0.250');
