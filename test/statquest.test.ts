/**
 * The textbook example: one ReLU unit, w_xh = 1.8, w_hh = -0.5, w_hy = 1.1, no biases. Two days of
 * values (yesterday, today) go in; the prediction for tomorrow comes out of the head after the second step.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RNN } from '../src/index.js';
import { BACKENDS, expectClose } from './helpers.js';

const weights = {
  weight_ih_l0: [[1.8]],
  weight_hh_l0: [[-0.5]],
  bias_ih_l0: [0],
  bias_hh_l0: [0],
  'head.weight': [[1.1]],
  'head.bias': [0],
};

// Three sequences as batch columns: (yesterday, today) = (0, 0), (0, 0.5), (1, 1). Time-major [T=2, B=3, I=1].
const days = [
  [[0], [0], [1]],
  [[0], [0.5], [1]],
];

describe.each(BACKENDS)('statquest [%s]', (backend) => {
  const create = async () => {
    const net = await RNN.create({ inputSize: 1, hiddenSize: 1, nonlinearity: 'relu', outputSize: 1, backend });
    net.loadStateDict(weights);
    return net;
  };

  it('predicts tomorrow by hand-checkable arithmetic', async () => {
    const net = await create();
    const { y } = net.unroll(days);
    // Last step, per column: h1 = relu(1.8·yesterday), h2 = relu(1.8·today − 0.5·h1), prediction = 1.1·h2.
    const tomorrow = Array.from(y.data.subarray(3, 6));
    const byHand = [
      [0, 0],
      [0, 0.5],
      [1, 1],
    ].map(([yesterday, today]) => {
      const h1 = Math.max(0, 1.8 * yesterday);
      const h2 = Math.max(0, 1.8 * today - 0.5 * h1);
      return 1.1 * h2;
    });
    expectClose(tomorrow, byHand, 'tomorrow', 0, 1e-6);
    expect(tomorrow[1]).toBeCloseTo(0.99, 6);
    expect(tomorrow[2]).toBeCloseTo(0.99, 6);
  });

  it("matches PyTorch, including relu'(0) = 0 in the gradients", async () => {
    const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch/statquest.json', import.meta.url), 'utf8'));
    const net = await create();
    expectClose(net.unroll(days).y.data, fixture.expected.y.data, 'y');
    const g = net.gradients(days, fixture.loss.target);
    expectClose([g.loss], [fixture.loss.value], 'loss');
    for (const [name, tensor] of Object.entries(fixture.grads.state_dict as Record<string, { data: number[] }>)) {
      expectClose(g.grads[name].data, tensor.data, name);
    }
  });
});
