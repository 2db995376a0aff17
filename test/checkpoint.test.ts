/**
 * Checkpoints, binary (`save` / `RNN.load`) and JSON (`toJSON` / `RNN.fromJSON`): training resumed from one
 * follows the uninterrupted trajectory bit for bit, every bit of every tensor survives, the format is
 * versioned, and each kind of bad file is refused by name.
 */
import { describe, expect, it } from 'vitest';
import {
  type BackendChoice,
  DisposedError,
  FormatError,
  type ModelJSON,
  NonFiniteError,
  type OptimizerOptions,
  OptionError,
  RNN,
  type Sample,
  ShapeError,
  StateDictError,
  type Tensor,
  VersionError,
} from '../src/index.js';
import type { OptimizerSnapshot } from '../src/index.js';
import { type NamedTensor, parseSafetensors, readFloat32, writeSafetensors } from '../src/io/safetensors.js';
import { BACKENDS, randomArray } from './helpers.js';

const bits = (data: Float32Array) => Array.from(new Uint32Array(data.buffer, data.byteOffset, data.length));

/** Every parameter and optimizer tensor as raw bits, the step count and the generator: all that decides the future. */
function everything(net: RNN) {
  const optimizer = net.optimizerState();
  return {
    config: net.config,
    parameters: Object.fromEntries(Object.entries(net.stateDict()).map(([name, t]) => [name, bits(t.data)])),
    optimizer: optimizer && { config: optimizer.config, step: optimizer.step, tensors: optimizer.tensors.map(bits) },
    generator: net.generatorState,
  };
}

const roundTrips = {
  'save / RNN.load': (net: RNN, backend: BackendChoice) => RNN.load(net.save(), { backend }),
  'JSON.stringify / RNN.fromJSON': (net: RNN, backend: BackendChoice) => RNN.fromJSON(JSON.stringify(net), { backend }),
  'toJSON / RNN.fromJSON (the object)': (net: RNN, backend: BackendChoice) => RNN.fromJSON(net.toJSON(), { backend }),
};

describe.each(BACKENDS)('resuming [%s]', (backend) => {
  // Shuffled batches of mixed lengths and dropout between two LSTM layers: the generator's state decides the
  // trajectory as much as Adam's moments do.
  const options = { cell: 'lstm', inputSize: 2, hiddenSize: 6, numLayers: 2, dropout: 0.2, outputSize: 1, seed: 3, backend } as const;
  const data: Sample[] = Array.from({ length: 24 }, (_, i) => {
    const input = Array.from({ length: 3 + (i % 3) }, (_, t) => [Math.sin(i + t), Math.cos(2 * i - t)]);
    return { input, target: [input.reduce((s, [a, b]) => s + a * b, 0)] };
  });
  const train = (net: RNN, epochs: number) => net.train(data, { epochs, batchSize: 5, optimizer: { kind: 'adam', lr: 0.01 } });

  it.each(Object.entries(roundTrips))('train: 5 epochs ≡ 2 epochs, %s, 3 epochs, bit for bit', async (_, roundTrip) => {
    const straight = await RNN.create(options);
    const whole = await train(straight, 5);
    const first = await RNN.create(options);
    const before = await train(first, 2);
    const resumed = await roundTrip(first, backend);
    expect(everything(resumed)).toEqual(everything(first));
    first.dispose();
    const after = await train(resumed, 3);
    expect([...before.loss, ...after.loss]).toEqual(whole.loss);
    expect(everything(resumed)).toEqual(everything(straight));
  });

  const optimizers: OptimizerOptions[] = [
    { kind: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 },
    { kind: 'adam', lr: 0.01, amsgrad: true },
    { kind: 'adamw', lr: 0.01, weightDecay: 0.1 },
    { kind: 'rmsprop', lr: 0.01, momentum: 0.5, centered: true },
    { kind: 'adagrad', lr: 0.1, lrDecay: 0.01, initialAccumulatorValue: 0.1 },
  ];
  it.each(optimizers)('step: 6 steps ≡ 2 steps, save, load, 4 steps, bit for bit ($kind)', async (optimizer) => {
    const gru = { cell: 'gru', inputSize: 3, hiddenSize: 4, bidirectional: true, outputSize: 2, seed: 8, backend } as const;
    const input: Tensor = { data: randomArray(5 * 3 * 3, 1), shape: [5, 3, 3] };
    const target: Tensor = { data: randomArray(5 * 3 * 2, 2), shape: [5, 3, 2] };
    const step = (net: RNN) => net.step(input, target, { optimizer, clipGradValue: 0.5 });
    const straight = await RNN.create(gru);
    for (let i = 0; i < 6; i++) step(straight);
    const first = await RNN.create(gru);
    for (let i = 0; i < 2; i++) step(first);
    const resumed = await RNN.load(first.save(), { backend });
    for (let i = 0; i < 4; i++) step(resumed);
    expect(resumed.optimizerState()!.step).toBe(6);
    expect(everything(resumed)).toEqual(everything(straight));
  });
});

