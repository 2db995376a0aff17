/**
 * Hostile input, round two: what an argument or a small file can claim. Each case ends in a typed error (or a
 * correct result) at once, within vitest's timeout, without memory sized from a claim.
 */
import { describe, expect, it } from 'vitest';
import { FormatError, NotFoundError, RNN, ShapeError } from '../src/index.js';
import { parseSafetensors, writeSafetensors } from '../src/io/safetensors.js';

const small = () => RNN.create({ cell: 'gru', inputSize: 2, hiddenSize: 3, outputSize: 1, backend: 'js', seed: 1 });

describe('arrays that are not tensors', () => {
  it('a self-containing array is a ShapeError, not an endless descent', async () => {
    const net = await small();
    const a: unknown[] = [];
    a.push(a);
    expect(() => net.unroll(a as never)).toThrow(/nested deeper than 8 levels/);
    expect(() => net.loadStateDict({ 'rnn.weight_ih_l0': a as never })).toThrow(ShapeError);
    expect(() => net.unroll([[[1, 2]]], { h0: a as never })).toThrow(ShapeError);
    await expect(net.train([{ input: a as never, target: [1] }])).rejects.toThrow(ShapeError);
  });

  it('holes, strings, booleans, null and BigInts are named by position, never coerced or read from the heap', async () => {
    const net = await small();
    const before = net.save();
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    const holey = [[[1, , 3].slice(0, 2)]];
    expect(() => net.unroll(holey as never)).toThrow(/input\[0\]\[0\]\[1\]: a hole in the array/);
    expect(() => net.unroll([[[1, '2']]] as never)).toThrow(/input\[0\]\[0\]\[1\]: expected a number, got string 2/);
    expect(() => net.unroll({ data: [1, true], shape: [1, 1, 2] } as never)).toThrow(/data\[1\] is boolean true, not a number/);
    expect(() => net.unroll({ data: [1, null], shape: [1, 1, 2] } as never)).toThrow(/data\[1\] is null, not a number/);
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    expect(() => net.unroll({ data: [1, ,], shape: [1, 1, 2] } as never)).toThrow(/data\[1\] is a hole/);
    expect(() => net.unroll({ data: new BigInt64Array(2), shape: [1, 1, 2] } as never)).toThrow(/BigInts are not numbers/);
    const state = net.stateDict();
    const w = state['rnn.weight_ih_l0'];
    expect(() =>
      net.loadStateDict({ ...state, 'rnn.weight_ih_l0': { data: [...w.data.slice(0, -1), 'x'], shape: w.shape } as never }),
    ).toThrow(ShapeError);
    expect(net.save()).toEqual(before);
  });

  it('a detached buffer is refused by name', async () => {
    const net = await small();
    const data = new Float32Array(2);
    structuredClone(data.buffer, { transfer: [data.buffer] });
    expect(() => net.unroll({ data, shape: [1, 1, 2] })).toThrow(/detached/);
  });
});

