/**
 * A sentiment classifier trained in JavaScript: token ids in, an embedding, a bidirectional LSTM, and a Linear head
 * on the final states (PyTorch's `fc(cat(h_n[-2], h_n[-1]))`), trained on sentences of different lengths. The data
 * is made here, seeded: reviews whose sentiment words lean one way. Run: npx tsx examples/sentiment.ts
 */
import { RNN, logSoftmax } from '../src/index.js';

const positive = ['good', 'great', 'fun', 'lovely', 'moving', 'clever', 'superb', 'charming'];
const negative = ['bad', 'dull', 'boring', 'awful', 'clumsy', 'weak', 'tedious', 'messy'];
const neutral = ['the', 'a', 'film', 'plot', 'cast', 'was', 'and', 'very', 'its', 'ending', 'music', 'quite', 'but'];
const vocab = ['<pad>', ...positive, ...negative, ...neutral]; // id 0 pads, and gets no gradient
const id = new Map(vocab.map((word, i) => [word, i]));

let seed = 7;
const random = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
const shuffled = <T>(list: T[]) => {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
};

/** A review of 4 to 12 words: a few sentiment words among neutral ones, the majority of them of its class. */
function review(): { words: string[]; label: number } {
  const label = random() < 0.5 ? 0 : 1; // 0 negative, 1 positive
  const length = 4 + Math.floor(random() * 9);
  const words = Array.from({ length }, () => pick(neutral));
  const minority = Math.floor(random() * 2); // 0 or 1 words of the other side
  const majority = minority + 1 + Math.floor(random() * 2);
  const [own, other] = label === 1 ? [positive, negative] : [negative, positive];
  const slots = shuffled(Array.from({ length }, (_, i) => i)).slice(0, majority + minority); // at most 4 ≤ length
  slots.forEach((slot, i) => (words[slot] = pick(i < majority ? own : other)));
  return { words, label };
}

const encode = (words: readonly string[]) => words.map((w) => id.get(w)!);
const trainSet = Array.from({ length: 600 }, review);
const testSet = Array.from({ length: 200 }, review);

const net = await RNN.create({
  embedding: { numEmbeddings: vocab.length, embeddingDim: 16, paddingIdx: 0 },
  cell: 'lstm',
  hiddenSize: 16,
  bidirectional: true,
  outputSize: 2,
  headOn: 'final',
  seed: 1,
});

/** The share of reviews classified right: one padded batch [T, B] of ids, with each review's length. */
function accuracy(reviews: readonly { words: string[]; label: number }[]): number {
  const T = Math.max(...reviews.map((r) => r.words.length));
  const ids = Array.from({ length: T }, (_, t) => reviews.map((r) => id.get(r.words[t]) ?? 0)); // [T, B], 0-padded
  const lengths = reviews.map((r) => r.words.length);
  const logProbs = logSoftmax(net.unroll(ids, { lengths }).y); // [B, 2]
  const right = reviews.filter((r, b) => {
    const [neg, pos] = logProbs.data.subarray(2 * b, 2 * b + 2);
    return (pos > neg ? 1 : 0) === r.label;
  });
  return right.length / reviews.length;
}

console.log(`accuracy before training: ${accuracy(testSet).toFixed(3)}`);
const history = await net.train(
  trainSet.map((r) => ({ input: encode(r.words), target: r.label })), // ids [T] of any length, one class id
  { epochs: 12, batchSize: 32, loss: 'cross_entropy', optimizer: { kind: 'adam', lr: 0.01 }, seed: 1 },
);
console.log(`loss ${history.loss[0].toFixed(3)} → ${history.loss.at(-1)!.toFixed(3)}`);
console.log(`accuracy after training: ${accuracy(testSet).toFixed(3)}`);

for (const sentence of [
  'the plot was dull and the cast weak',
  'a charming film and lovely music',
  'the music was great but the plot tedious and messy',
]) {
  const [neg, pos] = logSoftmax(net.unroll(encode(sentence.split(' ')).map((i) => [i])).y).data; // ids [T, B = 1]
  console.log(`${sentence}: ${pos > neg ? 'positive' : 'negative'} (p = ${Math.exp(Math.max(pos, neg)).toFixed(2)})`);
}
