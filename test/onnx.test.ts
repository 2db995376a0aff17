/**
 * ONNX in and out. Every text-model case (the folders in MODEL_FIXTURES, as test/model-parity.test.ts) on every
 * backend: its `.onnx` (torch.onnx.export) through fromONNX gives PyTorch's logits (`onnx.expected_logits`) from
 * unroll and predict, and the very parameters of its `.safetensors`; toONNX writes a graph that fromONNX reads back
 * tensor for tensor and that onnxruntime (onnxruntime-web's wasm build, in Node) runs with the model's outputs.
 * Then: layout 1, a softmax and a reshape recorded for predict, fine-tuning an imported model, and the typed errors of
 * what this library cannot run. PARITY_EVIDENCE=1 prints the largest difference per case and kind.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { afterAll, describe, expect, it } from 'vitest';
import { FormatError, RNN, type Tensor, UnsupportedError } from '../src/index.js';
import { DTYPE } from '../src/io/onnx/messages.js';
import { ONNX_OUTPUT_KEY, fromONNX, predict, toONNX } from '../src/onnx.js';
import { MODELS, fixtureFolders } from './fixture-folders.js';
import { BACKENDS, expectClose } from './helpers.js';
import { B, H, T, recurrentGraph } from './onnx-graphs.js';

interface JsonTensor {
  shape: number[];
  data: number[];
}
interface ModelCase {
  id: string;
  modules: {
    embedding: { name: string; padding_idx: number | null };
    rnn: { name: string; nonlinearity: 'tanh' | 'relu' | null; batch_first: boolean };
    head: { name: string; on: 'steps' | 'final' };
  };
  input_ids: JsonTensor;
  loss: { target: JsonTensor };
  onnx: { expected_logits: JsonTensor };
}

const folders = fixtureFolders('MODEL_FIXTURES', MODELS);
const cases = folders.flatMap((dir) => {
  if (!existsSync(dir)) throw new Error(`MODEL_FIXTURES: the folder ${dir} does not exist`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ c: JSON.parse(readFileSync(join(dir, f), 'utf8')) as ModelCase, dir }));
});
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

const evidence: string[] = [];
const ids = (t: JsonTensor) => ({ data: Int32Array.from(t.data), shape: t.shape });
const namesOf = (c: ModelCase) => ({ embedding: c.modules.embedding.name, core: c.modules.rnn.name, head: c.modules.head.name });
const paddingOf = (c: ModelCase) => (c.modules.embedding.padding_idx === null ? {} : { paddingIdx: c.modules.embedding.padding_idx });

function expectSameParameters(a: Record<string, Tensor>, b: Record<string, Tensor>, what: string): void {
  expect(Object.keys(a).sort(), `${what}: names`).toEqual(Object.keys(b).sort());
  for (const [name, t] of Object.entries(a)) {
    expect(t.shape, `${what}: ${name} shape`).toEqual(b[name].shape);
    expectClose(t.data, b[name].data, `${what}: ${name}`, 0, 0);
  }
}

async function runInOnnxruntime(bytes: Uint8Array, input: { data: ArrayLike<number>; shape: readonly number[] }, isIds: boolean) {
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  try {
    const tensor = isIds
      ? new ort.Tensor('int64', BigInt64Array.from(Array.from(input.data, BigInt)), input.shape)
      : new ort.Tensor('float32', Float32Array.from(input.data), input.shape);
    const out = (await session.run({ [session.inputNames[0]]: tensor }))[session.outputNames[0]];
    return { data: out.data as Float32Array, dims: [...out.dims] };
  } finally {
    await session.release();
  }
}

expect(cases.length).toBeGreaterThan(0);

for (const { c, dir } of cases) {
  const file = join(dir, `${c.id}.onnx`);
  const expected = c.onnx.expected_logits;
  describe(`${c.id}`, () => {
    for (const backend of BACKENDS) {
      it(`[${backend}] fromONNX: unroll and predict give PyTorch's logits, and the safetensors' parameters`, async () => {
        const net = await fromONNX(file, { backend, names: namesOf(c), ...paddingOf(c) });
        const fromWeights = await RNN.fromSafetensors(readFileSync(join(dir, `${c.id}.safetensors`)), {
          backend,
          headOn: c.modules.head.on,
          batchFirst: c.modules.rnn.batch_first,
          ...paddingOf(c),
          ...(c.modules.rnn.nonlinearity && { nonlinearity: c.modules.rnn.nonlinearity }),
        });
        try {
          const y = net.unroll(ids(c.input_ids)).y;
          expect(y.shape).toEqual(expected.shape);
          const p = predict(net, ids(c.input_ids));
          expect(p.shape).toEqual(expected.shape);
          const maxDiff = Math.max(expectClose(y.data, expected.data, 'unroll y'), expectClose(p.data, expected.data, 'predict'));
          evidence.push(`${c.id} [${backend}] fromONNX logits: maxdiff ${maxDiff.toExponential(2)}`);
          expectSameParameters(net.stateDict(), fromWeights.stateDict(), 'fromONNX vs fromSafetensors');
          expect({ ...net.config, seed: 0 }).toEqual({ ...fromWeights.config, seed: 0 });
        } finally {
          net.dispose();
          fromWeights.dispose();
        }
      });
    }

    it('toONNX: fromONNX reads it back tensor for tensor, and onnxruntime runs it with the same outputs', async () => {
      const net = await fromONNX(file, { backend: 'js' });
      try {
        const bytes = toONNX(net);
        const back = await fromONNX(bytes, { backend: 'js' });
        try {
          expectSameParameters(back.stateDict(), net.stateDict(), 'round trip');
          expect(back.config).toEqual(net.config);
        } finally {
          back.dispose();
        }
        const y = net.unroll(ids(c.input_ids)).y;
        const out = await runInOnnxruntime(bytes, c.input_ids, true);
        expect(out.dims).toEqual(y.shape);
        const maxDiff = Math.max(
          expectClose(out.data, y.data, 'onnxruntime vs unroll'),
          expectClose(out.data, expected.data, 'onnxruntime vs PyTorch'),
        );
        evidence.push(`${c.id} onnxruntime(toONNX): maxdiff ${maxDiff.toExponential(2)}`);
      } finally {
        net.dispose();
      }
    });
  });
}

describe('models of this library out and back', () => {
  const inputs = (n: number) => Array.from({ length: n }, (_, i) => Math.sin(i + 1));
  const models = [
    { cell: 'lstm', inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, batchFirst: true, outputSize: 2 },
    { cell: 'rnn', nonlinearity: 'relu', inputSize: 3, hiddenSize: 4, bias: false },
    { cell: 'gru', inputSize: 3, hiddenSize: 5, numLayers: 2, outputSize: 3, headOn: 'final' },
    // The cell options other formats need, as ONNX attributes, and a head's activation as its op.
    {
      cell: 'gru',
      inputSize: 3,
      hiddenSize: 4,
      resetAfter: false,
      recurrentActivation: 'hard_sigmoid',
      outputSize: 3,
      headActivation: 'softmax',
    },
    {
      cell: 'lstm',
      inputSize: 3,
      hiddenSize: 4,
      bidirectional: true,
      nonlinearity: 'relu',
      recurrentActivation: 'hardsigmoid',
      outputSize: 2,
      headActivation: 'tanh',
    },
    { cell: 'gru', inputSize: 3, hiddenSize: 3, numLayers: 2, nonlinearity: 'relu', headOn: 'final' },
    // Reverse-only layers (ONNX's direction "reverse"), on every step and on the final states.
    { cell: 'lstm', inputSize: 3, hiddenSize: 4, numLayers: 2, reverse: true, outputSize: 2 },
    { cell: 'gru', inputSize: 3, hiddenSize: 4, reverse: true, resetAfter: false, outputSize: 2, headOn: 'final' },
    // Stacks of differing cores, and cores reading backwards (a Slice with step -1 before them).
    {
      cell: 'lstm',
      inputSize: 3,
      hiddenSize: 4,
      stack: [{ cell: 'gru', hiddenSize: 3, resetAfter: false, name: 'second' }],
      outputSize: 2,
    },
    { cell: 'gru', inputSize: 3, hiddenSize: 4, bidirectional: true, goBackwards: true, outputSize: 2, headOn: 'final', batchFirst: true },
    {
      cell: 'rnn',
      inputSize: 3,
      hiddenSize: 4,
      numLayers: 2,
      stack: [{ cell: 'lstm', hiddenSize: 5, goBackwards: true }],
      headOn: 'final',
    },
    // Element-wise merges (Slices of Y and Y_h, then Add, Mul, or Add and a half), on steps, on final states, headless.
    { cell: 'gru', inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, mergeMode: 'sum', outputSize: 2 },
    { cell: 'lstm', inputSize: 3, hiddenSize: 4, bidirectional: true, mergeMode: 'ave', outputSize: 2, headOn: 'final', batchFirst: true },
    {
      cell: 'rnn',
      inputSize: 3,
      hiddenSize: 4,
      bidirectional: true,
      mergeMode: 'mul',
      stack: [{ cell: 'gru', hiddenSize: 3, bidirectional: true, mergeMode: 'ave' }],
      headOn: 'final',
    },
    { cell: 'rnn', inputSize: 3, hiddenSize: 4, bidirectional: true, mergeMode: 'mul' },
  ] as const;
  it.each(models)('%o', async (options) => {
    const net = await RNN.create({ ...options, seed: 5, backend: 'js' });
    try {
      const shape = 'batchFirst' in options && options.batchFirst ? [2, 4, 3] : [4, 2, 3];
      const input = { data: inputs(24), shape };
      const bytes = toONNX(net);
      const back = await fromONNX(bytes, { backend: 'js', seed: 5 });
      expect(back.config).toEqual(net.config);
      expectSameParameters(back.stateDict(), net.stateDict(), 'round trip');
      back.dispose();
      const y = net.unroll(input).y;
      const out = await runInOnnxruntime(bytes, input, false);
      expect(out.dims).toEqual(y.shape);
      expectClose(out.data, y.data, 'onnxruntime vs unroll');
    } finally {
      net.dispose();
    }
  });
});

describe('graphs beyond the fixtures', () => {
  it('layout 1 (batch-first inside the node) is a batch-first model with the same numbers as layout 0', async () => {
    const time = await fromONNX(recurrentGraph(), { backend: 'js' });
    const batch = await fromONNX(recurrentGraph({ layout: 1 }), { backend: 'js' });
    expect(batch.config.batchFirst).toBe(true);
    expectSameParameters(batch.stateDict(), time.stateDict(), 'layout 1 vs 0');
    const x = Array.from({ length: T * B * 2 }, (_, i) => Math.cos(i));
    const xb = new Array<number>(T * B * 2);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) for (let i = 0; i < 2; i++) xb[(b * T + t) * 2 + i] = x[(t * B + b) * 2 + i];
    const yt = time.unroll({ data: x, shape: [T, B, 2] }).y;
    const yb = batch.unroll({ data: xb, shape: [B, T, 2] }).y;
    for (let t = 0; t < T; t++)
      for (let b = 0; b < B; b++)
        for (let h = 0; h < H; h++) {
          expect(yb.data[(b * T + t) * H + h]).toBeCloseTo(yt.data[(t * B + b) * H + h], 6);
        }
    time.dispose();
    batch.dispose();
  });

  it('a log-softmax and a view(-1, classes) after the model are recorded and applied by predict', async () => {
    const axes = { name: 'shape', dtype: DTYPE.INT64, dims: [2], data: [-1, H] };
    const bytes = recurrentGraph({
      extraInitializers: [axes],
      after: [
        { opType: 'Squeeze', name: '/rnn/Squeeze', inputs: ['Y', 'axes'], outputs: ['out'] },
        { opType: 'LogSoftmax', name: '/LogSoftmax', inputs: ['out'], outputs: ['logp'], attributes: [{ name: 'axis', int: -1 }] },
        { opType: 'Reshape', name: '/Reshape', inputs: ['logp', 'shape'], outputs: ['flat'] },
      ],
      output: 'flat',
    });
    const net = await fromONNX(bytes, { backend: 'js' });
    expect(JSON.parse(net.metadata[ONNX_OUTPUT_KEY])).toEqual({ name: 'flat', apply: 'logSoftmax', dims: [['T', 'B'], ['O']] });
    // Any length and batch: T = 5, B = 4.
    const x = { data: Array.from({ length: 5 * 4 * 2 }, (_, i) => Math.sin(i)), shape: [5, 4, 2] };
    const p = predict(net, x);
    expect(p.shape).toEqual([20, H]);
    const y = net.unroll(x).y;
    for (let r = 0; r < 20; r++) {
      const row = Array.from(y.data.subarray(r * H, (r + 1) * H));
      const log = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
      row.forEach((v, h) => expect(p.data[r * H + h]).toBeCloseTo(v - log, 5));
    }
    net.dispose();
  });

  it('an imported model fine-tunes: its loss goes down over a few steps', async () => {
    // A language model (a head on every step) where there is one, whatever the cases are called; else the first.
    const { c, dir } = cases.find(({ c: k }) => k.modules.head.on === 'steps') ?? cases[0];
    const net = await fromONNX(join(dir, `${c.id}.onnx`), { backend: 'wasm' });
    const losses: number[] = [];
    for (let s = 0; s < 5; s++) {
      losses.push(net.step(ids(c.input_ids), c.loss.target, { loss: 'cross_entropy', optimizer: { kind: 'adam', lr: 0.01 } }).loss);
    }
    expect(losses[4]).toBeLessThan(losses[0]);
    net.dispose();
  });

  const zeros = (name: string, dims: number[]) => ({
    name,
    dtype: DTYPE.FLOAT,
    dims,
    data: new Float32Array(dims.reduce((a, b) => a * b, 1)),
  });
  const errors: [string, Uint8Array, RegExp][] = [
    [
      'clip',
      recurrentGraph({ attributes: [{ name: 'clip', float: 3 }] }),
      /node "\/rnn\/Op" \(LSTM\): attribute "clip" \(cell clipping\) is not supported/,
    ],
    [
      'peepholes',
      recurrentGraph({
        extraInputs: ['', '', '', 'P'],
        extraInitializers: [{ ...zeros('P', [1, 3 * H]), data: new Float32Array(3 * H).fill(0.5) }],
      }),
      /node "\/rnn\/Op" \(LSTM\): peephole weights \(input P\) are not supported/,
    ],
    [
      'input_forget',
      recurrentGraph({ attributes: [{ name: 'input_forget', int: 1 }] }),
      /\(LSTM\): input_forget = 1 \(coupled gates\) is not supported/,
    ],
    [
      'other activations',
      recurrentGraph({ attributes: [{ name: 'activations', strings: ['Sigmoid', 'Tanh', 'Elu'] }] }),
      /\(LSTM\): activations \[Sigmoid, Tanh, Elu\]/,
    ],
    [
      'a HardSigmoid of another slope',
      recurrentGraph({
        attributes: [
          { name: 'activations', strings: ['HardSigmoid', 'Tanh', 'Tanh'] },
          { name: 'activation_alpha', floats: [0.3, 0, 0] },
        ],
      }),
      /\(LSTM\): activations \[HardSigmoid, Tanh, Tanh\]/,
    ],
    [
      'an unsupported op',
      recurrentGraph({ after: [{ opType: 'Elu', name: '/act/Elu', inputs: ['Y'], outputs: ['out'] }] }),
      /node "\/act\/Elu" \(Elu\): this op is not supported/,
    ],
    [
      'an activation that is not on the head',
      recurrentGraph({ after: [{ opType: 'Tanh', name: '/act/Tanh', inputs: ['Y'], outputs: ['out'] }] }),
      /node "\/act\/Tanh" \(Tanh\): this op applies only to the head's output/,
    ],
    [
      'a non-zero constant initial state',
      recurrentGraph({ extraInputs: ['', 'h'], extraInitializers: [{ ...zeros('h', [1, B, H]), data: new Float32Array(B * H).fill(1) }] }),
      /a constant non-zero initial_h/,
    ],
  ];
  it.each(errors)('%s: a typed error naming the node and the feature', async (_, bytes, message) => {
    const error = await fromONNX(bytes, { backend: 'js' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnsupportedError);
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message).toMatch(message);
  });
});

afterAll(() => {
  if (process.env.PARITY_EVIDENCE) console.log(evidence.join('\n'));
});
