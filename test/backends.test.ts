/**
 * The WebAssembly builds (relaxed SIMD, SIMD and scalar) against the pure-JS reference on random shapes, including sizes
 * that are not multiples of 4: the SIMD paths handle blocks of 4 and plain loops the tails, and both must
 * give the reference's numbers.
 */
import { describe, expect, it } from 'vitest';
import { RNN, type Tensor } from '../src/index.js';
import { expectClose, randomArray } from './helpers.js';

const shapes = [
  { I: 1, H: 1, L: 1, bidirectional: false, relu: false, O: 1, T: 1, B: 1 },
  { I: 7, H: 13, L: 2, bidirectional: true, relu: false, O: 3, T: 9, B: 5 },
  { I: 16, H: 32, L: 1, bidirectional: false, relu: true, O: 4, T: 12, B: 8 },
  { I: 9, H: 37, L: 3, bidirectional: true, relu: false, O: 6, T: 7, B: 3 },
  { I: 64, H: 67, L: 1, bidirectional: false, relu: false, O: 0, T: 20, B: 2 },
];

const cases = (['rnn', 'lstm', 'gru'] as const).flatMap((cell) => shapes.map((s) => ({ cell, ...s })));

describe.each(['wasm-relaxed', 'wasm-simd', 'wasm-scalar'] as const)('%s agrees with js', (backend) => {
  it.each(cases)('$cell I=$I H=$H L=$L bidir=$bidirectional relu=$relu O=$O T=$T B=$B', async (s) => {
    const options = {
      cell: s.cell,
      inputSize: s.I,
      hiddenSize: s.H,
      numLayers: s.L,
      bidirectional: s.bidirectional,
      ...(s.cell === 'rnn' && ({ nonlinearity: s.relu ? 'relu' : 'tanh' } as const)),
      outputSize: s.O,
      seed: 3,
    };
    const reference = await RNN.create({ ...options, backend: 'js' });
    const net = await RNN.create({ ...options, backend });
    expect(net.backend).toBe(backend);
    const input: Tensor = { data: randomArray(s.T * s.B * s.I, 11), shape: [s.T, s.B, s.I] };
    const O = s.O || (s.bidirectional ? 2 : 1) * s.H;
    const target = { data: randomArray(s.T * s.B * O, 12), shape: [s.T, s.B, O] };

    const [a, b] = [net.unroll(input), reference.unroll(input)];
    expectClose(a.output.data, b.output.data, 'output');
    expectClose(a.y.data, b.y.data, 'y');
    expectClose(a.hN.data, b.hN.data, 'h_n');
    if (s.cell === 'lstm') expectClose(a.cN!.data, b.cN!.data, 'c_n');

    const [ga, gb] = [net.gradients(input, target), reference.gradients(input, target)];
    expectClose([ga.loss], [gb.loss], 'loss');
    for (const name of Object.keys(gb.grads)) expectClose(ga.grads[name].data, gb.grads[name].data, name);
    expectClose(ga.input!.data, gb.input!.data, 'd input');
    expectClose(ga.h0.data, gb.h0.data, 'd h0');
    if (s.cell === 'lstm') expectClose(ga.c0!.data, gb.c0!.data, 'd c0');

    for (let i = 0; i < 3; i++) {
      // SGD keeps rounding differences linear; Adam would magnify them near zero gradients (Adam is in the parity suite).
      const optimizer = { kind: 'sgd', lr: 0.1, momentum: 0.9 } as const;
      const [sa, sb] = [net.step(input, target, { optimizer }), reference.step(input, target, { optimizer })];
      expectClose([sa.loss, sa.gradNorm], [sb.loss, sb.gradNorm], `step ${i + 1}`);
    }
    const [pa, pb] = [net.stateDict(), reference.stateDict()];
    for (const name of Object.keys(pb)) expectClose(pa[name].data, pb[name].data, `after training ${name}`);
    net.dispose();
    reference.dispose();
  });
});
