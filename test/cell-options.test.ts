/**
 * The cell options other formats need, at the level of the model, on every backend: each one against what it
 * means in terms of a model without it (reading backwards is the forward model on each column's reversed steps;
 * a merge is the concatenating model's halves joined; a stack is its cores run one after the other; a head's
 * activation is the function on the linear head's output), gradients included where they can be compared, and
 * the derivative of the loss along the gradient for what has no such twin. The kernels themselves are checked
 * against float64 references in kernels-variants.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { OptionError, RNN, type RNNOptions, type Tensor, type TensorInput } from '../src/index.js';
import { BACKENDS, expectClose, randomArray } from './helpers.js';

const T = 5;
const B = 3;
const I = 2;
const lengths = [5, 3, 1];
const x = { data: randomArray(T * B * I, 7), shape: [T, B, I] };

/** Each column's first `len` steps in reverse order, the padding after them left zero. */
function reversedSteps(t: { data: Float32Array; shape: readonly number[] }, lens: readonly number[]): Float32Array {
  const [, batch, width] = t.shape;
  const out = new Float32Array(t.data.length);
  for (let b = 0; b < batch; b++) {
    for (let s = 0; s < lens[b]; s++) {
      const from = ((lens[b] - 1 - s) * batch + b) * width;
      out.set(t.data.subarray(from, from + width), (s * batch + b) * width);
    }
  }
  return out;
}

/** (L(θ + εg) − L(θ − εg)) / 2ε against |g|²: the gradient is the loss's derivative along itself. */
function expectDerivativeAlongGradient(net: RNN, input: TensorInput, target: TensorInput, options: { lengths?: number[] } = {}): void {
  const { grads } = net.gradients(input, target, options);
  const theta = net.stateDict();
  let norm2 = 0;
  for (const g of Object.values(grads)) for (const v of g.data) norm2 += v * v;
  expect(norm2).toBeGreaterThan(0);
  const eps = 1e-3 / Math.sqrt(norm2);
  const at = (sign: number) => {
    net.loadStateDict(
      Object.fromEntries(
        Object.entries(theta).map(([n, t]) => [n, { data: t.data.map((v, i) => v + sign * eps * grads[n].data[i]), shape: t.shape }]),
      ),
    );
    return net.evaluate(input, target, options);
  };
  const slope = (at(1) - at(-1)) / (2 * eps);
  net.loadStateDict(theta);
  expect(Math.abs(slope - norm2) / norm2, `slope ${slope} vs |g|² ${norm2}`).toBeLessThan(0.03);
}