describe('round trips', () => {
  it.each(Object.entries(roundTrips))('%s keeps every bit: −0, subnormals, the largest float32, optimizer state', async (_, roundTrip) => {
    const net = await RNN.create({ cell: 'rnn', inputSize: 2, hiddenSize: 2, nonlinearity: 'relu', outputSize: 1, seed: 1, backend: 'js' });
    const dict = net.stateDict();
    net.loadStateDict({ ...dict, 'rnn.weight_hh_l0': { data: Float32Array.of(-0, 1.4e-45, -3.4028234663852886e38, 0.1), shape: [2, 2] } });
    const moments = Float32Array.from(randomArray(net.numParameters, 3));
    moments[0] = -0;
    moments[1] = 2 ** -140;
    const snapshot: OptimizerSnapshot = {
      config: { kind: 'sgd', lr: 0.1, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0 },
      step: 7,
      tensors: [moments],
    };
    net.loadOptimizerState(snapshot);
    net.generatorState = 0xfedcba98;
    const back = await roundTrip(net, 'js');
    expect(everything(back)).toEqual(everything(net));
    expect(Object.is(back.stateDict()['rnn.weight_hh_l0'].data[0], -0)).toBe(true);
    expect(back.backend).toBe('js');
  });

  it('a model that never trained comes back without optimizer state', async () => {
    const net = await RNN.create({ inputSize: 1, hiddenSize: 3, seed: 4 });
    for (const roundTrip of Object.values(roundTrips)) {
      const back = await roundTrip(net, 'wasm-simd');
      expect(back.optimizerState()).toBeNull();
      expect(everything(back)).toEqual(everything(net));
    }
  });

  it('writes JSON a person can read: PyTorch names, shortest decimals, −0 listed', async () => {
    const net = await RNN.create({ inputSize: 1, hiddenSize: 1, nonlinearity: 'relu', outputSize: 1 });
    net.loadStateDict({
      weight_ih_l0: [[1.8]],
      weight_hh_l0: [[-0.5]],
      bias_ih_l0: [0],
      bias_hh_l0: [-0],
      'head.weight': [[1.1]],
      'head.bias': [0],
    });
    const text = JSON.stringify(net);
    expect(text).toBe(JSON.stringify(net.toJSON()));
    expect(text).toContain('"format":"rnn-wasm","version":1,"config":{"cell":"rnn","inputSize":1,"hiddenSize":1,');
    expect(text).toContain(
      '"parameters":{"rnn.weight_ih_l0":{"shape":[1,1],"data":[1.8]},"rnn.weight_hh_l0":{"shape":[1,1],"data":[-0.5]},',
    );
    expect(text).toContain('"rnn.bias_hh_l0":{"shape":[1],"data":[0],"negativeZeros":[0]}');
    expect(text).toContain('"optimizer":null,"generator":0}');
    const json: ModelJSON = JSON.parse(text);
    expect(json.config).toEqual({
      cell: 'rnn',
      inputSize: 1,
      hiddenSize: 1,
      numLayers: 1,
      bidirectional: false,
      nonlinearity: 'relu',
      bias: true,
      outputSize: 1,
      batchFirst: false,
      dropout: 0,
      seed: 0,
    });
  });

  it("leaves nonlinearity out of a gated cell's configuration, which RNN.create would refuse", async () => {
    const net = await RNN.create({ cell: 'gru', inputSize: 1, hiddenSize: 2 });
    expect(net.toJSON().config).not.toHaveProperty('nonlinearity');
    expect((await RNN.load(net.save())).config).toEqual(net.config);
  });
});

/** A checkpoint's tensors and metadata, changed by `edit`, written again. */
async function editCheckpoint(bytes: Uint8Array, edit: (tensors: NamedTensor[], metadata: Map<string, string>) => void) {
  const file = parseSafetensors(bytes);
  const tensors = file.tensors.map((t) => ({ name: t.name, shape: t.shape, data: readFloat32(file, t) }));
  const metadata = new Map(file.metadata);
  edit(tensors, metadata);
  return writeSafetensors(tensors, metadata);
}

