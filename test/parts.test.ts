/**
 * The parts' contract, beyond the PyTorch numbers (test/model-parity.test.ts has those): the embedding's inputs
 * and its padding row, tied weights (one parameter under two names), the head on the final states, generation
 * over token ids, logSoftmax, the user's metadata, evaluate's state, and safetensors files under other module
 * names. Every expected value is computed here from the model's own weights or from another of its calls.
 */
import { describe, expect, it } from 'vitest';
import {
  type CellResult,
  type IdTensor,
  OptionError,
  RNN,
  type Sample,
  ShapeError,
  StateDictError,
  type Tensor,
  logSoftmax,
} from '../src/index.js';
import { BACKENDS, expectClose, randomArray } from './helpers.js';

/** Ids in [0, n) from a seed, deterministic. */
const randomIds = (count: number, n: number, seed: number) =>
  Int32Array.from(randomArray(count, seed), (v) => Math.min(n - 1, Math.floor(((v + 1) / 2) * n)));

/** The rows [from, to) of a row-major tensor with rows of `width`. */
const rows = (data: Float32Array, from: number, to: number, width: number) => data.subarray(from * width, to * width);

const argmax = (v: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
};

/** A safetensors file of float32 tensors, written here so that the test depends on the format, not on our writer. */
function safetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.length * 4] };
    offset += t.data.length * 4;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of Object.values(tensors)) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

function headerOf(bytes: Uint8Array): Record<string, unknown> {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
}

function expectSameDict(actual: Record<string, Tensor>, expected: Record<string, Tensor>): void {
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  for (const [name, t] of Object.entries(expected)) {
    expect(actual[name].shape, name).toEqual(t.shape);
    expectClose(actual[name].data, t.data, name, 0, 0);
  }
}

describe('logSoftmax', () => {
  it('gives rows whose probabilities sum to 1 and that equal the log of a softmax computed here', () => {
    const C = 5;
    const data = randomArray(3 * 2 * C, 1, 4);
    data.set([1000, 0, -1000, 3, 999], 0); // a row whose naive exp overflows
    const out = logSoftmax({ data, shape: [3, 2, C] });
    expect(out.shape).toEqual([3, 2, C]);
    for (let row = 0; row < 6; row++) {
      const logits = [...rows(data, row, row + 1, C)];
      const max = Math.max(...logits);
      const total = logits.reduce((s, v) => s + Math.exp(v - max), 0);
      // log(e^v / Σ e^u), with the max taken out of both so that neither overflows nor underflows to log(0).
      const expected = logits.map((v) => v - max - Math.log(total));
      const got = rows(out.data, row, row + 1, C);
      expectClose(got, expected, `row ${row}`, 1e-6, 1e-6);
      expect([...got].reduce((s, v) => s + Math.exp(v), 0)).toBeCloseTo(1, 6);
    }
    expect(() => logSoftmax({ data: [1, 2] as never, shape: [2] })).toThrow(ShapeError);
  });
});