describe.each(BACKENDS)('cell options [%s]', (backend) => {
  const base = { inputSize: I, hiddenSize: 4, seed: 11, backend } satisfies RNNOptions;

  it.each(['rnn', 'lstm', 'gru'] as const)(
    'goBackwards (%s) is the forward model on each column reversed, gradients included',
    async (cell) => {
      const backwards = await RNN.create({ ...base, cell, goBackwards: true, outputSize: 2 });
      const forwards = await RNN.create({ ...base, cell, outputSize: 2 });
      forwards.loadStateDict(backwards.stateDict());
      const reversed = { data: reversedSteps(x, lengths), shape: x.shape };
      const a = backwards.unroll(x, { lengths });
      const b = forwards.unroll(reversed, { lengths });
      expect(a.y.data).toEqual(b.y.data);
      expect(a.hN.data).toEqual(b.hN.data);
      const target = { data: randomArray(T * B * 2, 3), shape: [T, B, 2] };
      const ga = backwards.gradients(x, target, { lengths });
      const gb = forwards.gradients(reversed, target, { lengths });
      expect(ga.loss).toBe(gb.loss);
      for (const name of Object.keys(ga.grads)) expect(ga.grads[name].data, name).toEqual(gb.grads[name].data);
      expect(ga.input!.data).toEqual(reversedSteps(gb.input as { data: Float32Array; shape: number[] }, lengths));
      backwards.dispose();
      forwards.dispose();
    },
  );

  it.each(['rnn', 'lstm', 'gru'] as const)("reverse (%s) is a bidirectional model's reverse half alone", async (cell) => {
    const reverse = await RNN.create({ ...base, cell, reverse: true, numLayers: 1 });
    const both = await RNN.create({ ...base, cell, bidirectional: true });
    const dict = both.stateDict();
    reverse.loadStateDict(
      Object.fromEntries(Object.entries(dict).flatMap(([n, t]) => (n.endsWith('_reverse') ? [[n.replace('_reverse', ''), t]] : []))),
    );
    const a = reverse.unroll(x, { lengths });
    const b = both.unroll(x, { lengths });
    for (let r = 0; r < T * B; r++)
      expect([...a.output.data.subarray(r * 4, r * 4 + 4)]).toEqual([...b.output.data.subarray(r * 8 + 4, r * 8 + 8)]);
    expect([...a.hN.data]).toEqual([...b.hN.data.subarray(B * 4)]);
    expectDerivativeAlongGradient(reverse, x, { data: randomArray(T * B * 4, 8), shape: [T, B, 4] }, { lengths });
    expect(() => reverse.cell([[0, 0]])).toThrow(OptionError);
    await expect(RNN.create({ ...base, reverse: true, bidirectional: true })).rejects.toThrow(/reverse runs one direction alone/);
    reverse.dispose();
    both.dispose();
  });

  it.each(['sum', 'ave', 'mul'] as const)("mergeMode '%s' joins the concatenating model's two halves", async (mergeMode) => {
    const merged = await RNN.create({ ...base, cell: 'gru', bidirectional: true, numLayers: 2, mergeMode, outputSize: 3, headOn: 'final' });
    const concat = await RNN.create({ ...base, cell: 'gru', bidirectional: true, numLayers: 2 });
    const dict = merged.stateDict();
    concat.loadStateDict(Object.fromEntries(Object.entries(dict).filter(([n]) => !n.startsWith('head.'))));
    const join = { sum: (a: number, b: number) => a + b, ave: (a: number, b: number) => (a + b) / 2, mul: (a: number, b: number) => a * b }[
      mergeMode
    ];
    const halves = concat.unroll(x, { lengths }).output;
    const features = merged.unroll(x, { lengths }).output;
    expect(features.shape).toEqual([T, B, 4]);
    const expected = new Float32Array(T * B * 4);
    for (let r = 0; r < T * B; r++)
      for (let h = 0; h < 4; h++) expected[r * 4 + h] = join(halves.data[r * 8 + h], halves.data[r * 8 + 4 + h]);
    expectClose(features.data, expected, 'merged output', 1e-6, 1e-7);
    // The head on the final states reads merge(forward's last step, reverse's first): the states hN holds.
    const { hN, y } = merged.unroll(x, { lengths });
    const final = new Float32Array(B * 4);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < 4; h++) final[b * 4 + h] = join(hN.data[2 * B * 4 + b * 4 + h], hN.data[3 * B * 4 + b * 4 + h]);
    const W = dict['head.weight'];
    const bias = dict['head.bias'];
    for (let b = 0; b < B; b++) {
      for (let o = 0; o < 3; o++) {
        let z = bias.data[o];
        for (let h = 0; h < 4; h++) z += W.data[o * 4 + h] * final[b * 4 + h];
        expect(y.data[b * 3 + o]).toBeCloseTo(z, 5);
      }
    }
    expectDerivativeAlongGradient(merged, x, { data: randomArray(B * 3, 4), shape: [B, 3] }, { lengths });
    merged.dispose();
    concat.dispose();
  });

  it('a stack of differing cores is its cores run one after the other', async () => {
    const stacked = await RNN.create({
      ...base,
      cell: 'lstm',
      recurrentActivation: 'hard_sigmoid',
      stack: [{ cell: 'gru', hiddenSize: 3, resetAfter: false, nonlinearity: 'relu', name: 'second' }],
      outputSize: 2,
      headActivation: 'tanh',
    });
    expect(Object.keys(stacked.stateDict())).toContain('second.weight_hh_l0');
    const first = await RNN.create({ ...base, cell: 'lstm', recurrentActivation: 'hard_sigmoid' });
    const second = await RNN.create({
      inputSize: 4,
      hiddenSize: 3,
      cell: 'gru',
      resetAfter: false,
      nonlinearity: 'relu',
      outputSize: 2,
      backend,
    });
    const dict = stacked.stateDict();
    const part = (prefix: string, rename: string) =>
      Object.fromEntries(
        Object.entries(dict).flatMap(([n, t]) => (n.startsWith(`${prefix}.`) ? [[`${rename}.${n.slice(prefix.length + 1)}`, t]] : [])),
      );
    first.loadStateDict(part('rnn', 'rnn'));
    second.loadStateDict({ ...part('second', 'rnn'), ...part('head', 'head') });
    const run = stacked.unroll(x, { lengths });
    const middle = first.unroll(x, { lengths }).output;
    const chained = second.unroll(middle, { lengths });
    expectClose(run.y.data, chained.y.data.map(Math.tanh), 'stack vs chain', 1e-5, 1e-6);
    expect(run.hN.data).toEqual(chained.hN.data); // a stack's states are its last core's
    expectDerivativeAlongGradient(stacked, x, { data: randomArray(T * B * 2, 5), shape: [T, B, 2] }, { lengths });
    expect(() => stacked.unroll(x, { h0: chained.hN })).toThrow(OptionError);
    expect(() => stacked.cell([[0, 0]])).toThrow(/a model with a stack of cores needs the whole sequence/);
    const reloaded = await RNN.load(stacked.save(), { backend });
    expect(reloaded.unroll(x, { lengths }).y.data).toEqual(run.y.data);
    for (const net of [stacked, first, second, reloaded]) net.dispose();
  });

  it.each(['relu', 'tanh', 'sigmoid', 'softmax'] as const)(
    "headActivation '%s' is the function on the linear head's output",
    async (headActivation) => {
      const activated = await RNN.create({ ...base, cell: 'lstm', outputSize: 3, headActivation });
      const linear = await RNN.create({ ...base, cell: 'lstm', outputSize: 3 });
      linear.loadStateDict(activated.stateDict());
      const z = linear.unroll(x).y;
      const y = activated.unroll(x).y;
      const f = (row: Float32Array): Float32Array => {
        if (headActivation === 'softmax') {
          const m = Math.max(...row);
          const e = row.map((v) => Math.exp(v - m));
          const s = e.reduce((a, b) => a + b, 0);
          return e.map((v) => v / s);
        }
        return row.map(
          { relu: (v: number) => Math.max(0, v), tanh: Math.tanh, sigmoid: (v: number) => 1 / (1 + Math.exp(-v)) }[headActivation],
        );
      };
      const expected = new Float32Array(z.data.length);
      for (let r = 0; r < T * B; r++) expected.set(f(z.data.subarray(r * 3, r * 3 + 3)), r * 3);
      expectClose(y.data, expected, 'activated', 1e-5, 1e-7);
      const classes = { data: Int32Array.from({ length: T * B }, (_, i) => i % 3), shape: [T, B] };
      if (headActivation === 'softmax') {
        // Cross-entropy reads the logits: the same loss and gradients as the linear head's.
        const a = activated.gradients(x, classes, { loss: 'cross_entropy' });
        const b = linear.gradients(x, classes, { loss: 'cross_entropy' });
        expect(a.loss).toBe(b.loss);
        for (const name of Object.keys(a.grads)) expect(a.grads[name].data, name).toEqual(b.grads[name].data);
      } else {
        expect(() => activated.gradients(x, classes, { loss: 'cross_entropy' })).toThrow(/reads the head's logits/);
      }
      expectDerivativeAlongGradient(activated, x, { data: randomArray(T * B * 3, 6), shape: [T, B, 3] });
      activated.dispose();
      linear.dispose();
    },
  );

  it('a configuration with the options survives save(), toJSON() and the safetensors file', async () => {
    const net = await RNN.create({
      ...base,
      cell: 'gru',
      bidirectional: true,
      mergeMode: 'ave',
      goBackwards: true,
      recurrentActivation: 'hardsigmoid',
      stack: [{ cell: 'rnn', hiddenSize: 2, nonlinearity: 'relu' }],
      outputSize: 2,
      headOn: 'final',
      headActivation: 'sigmoid',
    });
    const y = net.unroll(x, { lengths }).y;
    const files = [
      await RNN.load(net.save(), { backend }),
      await RNN.fromJSON(net.toJSON(), { backend }),
      await RNN.fromSafetensors(net.toSafetensors(), { backend }),
    ];
    for (const back of files) {
      expect(back.config).toEqual(net.config);
      expect(back.unroll(x, { lengths }).y.data).toEqual(y.data);
      back.dispose();
    }
    expect(net.toJSON().version).toBe(3);
    const plain = await RNN.create({ ...base });
    expect(plain.toJSON().version).toBe(1);
    expect(Object.keys(plain.toJSON().config)).not.toContain('recurrentActivation');
    const tensors: Record<string, Tensor> = net.stateDict();
    expect(Object.keys(tensors)).toContain('rnn1.weight_ih_l0');
    net.dispose();
    plain.dispose();
  });
});