describe('versions and bad checkpoints', () => {
  const trained = async () => {
    const net = await RNN.create({ inputSize: 2, hiddenSize: 3, outputSize: 1, seed: 2, backend: 'js' });
    net.step([[[0.1, 0.2]]], [[0.3]], { optimizer: { kind: 'adam', lr: 0.01 } });
    return net;
  };

  it('refuses a file from a newer version with VersionError, and a nonsense version with FormatError', async () => {
    const net = await trained();
    const newer = await editCheckpoint(net.save(), (_, m) => m.set('rnn_wasm.version', '4'));
    await expect(RNN.load(newer)).rejects.toThrow(VersionError);
    await expect(RNN.load(newer)).rejects.toThrow(
      /written by a newer rnn-wasm, in format version 4; this version reads format version 3 and older: upgrade/,
    );
    await expect(RNN.fromJSON({ ...net.toJSON(), version: 4 })).rejects.toThrow(VersionError);
    await expect(RNN.fromJSON({ ...net.toJSON(), version: 4, newField: 1 } as ModelJSON)).rejects.toThrow(VersionError);
    await expect(RNN.fromSafetensors(await editCheckpoint(net.toSafetensors(), (_, m) => m.set('rnn_wasm.version', '4')))).rejects.toThrow(
      VersionError,
    );
    for (const version of ['0', 'one', '1.5', '']) {
      const bad = await editCheckpoint(net.save(), (_, m) => m.set('rnn_wasm.version', version));
      await expect(RNN.load(bad), version).rejects.toThrow(/the format version must be a positive integer/);
      await expect(RNN.load(bad), version).rejects.not.toThrow(VersionError);
    }
  });

  it('sends other files to the right loader', async () => {
    const net = await trained();
    await expect(RNN.load(net.toSafetensors())).rejects.toThrow(/weights without training state .*RNN.fromSafetensors/);
    const pytorch = writeSafetensors([{ name: 'weight_hh_l0', shape: [1, 1], data: Float32Array.of(1) }], new Map([['format', 'pt']]));
    await expect(RNN.load(pytorch)).rejects.toThrow(/not an rnn-wasm checkpoint .*RNN.fromSafetensors/);
    await expect(RNN.fromJSON('{"format":"keras","version":1}')).rejects.toThrow(/not an rnn-wasm model: 'format' is "keras"/);
    await expect(RNN.fromJSON('[1, 2]')).rejects.toThrow(/expected a model's JSON object or its text, got an array of 2/);
  });

  it('names what is wrong inside a checkpoint', async () => {
    const net = await trained();
    const saved = net.save();
    const cases: [(t: NamedTensor[], m: Map<string, string>) => void, RegExp, new (m: string) => Error][] = [
      [
        (t) =>
          t.splice(
            t.findIndex((x) => x.name === 'optimizer.1'),
            1,
          ),
        /the optimizer \(adam, configured as in the file\) keeps 2 state tensors, the file has 1/,
        FormatError,
      ],
      [
        (t) =>
          t.splice(
            t.findIndex((x) => x.name === 'optimizer.0'),
            1,
          ),
        /optimizer.0 is missing while optimizer.1 is there/,
        FormatError,
      ],
      [(t) => t.splice(0, 1), /parameter "rnn.weight_ih_l0" is missing/, StateDictError],
      [(t) => t.push({ name: 'extra', shape: [1], data: Float32Array.of(1) }), /unexpected tensor "extra"/, StateDictError],
      [
        (t) => {
          t[1] = { ...t[1], shape: [9], data: new Float32Array(9) };
        },
        /parameter "rnn.weight_hh_l0" should have shape \[3, 3\], got \[9\]/,
        ShapeError,
      ],
      [
        (t) => {
          t[2].data[1] = NaN;
        },
        /parameter "rnn.bias_ih_l0": element 1 is NaN/,
        NonFiniteError,
      ],
      [
        (t) => {
          t.at(-1)!.data[4] = -Infinity;
        },
        /optimizer state tensor 1: element 4 is -Infinity/,
        NonFiniteError,
      ],
      [
        (_, m) => m.set('rnn_wasm.training', '{"optimizer":null,"generator":1}'),
        /optimizer state tensors but no optimizer metadata/,
        FormatError,
      ],
      [
        (_, m) => m.set('rnn_wasm.training', m.get('rnn_wasm.training')!.replace(/"generator":\d+/, '"generator":4294967296')),
        /the generator state must be an integer in \[0, 2³²\), got number 4294967296/,
        FormatError,
      ],
      [
        (_, m) => m.set('rnn_wasm.training', '{"optimizer":{"config":{"kind":"lion"},"step":1},"generator":1}'),
        /the optimizer's configuration: optimizer.kind must be one of/,
        FormatError,
      ],
      [(_, m) => m.set('rnn_wasm.training', '{"generator":1}'), /missing field 'optimizer'/, FormatError],
      [(_, m) => m.set('rnn_wasm.training', '{"optimizer":null,"generator":1,"epoch":3}'), /unknown field "epoch"/, FormatError],
      [
        (_, m) => m.set('rnn_wasm.training', '{"optimizer":'),
        /metadata "rnn_wasm.training": expected a JSON value, found the end of the text/,
        FormatError,
      ],
      [
        (_, m) => m.set('rnn_wasm.config', '{"inputSize":2,"hiddenSize":3,"outputSize":1,"backend":"js"}'),
        /names 'backend', which is chosen when loading/,
        FormatError,
      ],
      [
        (_, m) => m.set('rnn_wasm.config', '{"inputSize":2,"hiddenSize":3,"outputSize":1,"threads":2}'),
        /names 'threads', which is chosen when loading/,
        FormatError,
      ],
      [
        (_, m) => m.set('rnn_wasm.config', '{"inputSize":2,"hiddenSize":3,"outputSize":1,"hiddenSzie":3}'),
        /configuration: RNN.create: unknown option 'hiddenSzie'/,
        FormatError,
      ],
      [
        (_, m) => m.set('rnn_wasm.config', '{"inputSize":2,"hiddenSize":4,"outputSize":1}'),
        /"rnn.weight_ih_l0" should have shape \[4, 2\], got \[3, 2\]/,
        ShapeError,
      ],
    ];
    for (const [edit, message, type] of cases) {
      const load = RNN.load(await editCheckpoint(saved, edit));
      await expect(load, String(message)).rejects.toThrow(message);
      await expect(RNN.load(await editCheckpoint(saved, edit))).rejects.toThrow(type);
    }
    await expect(RNN.load(saved, { hiddenSize: 4 } as never)).rejects.toThrow(OptionError);
    await expect(RNN.load(saved, { hiddenSize: 4 } as never)).rejects.toThrow(
      /RNN.load: unknown option 'hiddenSize' \(known: backend, wasm, threads\)/,
    );
  });

  it('names what is wrong inside a JSON checkpoint', async () => {
    const json = (await trained()).toJSON();
    const p = json.parameters;
    const cases: [unknown, RegExp, new (m: string) => Error][] = [
      [
        { ...json, parameters: { ...p, 'head.bias': { shape: [1], data: [1e39] } } },
        /parameter "head.bias": element 0 is 1e\+39, beyond float32's range/,
        NonFiniteError,
      ],
      [{ ...json, parameters: { ...p, 'head.bias': { shape: [1], data: ['0.5'] } } }, /element 0 is "0.5", not a number/, FormatError],
      [
        { ...json, parameters: { ...p, 'head.bias': { shape: [1e9, 1e9], data: [0] } } },
        /shape \[1000000000, 1000000000\] does not hold the 1 values of data/,
        FormatError,
      ],
      [
        { ...json, parameters: { ...p, 'head.bias': { shape: [1], data: [2], negativeZeros: [0] } } },
        /negativeZeros lists number 0, which is not the index of a zero/,
        FormatError,
      ],
      [{ ...json, parameters: { ...p, 'head.bias': { shape: [1], data: [2], dtype: 'F32' } } }, /unknown field "dtype"/, FormatError],
      [
        { ...json, optimizer: { ...json.optimizer, step: -1 } },
        /the optimizer's step must be a non-negative integer, got number -1/,
        FormatError,
      ],
      [{ ...json, optimizer: { ...json.optimizer, state: [] } }, /keeps 2 state tensors, the file has 0/, FormatError],
      [{ ...json, generator: 'seed' }, /the generator state must be an integer in \[0, 2³²\), got "seed"/, FormatError],
      [
        { ...json, config: { ...json.config, cell: 'transformer' } },
        /configuration: cell must be one of 'rnn', 'lstm', 'gru', got 'transformer'/,
        FormatError,
      ],
      // A configuration claiming an enormous model is refused by the tensors' shapes before any memory is taken.
      [
        { ...json, config: { ...json.config, hiddenSize: 30000, numLayers: 4 } },
        /"rnn.weight_ih_l0" should have shape \[30000, 2\], got \[3, 2\]/,
        ShapeError,
      ],
    ];
    for (const [value, message, type] of cases) {
      await expect(RNN.fromJSON(value as ModelJSON), String(message)).rejects.toThrow(message);
      await expect(RNN.fromJSON(JSON.stringify(value) as string), String(message)).rejects.toThrow(type);
    }
    // NaN exists only in the object: JSON.stringify writes it as null.
    const nan = { ...json, parameters: { ...p, 'head.bias': { shape: [1], data: [NaN] } } };
    await expect(RNN.fromJSON(nan)).rejects.toThrow(/parameter "head.bias": element 0 is NaN/);
    await expect(RNN.fromJSON(JSON.stringify(nan))).rejects.toThrow(/parameter "head.bias": element 0 is null, not a number/);
  });

  it('cannot save a disposed model', async () => {
    const net = await trained();
    net.dispose();
    expect(() => net.save()).toThrow(DisposedError);
    expect(() => net.toJSON()).toThrow(DisposedError);
    expect(() => net.toSafetensors()).toThrow(DisposedError);
  });
});
