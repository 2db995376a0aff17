/**
 * Backpropagation through time checked against central finite differences of the loss, for every cell,
 * on shapes the fixtures do not cover: sizes that are not multiples of 4, several layers, both directions,
 * both losses, every-step and last-step targets. Float32 limits the precision of a finite difference, so the check uses
 * a step of 1e-2 and a tolerance of 1e-2 relative; a wrong gradient is off by far more.
 */
import { describe, expect, it } from 'vitest';
import { RNN, type Tensor } from '../src/index.js';
import { BACKENDS, randomArray } from './helpers.js';

interface Shape {
  cell: 'rnn' | 'lstm' | 'gru';
  I: number;
  H: number;
  L: number;
  bidirectional: boolean;
  bias: boolean;
  O: number;
  T: number;
  B: number;
  loss: 'mse' | 'cross_entropy';
  lastStep: boolean;
}

const shapes: Shape[] = [
  { cell: 'rnn', I: 3, H: 5, L: 1, bidirectional: false, bias: true, O: 2, T: 4, B: 3, loss: 'mse', lastStep: false },
  { cell: 'rnn', I: 2, H: 7, L: 2, bidirectional: true, bias: true, O: 3, T: 5, B: 2, loss: 'mse', lastStep: true },
  { cell: 'rnn', I: 5, H: 6, L: 3, bidirectional: false, bias: false, O: 4, T: 3, B: 1, loss: 'cross_entropy', lastStep: false },
  { cell: 'rnn', I: 1, H: 9, L: 1, bidirectional: true, bias: true, O: 5, T: 6, B: 2, loss: 'cross_entropy', lastStep: true },
  { cell: 'lstm', I: 3, H: 5, L: 2, bidirectional: true, bias: true, O: 2, T: 4, B: 3, loss: 'mse', lastStep: false },
  { cell: 'lstm', I: 6, H: 7, L: 1, bidirectional: false, bias: false, O: 3, T: 5, B: 2, loss: 'cross_entropy', lastStep: true },
  { cell: 'lstm', I: 2, H: 3, L: 3, bidirectional: false, bias: true, O: 1, T: 3, B: 1, loss: 'mse', lastStep: true },
  { cell: 'gru', I: 3, H: 5, L: 2, bidirectional: true, bias: true, O: 2, T: 4, B: 3, loss: 'mse', lastStep: false },
  { cell: 'gru', I: 5, H: 9, L: 1, bidirectional: false, bias: false, O: 4, T: 5, B: 2, loss: 'cross_entropy', lastStep: false },
  { cell: 'gru', I: 1, H: 6, L: 3, bidirectional: true, bias: true, O: 3, T: 3, B: 2, loss: 'mse', lastStep: true },
];

const EPS = 1e-2;

describe.each(BACKENDS)('finite differences [%s]', (backend) => {
  it.each(shapes)('$cell I=$I H=$H L=$L bidir=$bidirectional bias=$bias O=$O T=$T B=$B $loss last=$lastStep', async (s) => {
    const D = s.bidirectional ? 2 : 1;
    const net = await RNN.create({
      cell: s.cell,
      inputSize: s.I,
      hiddenSize: s.H,
      numLayers: s.L,
      bidirectional: s.bidirectional,
      bias: s.bias,
      outputSize: s.O,
      seed: 7,
      backend,
    });
    const input: Tensor = { data: randomArray(s.T * s.B * s.I, 1), shape: [s.T, s.B, s.I] };
    const h0: Tensor = { data: randomArray(s.L * D * s.B * s.H, 2, 0.5), shape: [s.L * D, s.B, s.H] };
    const c0: Tensor | undefined = s.cell === 'lstm' ? { data: randomArray(s.L * D * s.B * s.H, 5, 0.5), shape: h0.shape } : undefined;
    const rows = s.lastStep ? s.B : s.T * s.B;
    const target =
      s.loss === 'mse'
        ? { data: randomArray(rows * s.O, 3), shape: s.lastStep ? [s.B, s.O] : [s.T, s.B, s.O] }
        : { data: Array.from(randomArray(rows, 4), (v) => Math.floor(((v + 1) / 2) * s.O)), shape: s.lastStep ? [s.B] : [s.T, s.B] };
    const options = { loss: s.loss, h0, c0 };
    const analytic = net.gradients(input, target, options);

    // Perturbs one element of a tensor in place and returns the central difference of the loss.
    const numeric = (tensor: Float32Array, i: number, lossAt: () => number) => {
      const saved = tensor[i];
      tensor[i] = saved + EPS;
      const plus = lossAt();
      tensor[i] = saved - EPS;
      const minus = lossAt();
      tensor[i] = saved;
      return (plus - minus) / (2 * EPS);
    };
    const check = (got: number, want: number, what: string) =>
      expect(Math.abs(got - want), `${what}: analytic ${got}, numeric ${want}`).toBeLessThan(1e-3 + 1e-2 * Math.abs(want));

    const params = net.stateDict();
    for (const [name, tensor] of Object.entries(params)) {
      for (const i of [0, Math.floor(tensor.data.length / 2), tensor.data.length - 1]) {
        const lossAt = () => {
          net.loadStateDict(params);
          return net.gradients(input, target, options).loss;
        };
        check(analytic.grads[name].data[i], numeric(tensor.data, i, lossAt), `${name}[${i}]`);
      }
    }
    net.loadStateDict(params);
    const lossNow = () => net.gradients(input, target, options).loss;
    for (const i of [0, 5, input.data.length - 1]) check(analytic.input!.data[i], numeric(input.data, i, lossNow), `input[${i}]`);
    for (const i of [0, h0.data.length - 1]) check(analytic.h0.data[i], numeric(h0.data, i, lossNow), `h0[${i}]`);
    if (c0) for (const i of [0, c0.data.length - 1]) check(analytic.c0!.data[i], numeric(c0.data, i, lossNow), `c0[${i}]`);
    expect(analytic.c0 === undefined).toBe(c0 === undefined);
    net.dispose();
  });
});
