/**
 * A GRU character model: learns the next character of a small text and samples new text from it
 * (one-hot inputs, cross-entropy over the head's logits). Run: npx tsx examples/gru-chars.ts
 */
import { RNN } from '../src/index.js';

const text = 'the cat sat on the mat. the dog sat on the log. the cat saw the dog. '.repeat(4);
const chars = [...new Set(text)].sort();
const oneHot = (ch: string) => chars.map((c) => (c === ch ? 1 : 0));

// Windows of 16 characters; the target at each step is the next character's id.
const data = [];
for (let i = 0; i + 17 <= text.length; i += 4) {
  const window = text.slice(i, i + 17);
  data.push({ input: [...window.slice(0, 16)].map(oneHot), target: [...window.slice(1)].map((c) => chars.indexOf(c)) });
}

const net = await RNN.create({ cell: 'gru', inputSize: chars.length, hiddenSize: 64, outputSize: chars.length, seed: 1 });
const history = await net.train(data, {
  epochs: 40,
  batchSize: 16,
  loss: 'cross_entropy',
  optimizer: { kind: 'adam', lr: 0.01 },
  clipGradNorm: 5,
  seed: 1,
});
console.log(`loss ${history.loss[0].toFixed(3)} → ${history.loss.at(-1)!.toFixed(3)}`);

const prompt = [...'the '].map((c) => [oneHot(c)]); // [T, B = 1, chars]
const { ids } = net.generate(prompt, { steps: 60, sample: true, temperature: 0.5, seed: 3 });
console.log(`the ${Array.from(ids!.data, (id) => chars[id]).join('')}`);
