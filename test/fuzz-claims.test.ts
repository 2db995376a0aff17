/**
 * Claims against bounds: checkpoints and JSON whose configuration claims counts and sizes up to 2⁵³ (layers,
 * hidden size, input size, head, vocabulary), and nested inputs that are cyclic or sparse through every entry
 * point. Each case ends in a typed error or a correct model within a second or two and without memory sized from
 * the claim.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { RNN, RnnError } from '../src/index.js';
import { parseSafetensors, writeSafetensors } from '../src/io/safetensors.js';

const CASE_MS = 2000;
const tally = { cases: 0, refused: 0, loaded: 0 };
const heapBefore = process.memoryUsage().heapUsed;

async function attempt(what: string, load: () => Promise<unknown> | unknown): Promise<void> {
  const start = performance.now();
  tally.cases++;
  try {
    const result = await load();
    if (result instanceof RNN) result.dispose();
    tally.loaded++;
  } catch (error) {
    if (!(error instanceof RnnError)) throw new Error(`${what}: threw ${String(error)}, not an RnnError`, { cause: error });
    tally.refused++;
  }
  expect(performance.now() - start, `${what}: milliseconds`).toBeLessThan(CASE_MS);
}

const CLAIMS = [0, 1, 3, 2 ** 16, 2 ** 24, 2 ** 24 + 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, -1, 1.5, 1e308, '7', true];
const KEYS: ((c: Record<string, unknown>, v: unknown) => Record<string, unknown>)[] = [
  (c, v) => ({ ...c, numLayers: v }),
  (c, v) => ({ ...c, hiddenSize: v }),
  (c, v) => ({ ...c, inputSize: v }),
  (c, v) => ({ ...c, outputSize: v }),
  (c, v) => ({ ...c, embedding: { numEmbeddings: v, embeddingDim: 3 } }),
  (c, v) => ({ ...c, embedding: { numEmbeddings: 5, embeddingDim: v }, inputSize: undefined }),
  (c, v) => ({ ...c, embedding: { numEmbeddings: 5, embeddingDim: 3, paddingIdx: v } }),
];

const models = await Promise.all([
  RNN.create({ cell: 'lstm', inputSize: 3, hiddenSize: 4, numLayers: 2, outputSize: 2, seed: 1, backend: 'js' }),
  RNN.create({
    cell: 'gru',
    hiddenSize: 3,
    embedding: { numEmbeddings: 5, embeddingDim: 3 },
    outputSize: 5,
    tieWeights: false,
    seed: 2,
    backend: 'js',
  }),
]);

describe('checkpoints whose configuration claims what the tensors do not hold', () => {
  for (const [m, net] of models.entries()) {
    it(`model ${m}: every claim through RNN.fromJSON and RNN.load`, async () => {
      const json = net.toJSON();
      const file = parseSafetensors(net.save());
      const tensors = file.tensors.map((t) => ({
        name: t.name,
        shape: t.shape,
        data: new Float32Array(file.bytes.slice(t.begin, t.end).buffer),
      }));
      const config = JSON.parse(file.metadata.get('rnn_wasm.config')!) as Record<string, unknown>;
      for (const [k, claim] of KEYS.entries()) {
        for (const value of CLAIMS) {
          const claimed = JSON.parse(JSON.stringify(claim(config, value))) as Record<string, unknown>;
          const what = `model ${m}, claim ${k} = ${String(value)}`;
          await attempt(`fromJSON(${what})`, () => RNN.fromJSON({ ...json, config: claimed } as never));
          const metadata = new Map(file.metadata).set('rnn_wasm.config', JSON.stringify(claimed));
          await attempt(`load(${what})`, () => RNN.load(writeSafetensors(tensors, metadata)));
        }
      }
    });
  }
});

describe('cyclic and sparse nested inputs through every entry point', () => {
  const cyclic = (): unknown[] => {
    const a: unknown[] = [];
    a.push(a);
    return a;
  };
  // biome-ignore lint/suspicious/noSparseArray: holes are the point
  const sparse = (): unknown[] => [[[1, , 3]]];
  const deep = (): unknown => {
    let x: unknown = 1;
    for (let i = 0; i < 100; i++) x = [x];
    return x;
  };
  for (const [name, make] of [
    ['cyclic', cyclic],
    ['sparse', sparse],
    ['deep', deep],
  ] as const) {
    it(`${name} arrays are typed errors everywhere`, async () => {
      const net = models[0];
      const before = net.save();
      const bad = make() as never;
      const ok3 = [[[0.1, 0.2, 0.3]]];
      await attempt(`unroll ${name}`, () => net.unroll(bad));
      await attempt(`unroll h0 ${name}`, () => net.unroll(ok3, { h0: bad }));
      await attempt(`cell ${name}`, () => net.cell(bad));
      await attempt(`cell state ${name}`, () => net.cell([[0.1, 0.2, 0.3]], { h: bad }));
      await attempt(`gradients ${name}`, () => net.gradients(ok3, bad));
      await attempt(`evaluate ${name}`, () => net.evaluate(bad, [[0, 1]]));
      await attempt(`step ${name}`, () => net.step(ok3, [[[0, 1]]], { c0: bad }));
      await attempt(`train input ${name}`, () => net.train([{ input: bad, target: [0, 1] }]));
      await attempt(`train target ${name}`, () => net.train([{ input: [[0.1, 0.2, 0.3]], target: bad }]));
      await attempt(`loadStateDict ${name}`, () => net.loadStateDict({ ...net.stateDict(), 'rnn.weight_ih_l0': bad }));
      await attempt(`generate ${name}`, () => models[1].generate(bad, { steps: 2 }));
      expect(net.save()).toEqual(before);
    });
  }
});

afterAll(() => {
  const grown = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  console.log(`fuzz-claims: ${tally.cases} cases, ${tally.refused} refused, ${tally.loaded} loaded; heap grew ${grown.toFixed(1)} MiB`);
  expect(grown, 'heap growth in MiB: nothing was sized from a claim').toBeLessThan(200);
});
