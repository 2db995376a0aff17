/**
 * PyTorch weights in and out as safetensors. Every fixture file loads with its architecture inferred from
 * the tensors and reproduces that case's expected outputs on every backend; an export has PyTorch's layout
 * to the byte (the fixture files, written by Python's safetensors, are the reference) and comes back whole.
 * Then the inference's corners: other module names, dtypes, and each way a file can be inconsistent.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FormatError, NonFiniteError, NotFoundError, OptionError, RNN, StateDictError } from '../src/index.js';
import { type NamedTensor, parseSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { TORCH, fixtureFolders } from './fixture-folders.js';
import { BACKENDS, expectClose, randomArray } from './helpers.js';

interface TorchTensor {
  shape: number[];
  data: number[];
}
interface TorchCase {
  id: string;
  module: 'RNN' | 'LSTM' | 'GRU';
  config: {
    input_size: number;
    hidden_size: number;
    num_layers: number;
    nonlinearity?: 'tanh' | 'relu';
    bias: boolean;
    bidirectional: boolean;
  };
  head: { out_features: number };
  state_dict: Record<string, TorchTensor>;
  input: TorchTensor;
  h0: TorchTensor;
  c0?: TorchTensor;
  lengths?: number[];
  expected: { output: TorchTensor; h_n: TorchTensor; c_n?: TorchTensor; y: TorchTensor };
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const folders = fixtureFolders('TORCH_FIXTURES', [TORCH[0]]);
const files = folders.flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors'))
    .sort()
    .map((f) => join(dir, f)),
);
const caseOf = (file: string) => JSON.parse(readFileSync(file.replace(/\.safetensors$/, '.json'), 'utf8')) as TorchCase;

expect(files.length, `no *.safetensors in ${folders.join(', ')}`).toBeGreaterThan(0);

const bits = (data: Float32Array) => Array.from(new Uint32Array(data.buffer, data.byteOffset, data.length));

describe.each(BACKENDS)('every fixture file [%s]', (backend) => {
  it.each(files.map((f) => [f.split('/').pop()!, f]))('%s: loads from its path and reproduces the expected outputs', async (_, file) => {
    const c = caseOf(file);
    const net = await RNN.fromSafetensors(file, { nonlinearity: c.config.nonlinearity, backend });
    expect(net.config).toMatchObject({
      cell: c.module.toLowerCase(),
      inputSize: c.config.input_size,
      hiddenSize: c.config.hidden_size,
      numLayers: c.config.num_layers,
      bidirectional: c.config.bidirectional,
      bias: c.config.bias,
      outputSize: c.head.out_features,
      nonlinearity: c.config.nonlinearity ?? 'tanh',
    });
    // The file holds the JSON's state_dict, bit for bit.
    const dict = net.stateDict();
    expect(Object.keys(dict)).toEqual(Object.keys(c.state_dict));
    for (const [name, t] of Object.entries(c.state_dict)) {
      expect(dict[name].shape, name).toEqual(t.shape);
      expect(bits(dict[name].data), name).toEqual(bits(Float32Array.from(t.data)));
    }
    const r = net.unroll(c.input, { h0: c.h0, ...(c.c0 && { c0: c.c0 }), ...(c.lengths && { lengths: c.lengths }) });
    expectClose(r.output.data, c.expected.output.data, 'output');
    expectClose(r.hN.data, c.expected.h_n.data, 'h_n');
    expectClose(r.y.data, c.expected.y.data, 'y');
    if (c.expected.c_n) expectClose(r.cN!.data, c.expected.c_n.data, 'c_n');
    net.dispose();
  });
});

describe('export', () => {
  it.each(files.map((f) => [f.split('/').pop()!, f]))(
    '%s: toSafetensors writes the layout Python wrote, byte for byte',
    async (_, file) => {
      const original = parseSafetensors(readFileSync(file));
      const net = await RNN.fromSafetensors(file, { nonlinearity: caseOf(file).config.nonlinearity });
      const exported = parseSafetensors(net.toSafetensors());
      const entry = (t: (typeof original.tensors)[number]) => ({ name: t.name, dtype: t.dtype, shape: t.shape });
      expect(exported.tensors.map(entry)).toEqual(original.tensors.map(entry));
      const data = (f: typeof original) => f.bytes.subarray(f.tensors[0].begin);
      expect(Buffer.from(data(exported)).equals(Buffer.from(data(original)))).toBe(true);
      expect(exported.metadata.get('format')).toBe('pt');
      expect(JSON.parse(exported.metadata.get('rnn_wasm.config')!)).toMatchObject({
        cell: net.config.cell,
        hiddenSize: net.config.hiddenSize,
      });
      net.dispose();
    },
  );

  it('comes back as the same model: configuration from the metadata, weights to the bit', async () => {
    const net = await RNN.create({
      cell: 'rnn',
      inputSize: 3,
      hiddenSize: 4,
      numLayers: 2,
      nonlinearity: 'relu',
      bias: false,
      outputSize: 2,
      batchFirst: true,
      dropout: 0.25,
      seed: 7,
    });
    const back = await RNN.fromSafetensors(net.toSafetensors().buffer as ArrayBuffer);
    expect(back.config).toEqual(net.config);
    expect(back.stateDict()).toEqual(net.stateDict());
    // Options win over the metadata for what the tensors leave open.
    const tanh = await RNN.fromSafetensors(net.toSafetensors(), { nonlinearity: 'tanh', seed: 3 });
    expect(tanh.config).toMatchObject({ nonlinearity: 'tanh', seed: 3, batchFirst: true });
  });

  it('pads the header so that the data section starts 8-byte aligned', async () => {
    const net = await RNN.create({ cell: 'gru', inputSize: 3, hiddenSize: 5, outputSize: 1 });
    const bytes = net.toSafetensors();
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    expect(header).toMatch(/^\{.*\} *$/);
  });
});

/** A PyTorch-style file from named arrays, as `save_file(model.state_dict())` would write it. */
function file(
  tensors: Record<string, { shape: number[]; data?: Float32Array }>,
  metadata: Record<string, string> = { format: 'pt' },
): Uint8Array {
  const list: NamedTensor[] = Object.entries(tensors).map(([name, t], i) => ({
    name,
    shape: t.shape,
    data:
      t.data
      ?? randomArray(
        t.shape.reduce((a, b) => a * b, 1),
        i + 1,
        0.5,
      ),
  }));
  return writeSafetensors(list, new Map(Object.entries(metadata)));
}

