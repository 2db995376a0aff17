/**
 * The training toolbox beyond single steps: learning-rate schedules against PyTorch's closed forms,
 * dropout, truncated BPTT against the hand-written loop, variable-length batching, validation and early
 * stopping.
 */
import { describe, expect, it } from 'vitest';
import { OptionError, RNN, type Sample, ShapeError, type Tensor } from '../src/index.js';
import { createSchedule } from '../src/schedules.js';
import { BACKENDS, expectClose, randomArray } from './helpers.js';

describe('learning-rate schedules follow PyTorch', () => {
  const lrs = (options: Parameters<typeof createSchedule>[0], epochs: number, metrics: number[] = []) => {
    const schedule = createSchedule(options, 0.1);
    return Array.from({ length: epochs }, (_, e) => {
      const lr = schedule.lr;
      schedule.step(metrics[e] ?? 0);
      return lr;
    });
  };
  const range = (n: number) => Array.from({ length: n }, (_, e) => e);

  it('StepLR: lr · γ^⌊e / stepSize⌋', () => {
    expectClose(
      lrs({ kind: 'step', stepSize: 3, gamma: 0.5 }, 40),
      range(40).map((e) => 0.1 * 0.5 ** Math.floor(e / 3)),
      'lr',
      1e-12,
      0,
    );
  });

  it('ExponentialLR: lr · γ^e', () => {
    expectClose(
      lrs({ kind: 'exponential', gamma: 0.9 }, 40),
      range(40).map((e) => 0.1 * 0.9 ** e),
      'lr',
      1e-12,
      0,
    );
  });

  it('CosineAnnealingLR: η_min + (lr − η_min)(1 + cos(π e / T_max)) / 2, periodic past T_max', () => {
    const expected = range(60).map((e) => 0.01 + ((0.1 - 0.01) * (1 + Math.cos((Math.PI * e) / 25))) / 2);
    expectClose(lrs({ kind: 'cosine', tMax: 25, etaMin: 0.01 }, 60), expected, 'lr', 1e-12, 1e-15);
  });

  it('LinearLR warm-up: from startFactor to endFactor over totalIters, then flat', () => {
    const expected = range(20).map((e) => 0.1 * (0.25 + (0.75 * Math.min(e, 8)) / 8));
    expectClose(lrs({ kind: 'linear', startFactor: 0.25, totalIters: 8 }, 20), expected, 'lr', 1e-12, 0);
  });

  it('ReduceLROnPlateau: reduces after `patience` bad epochs, honours cooldown and minLr', () => {
    // best 1 at epoch 0; epochs 1–3 are bad; the third exceeds patience 2 → ×0.5.
    expect(lrs({ kind: 'plateau', patience: 2, factor: 0.5 }, 9, [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5])).toEqual([
      0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025,
    ]);
    // Cooldown 2: the two epochs after a reduction do not count as bad.
    expect(lrs({ kind: 'plateau', patience: 0, factor: 0.5, cooldown: 2 }, 7, [1, 1, 1, 1, 1, 1, 1])).toEqual([
      0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025,
    ]);
    expectClose(lrs({ kind: 'plateau', patience: 0, factor: 0.1, minLr: 0.004 }, 4, [1, 2, 3, 4]), [0.1, 0.1, 0.01, 0.004], 'lr', 1e-12, 0);
    // A relative threshold: 1e-4 below the best is not an improvement.
    expect(lrs({ kind: 'plateau', patience: 0, factor: 0.5 }, 3, [1, 0.99995, 0.5])).toEqual([0.1, 0.1, 0.05]);
  });

  it('rejects unknown schedules and options', () => {
    expect(() => createSchedule({ kind: 'onecycle' } as never, 0.1)).toThrow(/schedule.kind must be one of/);
    expect(() => createSchedule({ kind: 'step', stepSize: 3, gama: 0.5 } as never, 0.1)).toThrow(/unknown option 'gama'/);
    expect(() => createSchedule({ kind: 'step', stepSize: 0 }, 0.1)).toThrow(/stepSize must be a positive integer/);
  });
});

