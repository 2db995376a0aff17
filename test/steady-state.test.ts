/**
 * Steady state without allocation: with `out`, `unroll` and `cell` write their results into the caller's
 * buffers (the same numbers as without), refuse buffers of the wrong size before running, and 10,000 calls of
 * each grow neither WebAssembly memory nor the JS heap.
 */
import { describe, expect, it } from 'vitest';
import { RNN, ShapeError } from '../src/index.js';
import { collectGarbage } from './gc.js';
import { BACKENDS, randomArray } from './helpers.js';

const [T, B, I, H, O] = [5, 2, 3, 8, 2];
const input = { data: randomArray(T * B * I, 1), shape: [T, B, I] };
const frame = { data: randomArray(B * I, 2), shape: [B, I] };

describe.each(BACKENDS)('out buffers on %s', (backend) => {
  it.each(['rnn', 'lstm', 'gru'] as const)("%s: unroll and cell fill the caller's buffers with the usual numbers", async (cell) => {
    const net = await RNN.create({ cell, inputSize: I, hiddenSize: H, outputSize: O, numLayers: 2, seed: 3, backend });
    const lstm = cell === 'lstm';
    const out = {
      output: new Float32Array(T * B * H),
      y: new Float32Array(T * B * O),
      hN: new Float32Array(2 * B * H),
      ...(lstm && { cN: new Float32Array(2 * B * H) }),
    };
    const expected = net.unroll(input);
    const got = net.unroll(input, { out });
    expect(got.output.data).toBe(out.output);
    expect(got.y.data).toBe(out.y);
    expect(got.hN.data).toBe(out.hN);
    expect(got.cN?.data).toBe(out.cN);
    expect(Array.from(out.output)).toEqual(Array.from(expected.output.data));
    expect(Array.from(out.y)).toEqual(Array.from(expected.y.data));
    expect(Array.from(out.hN)).toEqual(Array.from(expected.hN.data));
    if (lstm) expect(Array.from(out.cN!)).toEqual(Array.from(expected.cN!.data));

    const state = { h: expected.hN, c: expected.cN };
    const step = net.cell(frame, state);
    const cellOut = {
      output: new Float32Array(B * H),
      y: new Float32Array(B * O),
      h: new Float32Array(2 * B * H),
      ...(lstm && { c: new Float32Array(2 * B * H) }),
    };
    const stepped = net.cell(frame, state, { out: cellOut });
    expect(stepped.h.data).toBe(cellOut.h);
    expect(Array.from(cellOut.output)).toEqual(Array.from(step.output.data));
    expect(Array.from(cellOut.y)).toEqual(Array.from(step.y.data));
    expect(Array.from(cellOut.h)).toEqual(Array.from(step.h.data));
    if (lstm) expect(Array.from(cellOut.c!)).toEqual(Array.from(step.c!.data));
    net.dispose();
  });
});

describe.each(BACKENDS)('cell on %s', (backend) => {
  it.each(['rnn', 'lstm', 'gru'] as const)('%s: the same numbers after the heap grew between two calls of a stream', async (cell) => {
    const options = { cell, inputSize: I, hiddenSize: H, outputSize: O, numLayers: 2, seed: 8, backend };
    const [net, fresh] = [await RNN.create(options), await RNN.create(options)];
    const lstm = cell === 'lstm';
    const out = () => ({
      output: new Float32Array(B * H),
      y: new Float32Array(B * O),
      h: new Float32Array(2 * B * H),
      ...(lstm && { c: new Float32Array(2 * B * H) }),
    });
    const [a, b] = [out(), out()];
    const state = (o: typeof a) => ({ h: { data: o.h, shape: [2, B, H] }, ...(lstm && { c: { data: o.c!, shape: [2, B, H] } }) });
    net.cell(frame, state(a), { out: a });
    fresh.cell(frame, state(b), { out: b });
    const long = 4096; // a sequence whose workspace needs more memory than the model had
    net.unroll({ data: new Float32Array(long * B * I), shape: [long, B, I] });
    for (let i = 0; i < 3; i++) {
      net.cell(frame, state(a), { out: a });
      fresh.cell(frame, state(b), { out: b });
      expect(a).toEqual(b);
    }
    expect(a.h.some((v) => v !== 0)).toBe(true);
  });
});

describe('out buffers', () => {
  it('fills only the buffers given, writes batch-first results in batch-first order', async () => {
    const net = await RNN.create({ inputSize: I, hiddenSize: H, batchFirst: true, seed: 4 });
    const x = { data: input.data, shape: [B, T, I] };
    const output = new Float32Array(B * T * H);
    const result = net.unroll(x, { out: { output } });
    expect(result.output.data).toBe(output);
    expect(result.output.shape).toEqual([B, T, H]);
    expect(Array.from(output)).toEqual(Array.from(net.unroll(x).output.data));
    expect(result.hN.data).toBeInstanceOf(Float32Array); // not given: a new array, as without `out`
  });

  it('refuses a buffer of the wrong size or kind, or a result the model does not have, before running', async () => {
    const net = await RNN.create({ inputSize: I, hiddenSize: H, seed: 5 });
    const output = new Float32Array(T * B * H);
    expect(() => net.unroll(input, { out: { output: new Float32Array(3) } })).toThrow(ShapeError);
    expect(() => net.unroll(input, { out: { output: [] as unknown as Float32Array } })).toThrow(/Float32Array of 80 floats/);
    expect(() => net.unroll(input, { out: { output, cN: new Float32Array(B * H) } })).toThrow(/unknown option 'cN'/);
    expect(() => net.cell(frame, {}, { out: { h: new Float32Array(1) } })).toThrow(ShapeError);
    expect(output.every((v) => v === 0)).toBe(true);
  });

  it('10,000 unroll and 10,000 cell calls grow neither WebAssembly memory nor the JS heap', async () => {
    const net = await RNN.create({ cell: 'lstm', inputSize: I, hiddenSize: H, outputSize: O, seed: 6 });
    const out = {
      output: new Float32Array(T * B * H),
      y: new Float32Array(T * B * O),
      hN: new Float32Array(B * H),
      cN: new Float32Array(B * H),
    };
    const cellOut = { output: new Float32Array(B * H), y: new Float32Array(B * O), h: new Float32Array(B * H), c: new Float32Array(B * H) };
    const state = { h: { data: cellOut.h, shape: [1, B, H] }, c: { data: cellOut.c, shape: [1, B, H] } };
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        net.unroll(input, { out });
        net.cell(frame, state, { out: cellOut }); // a stream: each call starts from the state the last one left
      }
    };
    run(500); // the workspace is laid out for both shapes, the code optimised
    const before = collectGarbage();
    run(10_000);
    const after = collectGarbage();
    // WebAssembly memory is an external ArrayBuffer in Node: any growth of it, or any result array kept, shows here.
    expect(after.external - before.external, 'external bytes').toBeLessThan(64 * 1024);
    expect(after.arrayBuffers - before.arrayBuffers, 'ArrayBuffer bytes').toBeLessThan(64 * 1024);
    expect(after.heapUsed - before.heapUsed, 'heap bytes').toBeLessThan(1024 * 1024);
    expect(cellOut.h.every(Number.isFinite)).toBe(true);
    net.dispose();
  }, 30_000);
});