/** The tensors of `nn.<cell>` under `prefix`, for layers × directions, with or without biases. */
function recurrent(prefix: string, G: number, I: number, H: number, layers: number, reverse = false, bias = true) {
  const out: Record<string, { shape: number[] }> = {};
  for (let k = 0; k < layers; k++) {
    for (const suffix of reverse ? ['', '_reverse'] : ['']) {
      out[`${prefix}weight_ih_l${k}${suffix}`] = { shape: [G * H, k === 0 ? I : (reverse ? 2 : 1) * H] };
      out[`${prefix}weight_hh_l${k}${suffix}`] = { shape: [G * H, H] };
      if (bias) {
        out[`${prefix}bias_ih_l${k}${suffix}`] = { shape: [G * H] };
        out[`${prefix}bias_hh_l${k}${suffix}`] = { shape: [G * H] };
      }
    }
  }
  return out;
}

describe('inference from names and shapes', () => {
  it('finds a module under any name, a head under any name, or no head', async () => {
    const tensors = { ...recurrent('encoder.lstm.', 4, 3, 6, 2, true), 'fc.weight': { shape: [2, 12] }, 'fc.bias': { shape: [2] } };
    const net = await RNN.fromSafetensors(file(tensors));
    expect(net.config).toMatchObject({ cell: 'lstm', inputSize: 3, hiddenSize: 6, numLayers: 2, bidirectional: true, outputSize: 2 });
    // The model keeps the file's module names, so that its own files and state dicts round-trip tensor for tensor.
    expect(net.config.names).toMatchObject({ core: 'encoder.lstm', head: 'fc' });
    expect(net.stateDict()['encoder.lstm.weight_hh_l1_reverse'].data).toEqual(
      parseTensor(file(tensors), 'encoder.lstm.weight_hh_l1_reverse'),
    );
    expect(net.stateDict()['fc.bias'].data).toEqual(parseTensor(file(tensors), 'fc.bias'));

    const bare = await RNN.fromSafetensors(file(recurrent('', 3, 2, 4, 1, false, false)));
    expect(bare.config).toMatchObject({ cell: 'gru', inputSize: 2, hiddenSize: 4, bias: false, outputSize: 0 });
  });

  it('takes the prefixes from the options when the file holds more than one candidate', async () => {
    const tensors = { ...recurrent('encoder.', 1, 3, 4, 1), ...recurrent('decoder.', 4, 4, 5, 1) };
    await expect(RNN.fromSafetensors(file(tensors))).rejects.toThrow(
      /ambiguous: recurrent weights under "encoder", "decoder"; name the core with \{ names: \{ core: "encoder" \} \}/,
    );
    // The other module's tensors are then unexpected: a model has one recurrent module.
    await expect(RNN.fromSafetensors(file(tensors), { prefix: 'decoder.' })).rejects.toThrow(/unexpected tensors "encoder.weight_ih_l0"/);
    const heads = {
      ...recurrent('rnn.', 1, 3, 4, 1),
      'a.weight': { shape: [1, 4] },
      'a.bias': { shape: [1] },
      'b.weight': { shape: [2, 4] },
      'b.bias': { shape: [2] },
    };
    await expect(RNN.fromSafetensors(file(heads))).rejects.toThrow(
      /ambiguous head: "a", "b" could each be the linear head; name it with \{ names: \{ head/,
    );
    await expect(RNN.fromSafetensors(file(heads), { headPrefix: 'b.' })).rejects.toThrow(/unexpected tensors "a.weight", "a.bias"/);
  });

  it('reads F16, BF16 and F64 tensors as float32', async () => {
    const values = [0.5, -1.25, 3, 0.099975586]; // exactly representable in half precision
    const bytesOf = (dtype: string, v: number[]) => {
      const view = new DataView(new ArrayBuffer(v.length * (dtype === 'F64' ? 8 : 2)));
      v.forEach((x, i) => {
        if (dtype === 'F64') view.setFloat64(i * 8, x, true);
        else if (dtype === 'BF16') view.setUint16(i * 2, new Uint32Array(Float32Array.of(x).buffer)[0] >>> 16, true);
        else view.setUint16(i * 2, toHalf(x), true);
      });
      return new Uint8Array(view.buffer);
    };
    for (const dtype of ['F16', 'BF16', 'F64']) {
      const hh = bytesOf(dtype, values);
      const ih = bytesOf(dtype, [1, 2]);
      const header = JSON.stringify({
        weight_ih_l0: { dtype, shape: [2, 1], data_offsets: [0, ih.length] },
        weight_hh_l0: { dtype, shape: [2, 2], data_offsets: [ih.length, ih.length + hh.length] },
      });
      const bytes = new Uint8Array(8 + header.length + ih.length + hh.length);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
      bytes.set(new TextEncoder().encode(header), 8);
      bytes.set(ih, 8 + header.length);
      bytes.set(hh, 8 + header.length + ih.length);
      const net = await RNN.fromSafetensors(bytes, { backend: 'js' });
      const expected =
        dtype === 'BF16'
          ? values.map((v) => new Float32Array(new Uint32Array([new Uint32Array(Float32Array.of(v).buffer)[0] & 0xffff0000]).buffer)[0])
          : values;
      expect(Array.from(net.stateDict().weight_hh_l0.data), dtype).toEqual(expected.map(Math.fround));
    }
  });

  it('names what is wrong with an inconsistent file', async () => {
    const rnn = { ...recurrent('rnn.', 1, 3, 4, 1), 'head.weight': { shape: [1, 4] }, 'head.bias': { shape: [1] } };
    const cases: [Record<string, { shape: number[]; data?: Float32Array }>, RegExp][] = [
      [{ ...recurrent('rnn.', 1, 3, 4, 3) }, /.*/], // consistent: three layers
      [omit(recurrent('rnn.', 1, 3, 4, 3), /_l1/), /layer 1 is missing: the file has weights under "rnn." for layers "0", "2"/],
      [omit(rnn, /^rnn.bias_hh/), /missing "rnn.bias_hh_l0" for a 1-layer rnn/],
      [{ ...rnn, 'rnn.weight_hh_l0': { shape: [4, 5] } }, /"rnn.weight_hh_l0" has shape \[4, 5\]: 4 rows are 0.8 gate blocks/],
      [
        { ...rnn, 'rnn.weight_hh_l0': { shape: [8, 4] } },
        /2 gate blocks of hidden size 4, and no cell has that many \(rnn 1, lstm 4, gru 3\)/,
      ],
      [{ ...rnn, 'rnn.weight_ih_l0': { shape: [4, 3, 1] } }, /"rnn.weight_ih_l0" should be a non-empty matrix, got shape \[4, 3, 1\]/],
      [
        { ...rnn, 'rnn.bias_ih_l0': { shape: [5] } },
        /"rnn.bias_ih_l0" should have shape \[4\] in a 1-layer rnn with input size 3 and hidden size 4, got \[5\]/,
      ],
      [{ ...rnn, 'head.weight': { shape: [1, 5] } }, /"head.weight" should have shape \[1, 4\]/],
      [{ ...rnn, 'rnn.weight_ih_l0_reverse': { shape: [4, 3] } }, /unexpected "rnn.weight_ih_l0_reverse": not part of a 1-layer rnn/],
      [
        { ...rnn, 'embedding.weight': { shape: [10, 5] } },
        /unexpected tensor "embedding.weight": neither recurrent weights under "rnn.", an embedding nor a linear head/,
      ],
      [{ ...recurrent('lstm.', 4, 3, 4, 1), 'lstm.weight_hr_l0': { shape: [2, 4] } }, /LSTM projections \(proj_size\) are not supported/],
      [omit(rnn, /^head.bias/), /unexpected tensor "head.weight"/],
      [{ 'fc.weight': { shape: [2, 2] } }, /no recurrent weights: no tensor is named '<module>.weight_hh_l0' \(the file has "fc.weight"\)/],
      [{ ...rnn, 'head.bias': { shape: [1], data: Float32Array.of(NaN) } }, /tensor "head.bias" element 0 is NaN/],
    ];
    for (const [tensors, message] of cases) {
      const load = RNN.fromSafetensors(file(tensors), { backend: 'js' });
      if (message.source === '.*') await expect(load).resolves.toBeInstanceOf(RNN);
      else await expect(load, String(message)).rejects.toThrow(message);
    }
    await expect(RNN.fromSafetensors(file(rnn), { prefix: 'lstm.' })).rejects.toThrow(/there is no tensor "lstm.weight_hh_l0"/);
    await expect(RNN.fromSafetensors(file(rnn), { headPrefix: 'fc.' })).rejects.toThrow(
      /names.head is "fc", but the file has no Linear head there: it needs "fc.weight" \[O, 4\] and "fc.bias"/,
    );
    await expect(RNN.fromSafetensors(file({ ...rnn, 'head.bias': { shape: [1], data: Float32Array.of(Infinity) } }))).rejects.toThrow(
      NonFiniteError,
    );
    await expect(RNN.fromSafetensors(file(omit(rnn, /l0$/)))).rejects.toThrow(StateDictError);
  });

  it('refuses a file whose metadata contradicts its tensors, and a checkpoint', async () => {
    const net = await RNN.create({ inputSize: 3, hiddenSize: 4, outputSize: 1 });
    const parsed = parseSafetensors(net.toSafetensors());
    const config = JSON.parse(parsed.metadata.get('rnn_wasm.config')!);
    const tensors = parsed.tensors.map((t) => ({ name: t.name, shape: t.shape, data: net.stateDict()[t.name].data }));
    const lying = writeSafetensors(
      tensors,
      new Map([...parsed.metadata, ['rnn_wasm.config', JSON.stringify({ ...config, hiddenSize: 5 })]]),
    );
    await expect(RNN.fromSafetensors(lying)).rejects.toThrow(/the metadata's configuration says hiddenSize 5, but the tensors say 4/);
    const invalid = writeSafetensors(
      tensors,
      new Map([...parsed.metadata, ['rnn_wasm.config', JSON.stringify({ ...config, hiddenSize: -1 })]]),
    );
    await expect(RNN.fromSafetensors(invalid)).rejects.toThrow(/configuration: hiddenSize must be a positive integer, got -1/);
    await expect(RNN.fromSafetensors(net.save())).rejects.toThrow(/an rnn-wasm checkpoint .*load it with RNN.load/);
  });

  it('checks its options, and names a path it cannot read', async () => {
    const bytes = file(recurrent('', 1, 1, 1, 1));
    await expect(RNN.fromSafetensors(bytes, { prefx: 'rnn.' } as never)).rejects.toThrow(/unknown option 'prefx'/);
    await expect(RNN.fromSafetensors(bytes, { prefix: 1 } as never)).rejects.toThrow(OptionError);
    await expect(RNN.fromSafetensors(42 as never)).rejects.toThrow(/expected the file's bytes .* a URL or, in Node, its path/);
    await expect(RNN.fromSafetensors('/nonexistent/model.safetensors')).rejects.toThrow(NotFoundError);
    await expect(RNN.fromSafetensors('/nonexistent/model.safetensors')).rejects.toThrow(
      /there is no file '\/nonexistent\/model.safetensors'/,
    );
    await expect(RNN.fromSafetensors(new URL('file:///nonexistent/model.safetensors'))).rejects.toThrow(NotFoundError);
    // What is not a regular file is never read: /dev/zero would be read forever.
    await expect(RNN.load('/dev/zero')).rejects.toThrow(/'\/dev\/zero' is not a regular file/);
    await expect(RNN.load('/tmp')).rejects.toThrow(FormatError);
  });
});

describe('the browser path', () => {
  it('needs no Node API: a path is refused where Node is absent, bytes still load', async () => {
    const process = globalThis.process as { getBuiltinModule?: unknown };
    const real = process.getBuiltinModule;
    process.getBuiltinModule = undefined;
    try {
      await expect(RNN.fromSafetensors(files[0])).rejects.toThrow(/can be read only in Node ≥ 20.16; elsewhere pass a URL or the bytes/);
      await expect(
        RNN.fromSafetensors(readFileSync(files[0]), { nonlinearity: caseOf(files[0]).config.nonlinearity }),
      ).resolves.toBeInstanceOf(RNN);
    } finally {
      process.getBuiltinModule = real;
    }
  });

  it('imports no Node module in src/io, statically or dynamically', () => {
    const dir = join(root, 'src/io');
    for (const name of readdirSync(dir, { recursive: true }) as string[]) {
      if (!name.endsWith('.ts')) continue;
      expect(readFileSync(join(dir, name), 'utf8'), name).not.toMatch(/from ['"]node:|import\(/);
    }
  });
});

function omit<T>(tensors: Record<string, T>, pattern: RegExp): Record<string, T> {
  return Object.fromEntries(Object.entries(tensors).filter(([name]) => !pattern.test(name)));
}

function parseTensor(bytes: Uint8Array, name: string): Float32Array {
  const parsed = parseSafetensors(bytes);
  const t = parsed.tensors.find((e) => e.name === name)!;
  return new Float32Array(bytes.slice(t.begin, t.end).buffer);
}

/** float → IEEE half (the values used here are exact in half precision). */
function toHalf(x: number): number {
  if (x === 0) return 0;
  const sign = x < 0 ? 0x8000 : 0;
  const a = Math.abs(x);
  const exponent = Math.floor(Math.log2(a));
  const fraction = Math.round((a / 2 ** exponent - 1) * 1024);
  return sign | ((exponent + 15) << 10) | fraction;
}