describe.each(BACKENDS)('dropout [%s]', (backend) => {
  const options = { cell: 'gru', inputSize: 3, hiddenSize: 6, numLayers: 3, outputSize: 2, seed: 2, backend } as const;
  const input: Tensor = { data: randomArray(5 * 2 * 3, 1), shape: [5, 2, 3] };
  const target: Tensor = { data: randomArray(5 * 2 * 2, 2), shape: [5, 2, 2] };

  it('is exactly the identity in inference', async () => {
    const withDropout = await RNN.create({ ...options, dropout: 0.5 });
    const without = await RNN.create(options);
    expect(Array.from(withDropout.unroll(input).y.data)).toEqual(Array.from(without.unroll(input).y.data));
    expect(withDropout.unroll(input, { training: true }).y.data).not.toEqual(without.unroll(input).y.data);
  });

  it('draws its masks from the model generator: reproducible from its state, different without', async () => {
    const net = await RNN.create({ ...options, dropout: 0.3 });
    const state = net.generatorState;
    const a = net.gradients(input, target);
    const b = net.gradients(input, target);
    net.generatorState = state;
    const again = net.gradients(input, target);
    expect(again.loss).toBe(a.loss);
    expect(Array.from(again.grads['rnn.weight_ih_l2'].data)).toEqual(Array.from(a.grads['rnn.weight_ih_l2'].data));
    expect(b.loss).not.toBe(a.loss);
  });

  it('preserves the mean: averaged over masks, the output matches inference within a statistical bound', async () => {
    // Two ReLU layers with non-negative weights and no recurrence in the top one: the top layer is linear in
    // its input, so E[y] under dropout equals y without it exactly, and the average converges to it.
    const net = await RNN.create({ inputSize: 2, hiddenSize: 4, numLayers: 2, nonlinearity: 'relu', outputSize: 1, dropout: 0.4, backend });
    const dict = net.stateDict();
    const positive = (t: Tensor) => ({ data: t.data.map((v) => Math.abs(v)), shape: t.shape });
    net.loadStateDict({
      ...Object.fromEntries(Object.entries(dict).map(([k, t]) => [k, positive(t)])),
      'rnn.weight_hh_l1': { data: new Float32Array(16), shape: [4, 4] },
    });
    const x = [[[0.5, 1]], [[1, 0.25]]];
    const exact = net.unroll(x).y.data[1];
    const draws = 4000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < draws; i++) {
      const y = net.unroll(x, { training: true }).y.data[1];
      sum += y;
      sumSq += y * y;
    }
    const mean = sum / draws;
    const standardError = Math.sqrt((sumSq / draws - mean * mean) / draws);
    expect(standardError).toBeGreaterThan(0);
    expect(Math.abs(mean - exact)).toBeLessThan(5 * standardError);
  });

  it('has exact gradients under a fixed mask (finite differences)', async () => {
    const net = await RNN.create({ ...options, cell: 'lstm', dropout: 0.5 });
    const state = net.generatorState;
    const lossAt = () => {
      net.generatorState = state; // the same masks every time
      return net.gradients(input, target).loss;
    };
    net.generatorState = state;
    const analytic = net.gradients(input, target);
    const params = net.stateDict();
    for (const name of ['rnn.weight_ih_l0', 'rnn.weight_hh_l1', 'rnn.bias_ih_l2', 'head.weight']) {
      const tensor = params[name].data;
      for (const i of [0, tensor.length - 1]) {
        const saved = tensor[i];
        tensor[i] = saved + 1e-2;
        net.loadStateDict(params);
        const plus = lossAt();
        tensor[i] = saved - 1e-2;
        net.loadStateDict(params);
        const minus = lossAt();
        tensor[i] = saved;
        net.loadStateDict(params);
        const numeric = (plus - minus) / 2e-2;
        expect(Math.abs(analytic.grads[name].data[i] - numeric), `${name}[${i}]`).toBeLessThan(1e-3 + 1e-2 * Math.abs(numeric));
      }
    }
  });

  it('refuses dropout that would do nothing', async () => {
    await expect(RNN.create({ inputSize: 1, hiddenSize: 2, dropout: 0.5, backend })).rejects.toThrow(/numLayers 1/);
    await expect(RNN.create({ inputSize: 1, hiddenSize: 2, numLayers: 2, dropout: 1, backend })).rejects.toThrow(
      /dropout must be a finite number in \[0, 1\)/,
    );
  });
});