describe.each(BACKENDS)('parts [%s]', (backend) => {
  const E = { numEmbeddings: 7, embeddingDim: 3 };

  it("embedding: ids as Int32Array [T, B] or nested [B, T] with batchFirst; each picks its row as the core's input", async () => {
    const options = { cell: 'gru', hiddenSize: 5, embedding: E, outputSize: 4, seed: 4, backend } as const;
    const net = await RNN.create(options);
    const first = await RNN.create({ ...options, batchFirst: true });
    const vectors = await RNN.create({ cell: 'gru', inputSize: 3, hiddenSize: 5, outputSize: 4, backend });
    const { 'embedding.weight': table, ...rest } = net.stateDict();
    vectors.loadStateDict(rest);
    const T = 4,
      B = 3;
    const ids: IdTensor = { data: randomIds(T * B, 7, 2), shape: [T, B] };
    const y = net.unroll(ids).y;
    // The same sequence as vectors: each id replaced by its row of the table.
    const x = new Float32Array(T * B * 3);
    ids.data.forEach((id, i) => x.set(rows(table.data, id, id + 1, 3), i * 3));
    expectClose(y.data, vectors.unroll({ data: x, shape: [T, B, 3] }).y.data, 'y against rows as vectors', 1e-6, 1e-6);
    const nested = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => ids.data[t * B + b]));
    const yFirst = first.unroll(nested).y;
    expect(yFirst.shape).toEqual([B, T, 4]);
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++)
        expectClose(rows(yFirst.data, b * T + t, b * T + t + 1, 4), rows(y.data, t * B + b, t * B + b + 1, 4), `y[${t}, ${b}]`, 0, 0);
    }
    expect(net.gradients(ids, { data: randomArray(T * B * 4, 5), shape: [T, B, 4] }).input).toBeUndefined();
  });

  it('embedding: a bad id is a ShapeError naming its position, and vectors are refused', async () => {
    const net = await RNN.create({ hiddenSize: 4, embedding: E, outputSize: 2, backend });
    const first = await RNN.create({ hiddenSize: 4, embedding: E, outputSize: 2, batchFirst: true, backend });
    for (const bad of [7, -1, 1.5, NaN]) {
      const data = [0, 1, 2, 3, 4, 5];
      data[3] = bad;
      expect(() => net.unroll({ data, shape: [3, 2] }), `${bad}`).toThrow(new RegExp(`element 3 \\(at \\[1, 1\\]\\) is ${bad}`));
      expect(() =>
        net.unroll([
          [0, 1],
          [2, bad],
          [4, 5],
        ]),
      ).toThrow(ShapeError);
      expect(
        () =>
          first.unroll([
            [0, 1, 2],
            [bad, 4, 5],
          ]),
        'batch-first: the position in the array given',
      ).toThrow(/at \[1, 0\]/);
      expect(() => net.cell([0, bad])).toThrow(/element 1 is/);
      expect(() =>
        net.step(
          [
            [0, 1],
            [2, bad],
            [4, 5],
          ],
          [
            [0, 0],
            [1, 1],
            [0, 1],
          ],
          { loss: 'cross_entropy' },
        ),
      ).toThrow(ShapeError);
    }
    expect(() => net.unroll({ data: new Float32Array(3 * 2 * 3), shape: [3, 2, 3] })).toThrow(ShapeError);
    expect(() => net.cell([[0, 1, 2]])).toThrow(ShapeError);
  });

  it('embedding: cell takes ids [B] and streams the numbers of unroll', async () => {
    const net = await RNN.create({ cell: 'lstm', hiddenSize: 4, numLayers: 2, embedding: E, outputSize: 3, seed: 9, backend });
    const T = 5,
      B = 2;
    const ids = randomIds(T * B, 7, 3);
    const whole = net.unroll({ data: ids, shape: [T, B] });
    let state: CellResult | undefined;
    for (let t = 0; t < T; t++) {
      state = net.cell([...ids.subarray(t * B, (t + 1) * B)], state);
      expectClose(state.y.data, rows(whole.y.data, t * B, (t + 1) * B, 3), `y at ${t}`, 0, 1e-6);
    }
    expectClose(state!.h.data, whole.hN.data, 'hN', 0, 1e-6);
    expectClose(state!.c!.data, whole.cN!.data, 'cN', 0, 1e-6);
  });

  it.each([2, -1])('paddingIdx %i: its row starts at zero and gets no gradient', async (paddingIdx) => {
    const net = await RNN.create({ hiddenSize: 4, embedding: { ...E, paddingIdx }, outputSize: 2, seed: 5, backend });
    const pad = paddingIdx < 0 ? E.numEmbeddings + paddingIdx : paddingIdx; // PyTorch counts a negative one from the end
    expect(net.config.embedding!.paddingIdx).toBe(pad);
    const table = net.stateDict()['embedding.weight'].data;
    for (let id = 0; id < 7; id++) {
      expect(
        rows(table, id, id + 1, 3).every((v) => v === 0),
        `row ${id} zero`,
      ).toBe(id === pad);
    }
    const ids = { data: Int32Array.from([pad, 1, 3, pad, 1, 0]), shape: [3, 2] };
    const target = { data: randomArray(12, 8), shape: [3, 2, 2] };
    const grad = net.gradients(ids, target).grads['embedding.weight'].data;
    for (const id of [0, 1, 3])
      expect(
        rows(grad, id, id + 1, 3).some((v) => v !== 0),
        `row ${id} gets a gradient`,
      ).toBe(true);
    expect([...rows(grad, pad, pad + 1, 3)]).toEqual([0, 0, 0]);
    net.step(ids, target, { optimizer: { kind: 'sgd', lr: 0.5 } });
    expect([...rows(net.stateDict()['embedding.weight'].data, pad, pad + 1, 3)]).toEqual([0, 0, 0]);
  });

  describe('tied weights', () => {
    const names = { embedding: 'encoder', core: 'rnn', head: 'decoder' };
    const tied = (seed = 1) =>
      RNN.create({
        cell: 'gru',
        hiddenSize: 3,
        embedding: { numEmbeddings: 4, embeddingDim: 3 },
        outputSize: 4,
        tieWeights: true,
        names,
        seed,
        backend,
      });
    const ids = { data: Int32Array.from([0, 1, 2, 3, 1, 0]), shape: [3, 2] };
    const next = [
      [1, 2],
      [3, 0],
      [2, 2],
    ];

    it('stateDict lists the weight under both names; numParameters counts it once; files hold it once', async () => {
      const net = await tied();
      const dict = net.stateDict();
      expect(Object.keys(dict)).toEqual([
        'encoder.weight',
        'rnn.weight_ih_l0',
        'rnn.weight_hh_l0',
        'rnn.bias_ih_l0',
        'rnn.bias_hh_l0',
        'decoder.weight',
        'decoder.bias',
      ]);
      expect(dict['decoder.weight']).toEqual(dict['encoder.weight']);
      expect(dict['decoder.weight'].data).not.toBe(dict['encoder.weight'].data); // copies, not one view
      const total = Object.values(dict).reduce((n, t) => n + t.data.length, 0);
      expect(net.numParameters).toBe(total - dict['decoder.weight'].data.length);
      const header = headerOf(net.toSafetensors());
      expect(
        Object.keys(header)
          .filter((k) => k !== '__metadata__')
          .sort(),
      ).toEqual(
        Object.keys(dict)
          .filter((k) => k !== 'decoder.weight')
          .sort(),
      );
      const loaded = await RNN.fromSafetensors(net.toSafetensors(), { backend });
      expect(loaded.config.tieWeights).toBe(true);
      expectSameDict(loaded.stateDict(), dict);
    });

    it('its gradient sums both uses and matches finite differences of the loss', async () => {
      const net = await tied(2);
      const { grads } = net.gradients(ids, next, { loss: 'cross_entropy' });
      expect(grads['decoder.weight']).toEqual(grads['encoder.weight']);
      // An untied twin with the same values: the tied gradient is the sum of the embedding's and the head's.
      const untied = await RNN.create({
        cell: 'gru',
        hiddenSize: 3,
        embedding: { numEmbeddings: 4, embeddingDim: 3 },
        outputSize: 4,
        names,
        backend,
      });
      const dict = net.stateDict();
      untied.loadStateDict(dict);
      const parts = untied.gradients(ids, next, { loss: 'cross_entropy' }).grads;
      const sum = parts['encoder.weight'].data.map((v, i) => v + parts['decoder.weight'].data[i]);
      expectClose(grads['encoder.weight'].data, sum, 'tied = embedding use + head use', 1e-5, 1e-6);
      const norm = (a: Float32Array) => Math.hypot(...a);
      expect(norm(parts['encoder.weight'].data), 'the embedding use matters').toBeGreaterThan(1e-3);
      expect(norm(parts['decoder.weight'].data), 'the head use matters').toBeGreaterThan(1e-3);
      // Central differences through the one weight (loaded under the embedding's name only: both uses move).
      const base = dict['encoder.weight'].data;
      const { 'decoder.weight': _d, ...single } = dict;
      const h = 1e-2;
      const numeric = new Float64Array(base.length);
      for (let i = 0; i < base.length; i++) {
        const at = (delta: number) => {
          const w = Float64Array.from(base);
          w[i] += delta;
          net.loadStateDict({ ...single, 'encoder.weight': { data: Float32Array.from(w), shape: [4, 3] } });
          return net.evaluate(ids, next, { loss: 'cross_entropy' });
        };
        numeric[i] = (at(h) - at(-h)) / (2 * h);
      }
      expectClose(grads['encoder.weight'].data, numeric, 'tied gradient vs finite differences', 2e-2, 2e-3);
    });

    it("an optimizer step updates it once; loadStateDict takes it under both names or the embedding's", async () => {
      const net = await tied(3);
      const before = net.stateDict()['encoder.weight'].data;
      const g = net.gradients(ids, next, { loss: 'cross_entropy' }).grads['encoder.weight'].data;
      net.step(ids, next, { loss: 'cross_entropy', optimizer: { kind: 'sgd', lr: 0.5 } });
      const after = net.stateDict();
      expect(after['decoder.weight']).toEqual(after['encoder.weight']);
      expectClose(
        after['encoder.weight'].data,
        before.map((w, i) => w - 0.5 * g[i]),
        'w - lr·g, once',
        1e-5,
        1e-6,
      );

      const other = (await tied(4)).stateDict();
      net.loadStateDict(other);
      expectSameDict(net.stateDict(), other);
      const { 'decoder.weight': _d, ...embeddingOnly } = (await tied(5)).stateDict();
      net.loadStateDict(embeddingOnly);
      expect(net.stateDict()['decoder.weight'].data).toEqual(embeddingOnly['encoder.weight'].data);
    });
  });

  it.each([false, true])(
    "headOn final (bidirectional %s): y [B, O] reads each column's state at its own last step",
    async (bidirectional) => {
      const net = await RNN.create({
        cell: 'gru',
        inputSize: 2,
        hiddenSize: 3,
        numLayers: 2,
        bidirectional,
        outputSize: 2,
        headOn: 'final',
        seed: 6,
        backend,
      });
      const T = 4,
        B = 3,
        D = bidirectional ? 2 : 1,
        F = D * 3;
      const x = { data: randomArray(T * B * 2, 7), shape: [T, B, 2] };
      const lengths = [4, 1, 3];
      const u = net.unroll(x, { lengths });
      expect(u.y.shape).toEqual([B, 2]);
      const { 'head.weight': W, 'head.bias': bias } = net.stateDict();
      for (let b = 0; b < B; b++) {
        // The last layer's final state of each direction, concatenated (PyTorch's cat(h_n[-2], h_n[-1])).
        const features = new Float32Array(F);
        for (let d = 0; d < D; d++) features.set(rows(u.hN.data, (2 - 1) * D * B + d * B + b, (2 - 1) * D * B + d * B + b + 1, 3), d * 3);
        const expected = [0, 1].map((o) => bias.data[o] + features.reduce((s, f, j) => s + W.data[o * F + j] * f, 0));
        expectClose(rows(u.y.data, b, b + 1, 2), expected, `y[${b}]`, 1e-5, 1e-6);
      }
      // Losses on the head's one row per column: cross-entropy over one class id each, MSE over [B, O].
      const classes = [1, 0, 1];
      const logp = logSoftmax(u.y).data;
      const ce = -classes.reduce((s, c, b) => s + logp[b * 2 + c], 0) / B;
      expect(net.evaluate(x, classes, { loss: 'cross_entropy', lengths })).toBeCloseTo(ce, 5);
      const target = { data: randomArray(B * 2, 8), shape: [B, 2] };
      const mse = u.y.data.reduce((s, v, i) => s + (v - target.data[i]) ** 2, 0) / (B * 2);
      expect(net.evaluate(x, target, { lengths })).toBeCloseTo(mse, 5);
      expect(() => net.gradients(x, { data: new Float32Array(T * B * 2), shape: [T, B, 2] }, { lengths })).toThrow(ShapeError);
      expect(() =>
        net.gradients(
          x,
          [
            [0, 1, 0],
            [0, 1, 0],
            [0, 1, 0],
            [0, 1, 0],
          ],
          { loss: 'cross_entropy' },
        ),
      ).toThrow(ShapeError);
    },
  );

  it('headOn final trains on one class per sequence of any length, and refuses what cannot be meant', async () => {
    const net = await RNN.create({
      cell: 'gru',
      hiddenSize: 8,
      embedding: { numEmbeddings: 4, embeddingDim: 4 },
      outputSize: 2,
      headOn: 'final',
      seed: 1,
      backend,
    });
    // The class is whether token 3 occurs in the sequence.
    const data: Sample[] = Array.from({ length: 24 }, (_, i) => {
      const input = [...randomIds(2 + (i % 5), 3, 100 + i)];
      if (i % 2) input[i % input.length] = 3;
      return { input, target: i % 2 };
    });
    const history = await net.train(data, { epochs: 15, batchSize: 6, loss: 'cross_entropy', optimizer: { kind: 'adam', lr: 0.05 } });
    expect(history.loss.at(-1)!).toBeLessThan(history.loss[0] * 0.5);
    await expect(net.train([{ input: [0, 1, 2], target: [0, 1, 0] }], { loss: 'cross_entropy' })).rejects.toThrow(ShapeError);
    const mse = await RNN.create({ inputSize: 2, hiddenSize: 4, outputSize: 1, headOn: 'final', backend });
    const sequences: Sample[] = [2, 3, 4, 5].map((n, i) => ({ input: { data: randomArray(n * 2, i), shape: [n, 2] }, target: [n / 10] }));
    const fit = await mse.train(sequences, { epochs: 30, batchSize: 4, optimizer: { kind: 'adam', lr: 0.02 } });
    expect(fit.loss.at(-1)!).toBeLessThan(fit.loss[0]);
    // Without a head, y is the final states themselves (Keras's return_sequences=False).
    const headless = await RNN.create({ inputSize: 2, hiddenSize: 4, bidirectional: true, headOn: 'final', seed: 2, backend });
    const x = { data: randomArray(3 * 2 * 2, 9), shape: [3, 2, 2] };
    const run = headless.unroll(x, { lengths: [3, 2] });
    expect(run.y.shape).toEqual([2, 8]);
    for (let b = 0; b < 2; b++) {
      expect([...run.y.data.subarray(b * 8, b * 8 + 4)]).toEqual([...run.hN.data.subarray(b * 4, b * 4 + 4)]);
      expect([...run.y.data.subarray(b * 8 + 4, b * 8 + 8)]).toEqual([...run.hN.data.subarray(8 + b * 4, 8 + b * 4 + 4)]);
    }
    headless.dispose();
    for (const sizes of [
      { outputSize: 6, hiddenSize: 3 },
      { outputSize: 7, hiddenSize: 4 },
      { outputSize: 7, hiddenSize: 2, bidirectional: true },
    ]) {
      await expect(RNN.create({ embedding: E, tieWeights: true, backend, ...sizes }), JSON.stringify(sizes)).rejects.toThrow(OptionError);
    }
    await expect(RNN.create({ inputSize: 3, hiddenSize: 3, outputSize: 3, tieWeights: true, backend })).rejects.toThrow(OptionError);
  });

  describe('generate over token ids', () => {
    const lm = () =>
      RNN.create({ cell: 'lstm', hiddenSize: 6, embedding: { numEmbeddings: 5, embeddingDim: 4 }, outputSize: 5, seed: 33, backend });
    const prompt = { data: Int32Array.from([0, 3, 2, 1]), shape: [2, 2] };
    const B = 2;

    it('greedy is the argmax loop over cell; topK 1 and a tiny topP are greedy too', async () => {
      const net = await lm();
      const steps = 6;
      const greedy = net.generate(prompt, { steps, temperature: 0 });
      expect(greedy.ids!.shape).toEqual([steps, B]);
      expect(greedy.y.shape).toEqual([steps, B, 5]);
      const first = net.unroll(prompt);
      let y = rows(first.y.data, B, 2 * B, 5);
      let state: { h: Tensor; c?: Tensor } = { h: first.hN, c: first.cN };
      const ids: number[] = [];
      for (let s = 0; s < steps; s++) {
        expectClose(rows(greedy.y.data, s * B, (s + 1) * B, 5), y, `y at ${s}`, 0, 1e-6);
        const drawn = [0, 1].map((b) => argmax(rows(y, b, b + 1, 5)));
        ids.push(...drawn);
        if (s === steps - 1) break;
        const r = net.cell(drawn, state);
        y = r.y.data;
        state = r;
      }
      expect([...greedy.ids!.data]).toEqual(ids);
      expectClose(greedy.hN.data, state.h.data, 'hN', 0, 1e-6);
      expectClose(greedy.cN!.data, state.c!.data, 'cN', 0, 1e-6);
      expect(new Set(ids).size, 'a loop that moves').toBeGreaterThan(1);
      expect(net.generate(prompt, { steps, topK: 1, seed: 3 }).ids).toEqual(greedy.ids);
      expect(net.generate(prompt, { steps, topP: 1e-6, seed: 4 }).ids).toEqual(greedy.ids);
    });

    it("a seeded draw repeats, another seed draws otherwise, and the model's generator is left alone", async () => {
      const net = await lm();
      const generator = net.generatorState;
      const draw = (seed: number) => [...net.generate(prompt, { steps: 30, temperature: 2, seed }).ids!.data];
      expect(draw(1)).toEqual(draw(1));
      expect(draw(1)).not.toEqual(draw(2));
      expect(net.generatorState).toBe(generator);
      const unseeded = net.generate(prompt, { steps: 30, temperature: 2 }).ids!.data;
      expect(net.generatorState).not.toBe(generator);
      net.generatorState = generator;
      expect(net.generate(prompt, { steps: 30, temperature: 2 }).ids!.data).toEqual(unseeded);
    });

    it('stopId ends generation once every sequence drew it; each repeats it after it stopped', async () => {
      const net = await lm();
      const stopId = 4;
      const steps = 400;
      const result = net.generate(prompt, { steps, temperature: 3, stopId, seed: 8 });
      const made = result.ids!.shape[0];
      expect(made).toBeLessThan(steps);
      expect(result.y.shape).toEqual([made, B, 5]);
      const ids = result.ids!.data;
      for (let b = 0; b < B; b++) {
        const firstStop = Array.from({ length: made }, (_, s) => ids[s * B + b]).indexOf(stopId);
        expect(firstStop, `column ${b} stops`).toBeGreaterThanOrEqual(0);
        for (let s = firstStop; s < made; s++) expect(ids[s * B + b], `column ${b} at ${s}`).toBe(stopId);
      }
      for (let s = 0; s < made - 1; s++)
        expect(
          [ids[s * B], ids[s * B + 1]].every((id) => id === stopId),
          `all stopped at ${s}`,
        ).toBe(false);
      expect([...ids.subarray((made - 1) * B)]).toEqual([stopId, stopId]);
    });

    it('refuses options that choose no class', async () => {
      const net = await lm();
      for (const options of [{ topK: 0 }, { topK: 1.5 }, { topP: 0 }, { topP: 1.01 }, { stopId: 5 }, { stopId: -1 }, { temperature: -1 }]) {
        expect(() => net.generate(prompt, { steps: 3, ...options }), JSON.stringify(options)).toThrow(OptionError);
      }
      expect(() => net.generate([[5]], { steps: 3 })).toThrow(ShapeError);
    });
  });

  it('save({ metadata }) and net.metadata travel through RNN.load and toJSON / fromJSON', async () => {
    const net = await RNN.create({ hiddenSize: 3, embedding: E, outputSize: 7, backend });
    expect(net.metadata).toEqual({});
    const vocab = { vocab: JSON.stringify(['<pad>', 'a', 'b']), note: 'ünïcode ✓' };
    const loaded = await RNN.load(net.save({ metadata: vocab }), { backend });
    expect(loaded.metadata).toEqual(vocab);
    expect(net.metadata, "save does not set the model's own").toEqual({});
    loaded.metadata.run = '7';
    const again = await RNN.fromJSON(JSON.stringify(loaded), { backend });
    expect(again.metadata).toEqual({ ...vocab, run: '7' });
    expect((await RNN.fromJSON(loaded.toJSON(), { backend })).metadata).toEqual({ ...vocab, run: '7' });
    expect(() => net.save({ metadata: { n: 1 } as never })).toThrow(OptionError);
  });

  it('evaluate with withState gives the loss of evaluate and the final state of unroll', async () => {
    const net = await RNN.create({ cell: 'lstm', inputSize: 2, hiddenSize: 3, numLayers: 2, outputSize: 1, seed: 2, backend });
    const T = 5,
      B = 2;
    const x = { data: randomArray(T * B * 2, 3), shape: [T, B, 2] };
    const target = { data: randomArray(T * B, 4), shape: [T, B, 1] };
    for (const lengths of [undefined, [5, 2]]) {
      const loss = net.evaluate(x, target, { lengths });
      const withState = net.evaluate(x, target, { lengths, withState: true });
      expect(Object.keys(withState).sort()).toEqual(['cN', 'hN', 'loss']);
      expect(withState.loss).toBe(loss);
      const u = net.unroll(x, { lengths });
      expectClose(withState.hN.data, u.hN.data, 'hN', 0, 0);
      expectClose(withState.cN!.data, u.cN!.data, 'cN', 0, 0);
    }
    // Chunked validation: the state carried from the first three steps into the last two gives the whole run's outputs.
    const head = { data: x.data.subarray(0, 3 * B * 2), shape: [3, B, 2] };
    const tail = { data: x.data.subarray(3 * B * 2), shape: [2, B, 2] };
    const s = net.evaluate(head, { data: target.data.subarray(0, 3 * B), shape: [3, B, 1] }, { withState: true });
    expectClose(net.unroll(tail, { h0: s.hN, c0: s.cN }).y.data, net.unroll(x).y.data.subarray(3 * B), 'chunked y', 0, 1e-6);
  });

  describe('fromSafetensors under other module names', () => {
    const options = {
      cell: 'lstm',
      hiddenSize: 4,
      embedding: { numEmbeddings: 6, embeddingDim: 3 },
      outputSize: 5,
      names: { embedding: 'emb', core: 'lstm', head: 'fc' },
      seed: 2,
      backend,
    } as const;

    it('finds the parts with no options, from our file and from one without metadata, tensor for tensor', async () => {
      const net = await RNN.create(options);
      const dict = net.stateDict();
      for (const bytes of [net.toSafetensors(), safetensors(dict)]) {
        const loaded = await RNN.fromSafetensors(bytes, { backend });
        expect(loaded.config.names).toEqual(options.names);
        expect(loaded.config.cell).toBe('lstm');
        expect(loaded.config.embedding).toEqual({ numEmbeddings: 6, embeddingDim: 3, paddingIdx: null });
        expectSameDict(loaded.stateDict(), dict);
        const ids = [
          [1, 5],
          [0, 2],
        ];
        expectClose(loaded.unroll(ids).y.data, net.unroll(ids).y.data, 'y', 0, 0);
      }
    });

    it('an ambiguous file is a StateDictError listing the candidates; the names with strict: false resolve it', async () => {
      const dict = (await RNN.create(options)).stateDict();
      const twoHeads = safetensors({
        ...dict,
        'fc2.weight': { data: randomArray(20, 1), shape: [5, 4] },
        'fc2.bias': { data: randomArray(5, 2), shape: [5] },
      });
      await expect(RNN.fromSafetensors(twoHeads, { backend })).rejects.toThrow(StateDictError);
      await expect(RNN.fromSafetensors(twoHeads, { backend })).rejects.toThrow(/"fc", "fc2"/);
      const twoEmbeddings = safetensors({ ...dict, 'emb2.weight': { data: randomArray(21, 3), shape: [7, 3] } });
      await expect(RNN.fromSafetensors(twoEmbeddings, { backend })).rejects.toThrow(/ambiguous embedding: "emb.weight", "emb2.weight"/);
      // A model has one head: the other candidate's tensors are refused by name, unless strict: false leaves them out.
      await expect(RNN.fromSafetensors(twoHeads, { backend, names: { head: 'fc' } })).rejects.toThrow(
        /unexpected tensors "fc2.weight", "fc2.bias".*strict: false/,
      );
      const head = await RNN.fromSafetensors(twoHeads, { backend, names: { head: 'fc' }, strict: false });
      expectSameDict(head.stateDict(), dict);
      const embedding = await RNN.fromSafetensors(twoEmbeddings, { backend, names: { embedding: 'emb' }, strict: false });
      expectSameDict(embedding.stateDict(), dict);
    });
  });
});
