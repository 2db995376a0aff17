/**
 * The public API's promises beyond single numbers: cell streams what unroll computes, batch-first is the
 * same model transposed, train lowers the loss reproducibly, generate feeds outputs back, and state dicts
 * round-trip under both namings.
 */
import { describe, expect, it } from 'vitest';
import { type CellResult, RNN, type Sample, type Tensor } from '../src/index.js';
import { BACKENDS, expectClose, randomArray } from './helpers.js';

describe.each(BACKENDS)('api [%s]', (backend) => {
  it.each(['rnn', 'lstm', 'gru'] as const)('%s: cell, stepped over a sequence, reproduces unroll', async (cell) => {
    const net = await RNN.create({ cell, inputSize: 3, hiddenSize: 6, numLayers: 2, outputSize: 2, seed: 1, backend });
    const T = 5,
      B = 2;
    const input: Tensor = { data: randomArray(T * B * 3, 1), shape: [T, B, 3] };
    const whole = net.unroll(input);
    let state: CellResult | undefined;
    for (let t = 0; t < T; t++) {
      state = net.cell({ data: input.data.subarray(t * B * 3, (t + 1) * B * 3), shape: [B, 3] }, state);
      expectClose(state.y.data, whole.y.data.subarray(t * B * 2, (t + 1) * B * 2), `y at step ${t}`, 0, 1e-6);
    }
    expectClose(state!.h.data, whole.hN.data, 'final state', 0, 1e-6);
    if (cell === 'lstm') expectClose(state!.c!.data, whole.cN!.data, 'final cell state', 0, 1e-6);
    else expect(state!.c).toBeUndefined();
    net.dispose();
  });

  it('batchFirst is the same model with the first two axes swapped', async () => {
    const options = { inputSize: 2, hiddenSize: 5, bidirectional: true, outputSize: 3, seed: 2, backend } as const;
    const timeMajor = await RNN.create(options);
    const batchFirst = await RNN.create({ ...options, batchFirst: true });
    const T = 4,
      B = 3;
    const nested = Array.from({ length: T }, (_, t) => Array.from({ length: B }, (_, b) => [t + b / 10, t * b - 1]));
    const swapped = Array.from({ length: B }, (_, b) => nested.map((step) => step[b]));
    const a = timeMajor.unroll(nested);
    const b = batchFirst.unroll(swapped);
    expect(b.y.shape).toEqual([B, T, 3]);
    for (let t = 0; t < T; t++) {
      for (let col = 0; col < B; col++) {
        expectClose(
          b.y.data.subarray((col * T + t) * 3, (col * T + t + 1) * 3),
          a.y.data.subarray((t * B + col) * 3, (t * B + col + 1) * 3),
          `y[${t}][${col}]`,
          0,
          0,
        );
      }
    }
    expectClose(b.hN.data, a.hN.data, 'h_n', 0, 0);
  });

  it('train lowers the loss on a learnable task, and the same seed gives the same history', async () => {
    // Many-to-one: the sum of a short sequence, with lengths 3 to 6 so that batches come from several buckets.
    const data: Sample[] = Array.from({ length: 48 }, (_, i) => {
      const T = 3 + (i % 4);
      const input = Array.from({ length: T }, (_, t) => [Math.sin(i * 1.7 + t * 2.3) * 0.5]);
      return { input, target: [input.reduce((s, [v]) => s + v, 0)] };
    });
    const run = async () => {
      const net = await RNN.create({ inputSize: 1, hiddenSize: 8, outputSize: 1, seed: 5, backend });
      const progress: number[] = [];
      const history = await net.train(data, {
        epochs: 60,
        batchSize: 8,
        optimizer: { kind: 'adam', lr: 0.02 },
        seed: 9,
        onProgress: (p) => progress.push(p.epoch),
      });
      net.dispose();
      return { history, progress };
    };
    const first = await run();
    expect(first.history.loss).toHaveLength(60);
    expect(first.history.loss[59]).toBeLessThan(first.history.loss[0] / 20);
    expect(first.progress[0]).toBe(1);
    expect(first.progress.at(-1)).toBe(60);
    expect((await run()).history).toEqual(first.history);
  });

  it('generate feeds each prediction back and samples reproducibly', async () => {
    const regressor = await RNN.create({ cell: 'lstm', inputSize: 2, hiddenSize: 4, outputSize: 2, seed: 3, backend });
    const prompt = [[[0.1, 0.2]], [[0.3, -0.1]]];
    const g = regressor.generate(prompt, { steps: 3 });
    expect(g.y.shape).toEqual([3, 1, 2]);
    // The first generated value is the prediction after the prompt; each next one follows from feeding it back.
    const whole = regressor.unroll([...prompt, [Array.from(g.y.data.subarray(0, 2))], [Array.from(g.y.data.subarray(2, 4))]]);
    expectClose(g.y.data, whole.y.data.subarray(2), 'fed-back predictions', 0, 1e-6);

    const chars = await RNN.create({ cell: 'gru', inputSize: 5, hiddenSize: 8, outputSize: 5, seed: 4, backend });
    const start = [
      [
        [1, 0, 0, 0, 0],
        [0, 0, 1, 0, 0],
      ],
    ];
    const a = chars.generate(start, { steps: 20, sample: true, seed: 1 });
    const b = chars.generate(start, { steps: 20, sample: true, seed: 1 });
    expect(a.ids!.shape).toEqual([20, 2]);
    expect(Array.from(a.ids!.data)).toEqual(Array.from(b.ids!.data));
    expect(a.ids!.data.every((id) => id >= 0 && id < 5)).toBe(true);
    const greedy = chars.generate(start, { steps: 4, sample: true, temperature: 0 });
    for (let s = 0; s < 4; s++) {
      for (let col = 0; col < 2; col++) {
        const logits = Array.from(greedy.y.data.subarray((s * 2 + col) * 5, (s * 2 + col + 1) * 5));
        expect(greedy.ids!.data[s * 2 + col]).toBe(logits.indexOf(Math.max(...logits)));
      }
    }
  });

  it('evaluate gives the loss of gradients without touching gradients or weights', async () => {
    const net = await RNN.create({ cell: 'lstm', inputSize: 2, hiddenSize: 3, outputSize: 2, seed: 8, backend });
    const input = { data: randomArray(4 * 2 * 2, 5), shape: [4, 2, 2] };
    const target = { data: Float32Array.from([0, 1]), shape: [2] };
    const before = net.stateDict();
    expect(net.evaluate(input, target, { loss: 'cross_entropy', lengths: [4, 2] })).toBe(
      net.gradients(input, target, { loss: 'cross_entropy', lengths: [4, 2] }).loss,
    );
    expect(net.stateDict()).toEqual(before);
  });

  it('state dicts round-trip, with and without the rnn. prefix', async () => {
    const a = await RNN.create({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, outputSize: 2, seed: 1, backend });
    const b = await RNN.create({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, outputSize: 2, seed: 2, backend });
    const dict = a.stateDict();
    expect(Object.keys(dict)).toEqual([
      'rnn.weight_ih_l0',
      'rnn.weight_hh_l0',
      'rnn.bias_ih_l0',
      'rnn.bias_hh_l0',
      'rnn.weight_ih_l0_reverse',
      'rnn.weight_hh_l0_reverse',
      'rnn.bias_ih_l0_reverse',
      'rnn.bias_hh_l0_reverse',
      'rnn.weight_ih_l1',
      'rnn.weight_hh_l1',
      'rnn.bias_ih_l1',
      'rnn.bias_hh_l1',
      'rnn.weight_ih_l1_reverse',
      'rnn.weight_hh_l1_reverse',
      'rnn.bias_ih_l1_reverse',
      'rnn.bias_hh_l1_reverse',
      'head.weight',
      'head.bias',
    ]);
    expect(dict['rnn.weight_ih_l1'].shape).toEqual([4, 8]);
    const bare = Object.fromEntries(Object.entries(dict).map(([k, v]) => [k.replace(/^rnn\./, ''), v]));
    b.loadStateDict(bare);
    for (const [name, t] of Object.entries(b.stateDict())) expect(Array.from(t.data)).toEqual(Array.from(dict[name].data));
  });

  it('initialises like PyTorch: U(-1/√H, 1/√H), reproducible from the seed', async () => {
    const make = (seed: number) => RNN.create({ inputSize: 3, hiddenSize: 16, outputSize: 4, seed, backend });
    const [a, b, c] = await Promise.all([make(1), make(1), make(2)]);
    const weights = a.stateDict()['rnn.weight_hh_l0'].data;
    expect(Math.max(...weights.map(Math.abs))).toBeLessThanOrEqual(0.25);
    expect(Math.max(...weights.map(Math.abs))).toBeGreaterThan(0.2);
    expect(Array.from(b.stateDict()['rnn.weight_hh_l0'].data)).toEqual(Array.from(weights));
    expect(Array.from(c.stateDict()['rnn.weight_hh_l0'].data)).not.toEqual(Array.from(weights));
    expect(Math.max(...a.stateDict()['head.weight'].data.map(Math.abs))).toBeLessThanOrEqual(0.25);
    expect(a.numParameters).toBe(16 * 3 + 16 * 16 + 16 + 16 + 4 * 16 + 4);
  });
});