describe('files that claim more than they hold', () => {
  it('a 1 KB checkpoint claiming ten million layers is refused at once', async () => {
    const net = await small();
    const json = net.toJSON();
    const lying = { ...json, config: { ...json.config, numLayers: 10_000_000 } };
    await expect(RNN.fromJSON(lying)).rejects.toThrow(/numLayers 10000000 is past the limit/);
    const parsed = parseSafetensors(net.save());
    const config = JSON.parse(parsed.metadata.get('rnn_wasm.config')!);
    const tensors = parsed.tensors.map((t) => ({
      name: t.name,
      shape: t.shape,
      data: new Float32Array(parsed.bytes.buffer.slice(parsed.bytes.byteOffset + t.begin, parsed.bytes.byteOffset + t.end)),
    }));
    for (const claim of [{ numLayers: 10_000_000 }, { hiddenSize: 2 ** 40 }, { embedding: { numEmbeddings: 2 ** 53, embeddingDim: 2 } }]) {
      const metadata = new Map(parsed.metadata).set('rnn_wasm.config', JSON.stringify({ ...config, ...claim }));
      await expect(RNN.load(writeSafetensors(tensors, metadata)), JSON.stringify(claim)).rejects.toThrow(FormatError);
    }
  });

  it('a header of millions of escapes parses in bounded time', async () => {
    const escapes = '\\n'.repeat(2_000_000);
    const header = `{"__metadata__":{"note":"${escapes}"},"weight_hh_l0":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]}}`;
    const text = new TextEncoder().encode(header);
    const bytes = new Uint8Array(8 + text.length + 4);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(text.length), true);
    bytes.set(text, 8);
    const file = parseSafetensors(bytes);
    expect(file.metadata.get('note')).toHaveLength(2_000_000);
  });

  it('a path that is no regular file is never read, and a missing one is NotFoundError', async () => {
    await expect(RNN.load('/dev/zero')).rejects.toThrow(/not a regular file/);
    await expect(RNN.fromSafetensors('/dev/null')).rejects.toThrow(FormatError);
    await expect(RNN.fromJSON('{"format":"rnn-wasm"')).rejects.toThrow(FormatError);
    await expect(RNN.load('/nonexistent.ckpt')).rejects.toThrow(NotFoundError);
  });
});

describe('arguments that would be silently wrong or fail untyped', () => {
  it('names a null-prototype object, a Symbol or a BigInt in an option without a TypeError of its own', async () => {
    const odd = [Object.create(null), Symbol('x'), 10n];
    for (const value of odd) {
      await expect(RNN.create({ inputSize: value as never, hiddenSize: 2 })).rejects.toThrow(/inputSize must be a positive integer/);
    }
    await expect(RNN.create(Object.assign(Object.create(null), { inputSize: 1, hiddenSize: 2 }))).resolves.toBeInstanceOf(RNN);
  });

  it('refuses seeds past 32 bits instead of wrapping them, and generate steps past the limit', async () => {
    await expect(RNN.create({ inputSize: 1, hiddenSize: 2, seed: 2 ** 32 })).rejects.toThrow(/below 2³²/);
    const net = await RNN.create({ inputSize: 2, hiddenSize: 2, outputSize: 2, backend: 'js' });
    expect(() => net.generate([[[1, 0]]], { steps: 2 ** 31 })).toThrow(/past the limit/);
    await expect(net.train([{ input: [[1, 0]], target: [[0, 1]] }], { seed: 2 ** 40 })).rejects.toThrow(/below 2³²/);
  });

  it('refuses out buffers that overlap, which would write one result over another', async () => {
    const net = await RNN.create({ inputSize: 2, hiddenSize: 3, outputSize: 3, backend: 'js' });
    const buffer = new Float32Array(6);
    expect(() => net.cell([[1, 2]], {}, { out: { output: buffer.subarray(0, 3), y: buffer.subarray(2, 5) } })).toThrow(/overlap/);
    expect(() => net.cell([[1, 2]], {}, { out: { output: buffer.subarray(0, 3), y: buffer.subarray(3, 6) } })).not.toThrow();
  });

  it("a null in a checkpoint's configuration is damage, not a default", async () => {
    const net = await small();
    const json = net.toJSON();
    await expect(RNN.fromJSON({ ...json, config: { ...json.config, bias: null } } as never)).rejects.toThrow(
      /configuration's bias is null/,
    );
  });

  it('a valid WebAssembly module that is not a build of the kernels is a WasmLoadError', async () => {
    const empty = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
    await expect(RNN.create({ inputSize: 1, hiddenSize: 1, backend: 'wasm-simd', wasm: { simd: empty } })).rejects.toThrow(
      /not this library's kernels/,
    );
  });

  it('gradients that overflow are a NonFiniteError, not infinities returned', async () => {
    const net = await RNN.create({ inputSize: 1, hiddenSize: 1, outputSize: 1, backend: 'js' });
    const dict = net.stateDict();
    net.loadStateDict({ ...dict, 'head.weight': { data: Float32Array.of(3e38), shape: [1, 1] } });
    expect(() => net.gradients([[[1]]], [[1]])).toThrow(/not finite/);
  });
});
