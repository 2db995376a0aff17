/**
 * Bad input gets a typed error that names the problem, and leaves the model as it was.
 */
import { describe, expect, it } from 'vitest';
import { DisposedError, MemoryLimitError, NonFiniteError, OptionError, RNN, ShapeError, StateDictError } from '../src/index.js';
import { firstNonFinite } from '../src/tensor.js';
import { BACKENDS } from './helpers.js';

describe.each(BACKENDS)('errors [%s]', (backend) => {
  const create = () => RNN.create({ inputSize: 2, hiddenSize: 3, outputSize: 1, seed: 1, backend });
  const seq = [[[0.1, 0.2]], [[0.3, 0.4]]]; // [T=2, B=1, I=2]

  it('rejects unknown and invalid options with their names', async () => {
    await expect(RNN.create({ inputSize: 2, hiddenSize: 3, hiddenSzie: 4 } as never)).rejects.toThrow(/unknown option 'hiddenSzie'/);
    await expect(RNN.create({ inputSize: 0, hiddenSize: 3 })).rejects.toThrow(OptionError);
    await expect(RNN.create({ inputSize: 2, hiddenSize: 2.5 })).rejects.toThrow(/hiddenSize must be a positive integer/);
    await expect(RNN.create({ inputSize: 2, hiddenSize: 3, nonlinearity: 'sigmoid' as never })).rejects.toThrow(
      /nonlinearity must be one of/,
    );
    await expect(RNN.create({ inputSize: 2, hiddenSize: 3, cell: 'transformer' as never })).rejects.toThrow(
      /cell must be one of 'rnn', 'lstm', 'gru'/,
    );
    await expect(RNN.create({ inputSize: 2, hiddenSize: 3, cell: 'lstm', resetAfter: false })).rejects.toThrow(
      /resetAfter applies to 'gru' cells only, not 'lstm'/,
    );
    await expect(RNN.create({ inputSize: 2, hiddenSize: 3, recurrentActivation: 'hard_sigmoid' })).rejects.toThrow(
      /recurrentActivation is the gates' function; an 'rnn' cell has no gates/,
    );
    await expect(RNN.create({ inputSize: 2, hiddenSize: 3, mergeMode: 'sum' })).rejects.toThrow(/mergeMode 'sum' joins two directions/);
    await expect(RNN.create({ inputSize: 2, hiddenSize: 3, stack: [{ hiddenSize: 2, name: 'rnn' }] })).rejects.toThrow(
      /stack\[0\]\.name 'rnn' is already another part's module name/,
    );
    await expect(RNN.create({ inputSize: 2, hiddenSize: 3, stack: [{ hiddenSize: 0 }] })).rejects.toThrow(/stack\[0\]\.hiddenSize must be/);
    await expect(RNN.create({ inputSize: 2, hiddenSize: 3, headActivation: 'softmax' })).rejects.toThrow(/needs a head/);
    const net = await create();
    expect(() => net.unroll(seq, { h1: [] } as never)).toThrow(/unroll: unknown option 'h1'/);
    expect(() => net.step(seq, [[1]], { optimizer: { kind: 'sgd', lr: -1 } })).toThrow(/optimizer.lr/);
    expect(() => net.step(seq, [[1]], { optimizer: { kind: 'adam', momentum: 0.9 } as never })).toThrow(/unknown option 'momentum'/);
    expect(() => net.step(seq, [[1]], { clipGradNorm: 0 })).toThrow(/clipGradNorm/);
  });

  it('rejects wrong shapes, naming expected and actual', async () => {
    const net = await create();
    expect(() => net.unroll([[[0.1, 0.2, 0.3]]])).toThrow(/input: expected shape \[d0, d1, 2\], got \[1, 1, 3\]/);
    expect(() => net.unroll({ data: new Float32Array(5), shape: [2, 1, 2] })).toThrow(/holds 4 values but data has 5/);
    expect(() => net.unroll([[[0.1, 0.2]], [[0.3]]])).toThrow(ShapeError);
    expect(() => net.unroll(seq, { h0: [[[0, 0]]] })).toThrow(/h0: expected shape \[1, 1, 3\]/);
    expect(() => net.gradients(seq, [[[1]], [[1]], [[1]]])).toThrow(/target: expected shape \[2, 1, 1\]/);
    expect(() => net.gradients(seq, [[1], [2]], { loss: 'cross_entropy' })).toThrow(/target: expected shape \[2, 1\]|class ids/);
    expect(() => net.gradients(seq, [1], { loss: 'cross_entropy' })).toThrow(/class ids must be integers in \[0, 1\)/);
    expect(() => net.cell([0.1, 0.2] as never)).toThrow(/input: expected shape \[d0, 2\], got \[2\]/);
  });

  it('rejects NaN and infinity in inputs, targets and weights without changing the model', async () => {
    const net = await create();
    const before = net.stateDict();
    expect(() => net.unroll([[[NaN, 0]], [[0, 0]]])).toThrow(NonFiniteError);
    expect(() => net.step(seq, [[[Infinity]], [[0]]])).toThrow(/target: element 0 is Infinity/);
    const poisoned = { ...before, 'head.bias': { data: new Float32Array([NaN]), shape: [1] } };
    expect(() => net.loadStateDict(poisoned)).toThrow(/'head.bias' element 0 is NaN/);
    expect(net.stateDict()).toEqual(before);
  });

  it("rejects NaN and infinity in cell's input and state, naming the tensor and element, writing nothing", async () => {
    const net = await create();
    const out = { output: new Float32Array(3), y: new Float32Array(1), h: new Float32Array(3) };
    const h = { data: new Float32Array([0.5, -0.25, 0]), shape: [1, 1, 3] };
    expect(() => net.cell([[NaN, 0]], { h }, { out })).toThrow(new NonFiniteError('input: element 0 is NaN; inputs must be finite'));
    expect(() => net.cell([[0, 1e39]], { h }, { out })).toThrow(/input: element 1 is Infinity/); // beyond float32
    h.data[2] = -Infinity;
    expect(() => net.cell([[0, 0]], { h }, { out })).toThrow(/^h: element 2 is -Infinity/);
    expect([...out.output, ...out.y, ...out.h]).toEqual([0, 0, 0, 0, 0, 0, 0]);
    h.data[2] = 0;
    const expected = net.cell([[0.1, 0.2]], { h }).y.data;
    expect(net.cell([[0.1, 0.2]], { h }, { out }).y.data).toEqual(expected);

    const lstm = await RNN.create({ cell: 'lstm', inputSize: 2, hiddenSize: 3, numLayers: 2, seed: 1, backend });
    const state = { h: { data: new Float32Array(6), shape: [2, 1, 3] }, c: { data: new Float32Array(6), shape: [2, 1, 3] } };
    state.c.data[4] = NaN;
    expect(() => lstm.cell([[0, 0]], state)).toThrow(/^c: element 4 is NaN/);
    state.c.data[4] = 0;
    expect(lstm.cell([[0, 0]], state).c?.data.every(Number.isFinite)).toBe(true);
  });

  it('rejects incomplete, unknown or misshapen state dicts without writing any of it', async () => {
    const net = await create();
    const before = net.stateDict();
    const zeros = Object.fromEntries(
      Object.entries(before).map(([k, t]) => [k, { data: new Float32Array(t.data.length), shape: t.shape }]),
    );
    const { 'head.bias': _, ...missing } = zeros;
    expect(() => net.loadStateDict(missing)).toThrow(StateDictError);
    expect(() => net.loadStateDict(missing)).toThrow(/missing head.bias/);
    expect(() => net.loadStateDict({ ...zeros, 'rnn.weight_ih_l1': zeros['rnn.weight_ih_l0'] })).toThrow(
      /unknown parameter 'rnn.weight_ih_l1'/,
    );
    expect(() => net.loadStateDict({ ...zeros, 'rnn.weight_hh_l0': { data: new Float32Array(6), shape: [3, 2] } })).toThrow(
      /should have shape \[3, 3\], got \[3, 2\]/,
    );
    expect(() => net.loadStateDict({ ...zeros, weight_hh_l0: zeros['rnn.weight_hh_l0'] })).toThrow(/given twice/);
    expect(net.stateDict()).toEqual(before);
  });

  it('refuses a step whose gradients overflow, leaving weights and optimizer state as they were', async () => {
    const net = await RNN.create({ inputSize: 1, hiddenSize: 2, outputSize: 1, nonlinearity: 'relu', seed: 1, backend });
    net.loadStateDict({
      weight_ih_l0: [[1e30], [1e30]],
      weight_hh_l0: [
        [0, 0],
        [0, 0],
      ],
      bias_ih_l0: [0, 0],
      bias_hh_l0: [0, 0],
      'head.weight': [[1e30, 1e30]],
      'head.bias': [0],
    });
    const before = net.stateDict();
    expect(() => net.step([[[1]]], [[0]], { optimizer: { kind: 'sgd', lr: 0.1 } })).toThrow(NonFiniteError);
    expect(net.stateDict()).toEqual(before);
  });

  it('refuses bidirectional streaming and impossible generation', async () => {
    const bidir = await RNN.create({ inputSize: 2, hiddenSize: 3, bidirectional: true, backend });
    expect(() => bidir.cell([[0, 0]])).toThrow(/bidirectional model needs the whole sequence/);
    const net = await create();
    expect(() => net.generate(seq, { steps: 3 })).toThrow(/outputSize = inputSize/);
    expect(() => net.generate(seq, { steps: 0 })).toThrow(/generate.steps must be a positive integer/);
  });

  it('throws DisposedError after dispose()', async () => {
    const net = await create();
    net.dispose();
    expect(net.disposed).toBe(true);
    expect(() => net.unroll(seq)).toThrow(DisposedError);
    expect(() => net.stateDict()).toThrow(DisposedError);
    await expect(net.train([{ input: [[0, 0]], target: [0] }])).rejects.toThrow(DisposedError);
  });

  it('reports sizes past addressable memory as MemoryLimitError', async () => {
    await expect(RNN.create({ inputSize: 1, hiddenSize: 40000, numLayers: 2, backend })).rejects.toThrow(MemoryLimitError);
    const net = await create();
    expect(() => net.unroll({ data: new Float32Array(2), shape: [1, 1, 2] })).not.toThrow();
  });
});

describe('firstNonFinite', () => {
  it('finds the first NaN or infinity wherever it is, and nothing among finite values however large', () => {
    for (const n of [1, 3, 4, 5, 17, 1000]) {
      expect(firstNonFinite(new Float32Array(n).fill(3e38)), `${n} large finite values`).toBe(-1);
      for (const at of new Set([0, n >> 1, n - 1])) {
        for (const bad of [NaN, Infinity, -Infinity]) {
          const data = new Float32Array(n).fill(-1.5);
          data[at] = bad;
          if (at + 1 < n) data[n - 1] = NaN; // a later one is not the first
          expect(firstNonFinite(data), `${bad} at ${at} of ${n}`).toBe(at);
        }
      }
    }
    expect(firstNonFinite(new Float32Array(0))).toBe(-1);
  });
});