it('the default backend is the relaxed-SIMD build on an engine with relaxed SIMD (Node 20: the tests run with the flag)', async () => {
  const net = await RNN.create({ inputSize: 1, hiddenSize: 1 });
  expect(net.backend).toBe('wasm-relaxed');
});

describe.each(BACKENDS)('memory [%s]', (backend) => {
  it('grows for larger calls without disturbing weights or results, and reuses it after', async () => {
    const net = await RNN.create({ inputSize: 3, hiddenSize: 8, outputSize: 2, seed: 1, backend });
    const small: Tensor = { data: randomArray(2 * 3, 1), shape: [2, 1, 3] };
    const weights = net.stateDict();
    const before = net.unroll(small).y.data;
    // 300 steps × 64 columns needs megabytes of activations: far past the initial heap.
    const large: Tensor = { data: randomArray(300 * 64 * 3, 2), shape: [300, 64, 3] };
    expect(net.unroll(large).y.shape).toEqual([300, 64, 2]);
    expect(net.stateDict()).toEqual(weights);
    expect(net.unroll(small).y.data).toEqual(before);
    net.step(small, { data: new Float32Array(2 * 2), shape: [2, 1, 2] }, { optimizer: { kind: 'adam', lr: 0.01 } });
    expect(net.unroll(large).y.data.every(Number.isFinite)).toBe(true);
    net.dispose();
  });
});