describe.each(BACKENDS)('train [%s]', (backend) => {
  it('truncated BPTT equals the hand-written loop of step() over the same chunks, carrying the state', async () => {
    const options = { cell: 'lstm', inputSize: 2, hiddenSize: 5, outputSize: 2, seed: 6, backend } as const;
    const T = 11,
      B = 3,
      k = 4;
    const streams: Sample[] = Array.from({ length: B }, (_, b) => ({
      input: Array.from({ length: T }, (_, t) => [Math.sin(t + b), Math.cos(2 * t - b)]),
      target: Array.from({ length: T }, (_, t) => [Math.sin(t + b + 1), 0.5]),
    }));
    const optimizer = { kind: 'adam', lr: 0.01 } as const;
    const trained = await RNN.create(options);
    const losses: number[] = [];
    await trained.train(streams, { tbptt: k, batchSize: B, epochs: 2, shuffle: false, optimizer, onProgress: (p) => losses.push(p.loss) });

    const byHand = await RNN.create(options);
    const timeMajor = (pick: (s: Sample) => number[][], width: number, t0: number, t1: number) => ({
      data: Float32Array.from({ length: (t1 - t0) * B * width }, (_, i) => {
        const t = t0 + Math.floor(i / (B * width));
        const b = Math.floor(i / width) % B;
        return pick(streams[b])[t][i % width];
      }),
      shape: [t1 - t0, B, width],
    });
    const handLosses: number[] = [];
    for (let epoch = 0; epoch < 2; epoch++) {
      let state: { hN: Tensor; cN?: Tensor } | undefined;
      for (let t0 = 0; t0 < T; t0 += k) {
        const t1 = Math.min(T, t0 + k);
        const r = byHand.step(
          timeMajor((s) => s.input as number[][], 2, t0, t1),
          timeMajor((s) => s.target as number[][], 2, t0, t1),
          { optimizer, h0: state?.hN, c0: state?.cN },
        );
        handLosses.push(r.loss);
        state = r;
      }
    }
    expect(losses).toEqual(handLosses);
    expect(losses).toHaveLength(2 * Math.ceil(T / k));
    for (const [name, t] of Object.entries(byHand.stateDict())) {
      expect(Array.from(trained.stateDict()[name].data), name).toEqual(Array.from(t.data));
    }
  });

  it('batches sequences of different lengths with padding, exactly as step() with lengths', async () => {
    const options = { cell: 'gru', inputSize: 1, hiddenSize: 4, outputSize: 1, seed: 3, backend } as const;
    const lengths = [3, 6, 4, 6];
    const data: Sample[] = lengths.map((T, b) => ({
      input: Array.from({ length: T }, (_, t) => [Math.sin(t * 0.7 + b)]),
      target: [b / 4], // many-to-one: each sequence's own last step
    }));
    const optimizer = { kind: 'sgd', lr: 0.1 } as const;
    const trained = await RNN.create(options);
    const history = await trained.train(data, { batchSize: 4, epochs: 1, shuffle: false, optimizer });

    // The same batch by hand: sorted by length (3, 4, 6, 6), padded to 6.
    const order = [0, 2, 1, 3];
    const byHand = await RNN.create(options);
    const input = Array.from({ length: 6 }, (_, t) => order.map((b) => [t < lengths[b] ? Math.sin(t * 0.7 + b) : 0]));
    const r = byHand.step(
      input,
      order.map((b) => [b / 4]),
      { optimizer, lengths: order.map((b) => lengths[b]) },
    );
    expect(history.loss[0]).toBe(r.loss);
    for (const [name, t] of Object.entries(byHand.stateDict())) {
      expect(Array.from(trained.stateDict()[name].data), name).toEqual(Array.from(t.data));
    }
  });

  it('validates, records the history, stops early and restores the best weights', async () => {
    const net = await RNN.create({ inputSize: 1, hiddenSize: 6, outputSize: 1, seed: 1, backend });
    const make = (sign: number) =>
      Array.from({ length: 16 }, (_, i): Sample => {
        const input = Array.from({ length: 5 }, (_, t) => [Math.sin(i + t)]);
        return { input, target: [sign * input[4][0]] };
      });
    // Validation wants the opposite of training: the better training gets, the worse validation becomes.
    const snapshots: Record<number, ReturnType<RNN['stateDict']>> = {};
    const history = await net.train(make(1), {
      epochs: 30,
      batchSize: 4,
      optimizer: { kind: 'adam', lr: 0.02 },
      schedule: { kind: 'exponential', gamma: 0.9 },
      validationData: make(-1),
      earlyStopping: { patience: 3 },
      onEpoch: (record) => {
        snapshots[record.epoch] = net.stateDict();
      },
    });
    expect(history.stoppedEarly).toBe(true);
    expect(history.epochs.length).toBe(history.bestEpoch! + 3);
    expect(history.valLoss).toHaveLength(history.epochs.length);
    const bestVal = Math.min(...history.valLoss);
    expect(history.valLoss[history.bestEpoch! - 1]).toBe(bestVal);
    expectClose(
      history.lr,
      history.epochs.map((_, e) => 0.02 * 0.9 ** e),
      'lr',
      1e-12,
      0,
    );
    expect(history.gradNorm.every((g) => g > 0)).toBe(true);
    expect(net.stateDict()).toEqual(snapshots[history.bestEpoch!]);
  });

  it('holds out the last samples with validationSplit, and rejects impossible options', async () => {
    const net = await RNN.create({ inputSize: 1, hiddenSize: 3, outputSize: 1, backend });
    const data = Array.from({ length: 10 }, (_, i): Sample => ({ input: [[i / 10], [0]], target: [[0], [i / 10]] }));
    const history = await net.train(data, { validationSplit: 0.3, epochs: 2 });
    expect(history.valLoss).toHaveLength(2);
    await expect(net.train(data, { validationSplit: 1.5 })).rejects.toThrow(OptionError);
    await expect(net.train(data, { validationSplit: 0.01 })).rejects.toThrow(/leaves 10 to train and 0 to validate/);
    await expect(net.train(data, { tbptt: 1, epochs: 1, loss: 'mse' })).resolves.toBeDefined();
    await expect(net.train([{ input: [[1], [2]], target: [1] }], { tbptt: 1 })).rejects.toThrow(/tbptt needs a target at every step/);
    await expect(net.train([...data, { input: [[1]], target: [1] }])).rejects.toThrow(ShapeError);
  });
});