describe.each(BACKENDS)('resuming [%s]', (backend) => {
  it.each([
    { kind: 'adam', lr: 0.01 },
    { kind: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true },
  ] as const)('N steps equal k steps, a copy of weights and optimizer state, then N - k steps, bit for bit ($kind)', async (optimizer) => {
    const options = { cell: 'lstm', inputSize: 2, hiddenSize: 5, outputSize: 1, seed: 4, backend } as const;
    const input: Tensor = { data: randomArray(6 * 3 * 2, 1), shape: [6, 3, 2] };
    const target: Tensor = { data: randomArray(3, 2), shape: [3, 1] };
    const straight = await RNN.create(options);
    for (let i = 0; i < 6; i++) straight.step(input, target, { optimizer });

    const first = await RNN.create(options);
    for (let i = 0; i < 2; i++) first.step(input, target, { optimizer });
    const resumed = await RNN.create({ ...options, seed: 99 });
    resumed.loadStateDict(first.stateDict());
    resumed.loadOptimizerState(first.optimizerState());
    first.dispose();
    for (let i = 0; i < 4; i++) resumed.step(input, target, { optimizer });

    expect(resumed.optimizerState()!.step).toBe(6);
    for (const [name, t] of Object.entries(straight.stateDict())) {
      expect(Array.from(resumed.stateDict()[name].data), name).toEqual(Array.from(t.data));
    }
  });
});
