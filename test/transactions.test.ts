/**
 * Every call that throws leaves the model exactly as it was: parameters, optimizer state (kind, step count and
 * moments) and the generator, compared as `save()` bytes before and after; and each throws its typed error.
 * Each refusal is shown to be a real one: the same call made to succeed (a clone, a smaller number) does
 * change the model, so an unchanged `save()` cannot come from a call that did nothing at all.
 */
import { describe, expect, it } from 'vitest';
import {
  FormatError,
  NonFiniteError,
  OptionError,
  RNN,
  type Sample,
  ShapeError,
  StateDictError,
  type Tensor,
  type TensorInput,
} from '../src/index.js';
import { BACKENDS, randomArray } from './helpers.js';

type ErrorClass = abstract new (...args: never[]) => Error;

/** Index of the first byte where a and b differ (the shorter length when one is a prefix), -1 when equal. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function expectUnchanged(net: RNN, before: Uint8Array, what: string): void {
  expect(firstDifference(net.save(), before), `${what}: first byte of save() that changed`).toBe(-1);
}

function expectChanged(net: RNN, before: Uint8Array, what: string): void {
  expect(firstDifference(net.save(), before), `${what}: save() should have changed`).not.toBe(-1);
}

/**
 * The model computes what a model freshly loaded from `before` computes: what it derives from its weights (the
 * core's packed copies) was refreshed along with them.
 */
async function expectSameOutputs(net: RNN, before: Uint8Array, input: Tensor, what: string): Promise<void> {
  const fresh = await RNN.load(before, { backend: net.backend });
  expect([...net.unroll(input).y.data], `${what}: outputs`).toEqual([...fresh.unroll(input).y.data]);
}

/** `call` throws an instance of `kind`, and the model's save() bytes are as they were. */
function expectRefused(net: RNN, kind: ErrorClass, call: () => unknown, what: string): Error {
  const before = net.save();
  let error: unknown = null;
  try {
    call();
  } catch (e) {
    error = e;
  }
  expect(error, `${what}: ${String(error)}`).toBeInstanceOf(kind);
  expectUnchanged(net, before, what);
  return error as Error;
}

async function expectRefusedAsync(net: RNN, kind: ErrorClass, call: () => Promise<unknown>, what: string): Promise<Error> {
  const before = net.save();
  const error = await call().then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, `${what}: ${String(error)}`).toBeInstanceOf(kind);
  expectUnchanged(net, before, what);
  return error as Error;
}

const T = 3,
  B = 2,
  I = 2;
const x: Tensor = { data: randomArray(T * B * I, 11), shape: [T, B, I] };
const t: Tensor = { data: randomArray(T * B, 12, 0.5), shape: [T, B, 1] };
const zeros: Tensor = { data: new Float32Array(T * B * I), shape: [T, B, I] };
const filled = (shape: number[], value: number): Tensor => ({ data: new Float32Array(shape.reduce((a, b) => a * b)).fill(value), shape });
/** A target so far from any output that gradient elements reach ~1e25: finite, but their squares overflow float32. */
const farTarget = filled([T, B, 1], 1e25);

describe.each(BACKENDS)('transactions [%s]', (backend) => {
  /** Two stacked relu layers with dropout between them: every training call draws masks from the generator. */
  const stacked = () =>
    RNN.create({ inputSize: I, hiddenSize: 3, numLayers: 2, dropout: 0.5, nonlinearity: 'relu', outputSize: 1, seed: 7, backend });
  const clone = (net: RNN) => RNN.load(net.save(), { backend });

  it('step: a non-finite gradient under dropout leaves the generator where it was', async () => {
    const net = await stacked();
    net.step(x, t);
    net.step(x, t);
    // Weights that send an input of 10 past float32's range: the gradients come out NaN.
    net.loadStateDict({ ...net.stateDict(), 'rnn.weight_ih_l0': filled([3, I], 3e38) });
    const overflowing = filled([T, B, I], 10);
    const generator = net.generatorState;
    expectRefused(net, NonFiniteError, () => net.step(overflowing, t), 'non-finite gradient');
    expect(net.generatorState).toBe(generator);
    // The forward pass of that step draws dropout masks: the same pass, allowed to finish, moves the generator.
    const twin = await clone(net);
    twin.unroll(overflowing, { training: true });
    expect(twin.generatorState).not.toBe(generator);
    expectRefused(
      net,
      NonFiniteError,
      () => net.step(overflowing, t, { optimizer: { kind: 'sgd', lr: 0.1 } }),
      'non-finite gradient under another optimizer',
    );
  });

  it('step: a refused step under another optimizer kind keeps the momentum state intact', async () => {
    const net = await stacked();
    const sgd = { kind: 'sgd', lr: 0.05, momentum: 0.9 } as const;
    for (let i = 0; i < 3; i++) net.step(x, t, { optimizer: sgd });
    const state = net.optimizerState()!;
    expect(state.config.kind).toBe('sgd');
    expect(state.step).toBe(3);
    expect(
      state.tensors[0].some((v) => v !== 0),
      'a momentum buffer to keep',
    ).toBe(true);
    const before = net.save();
    expectRefused(net, NonFiniteError, () => net.step(x, farTarget, { optimizer: { kind: 'adam' } }), 'adam, g² overflowing');
    expectRefused(net, NonFiniteError, () => net.step(x, t, { optimizer: { kind: 'rmsprop', lr: 1e38 } }), 'rmsprop, huge lr');
    expectRefused(
      net,
      NonFiniteError,
      () => net.step(zeros, t, { optimizer: { kind: 'adam', eps: 0, amsgrad: true } }),
      'adam amsgrad, 0/0',
    );
    expect(net.optimizerState()).toEqual(state);
    // The next momentum step continues from the kept buffer: the same as on a model that never saw the refusals.
    const untouched = await RNN.load(before, { backend });
    net.step(x, t, { optimizer: sgd });
    untouched.step(x, t, { optimizer: sgd });
    expect(firstDifference(net.save(), untouched.save()), 'after the next momentum step').toBe(-1);
    expectChanged(net, before, 'the momentum step');
  });

  it('step: an update that would write non-finite values is refused although the gradient is finite', async () => {
    const net = await stacked();
    net.step(x, t);
    const before = net.save();

    // g ~ 1e25 is finite, and SGD takes it; Adam's second moment (1 - β2)·g² would not fit in float32.
    const probe = await clone(net);
    const { grads } = probe.gradients(x, farTarget);
    const all = Object.values(grads).flatMap((g) => [...g.data]);
    expect(all.every(Number.isFinite), 'finite gradients').toBe(true);
    expect(Math.max(...all.map(Math.abs))).toBeGreaterThan(1e20);
    probe.step(x, farTarget, { optimizer: { kind: 'sgd', lr: 1e-3 } });
    for (const kind of ['adam', 'adamw', 'rmsprop', 'adagrad'] as const) {
      expectRefused(net, NonFiniteError, () => net.step(x, farTarget, { optimizer: { kind } }), `${kind}: g² past float32`);
    }

    // A learning rate that throws the parameters past float32's range.
    expectRefused(net, NonFiniteError, () => net.step(x, t, { optimizer: { kind: 'rmsprop', lr: 1e38 } }), 'rmsprop lr 1e38');
    expectRefused(net, NonFiniteError, () => net.step(x, t, { optimizer: { kind: 'adam', lr: 1e39 } }), 'adam lr 1e39');
    const hundred = filled([T, B, 1], 100);
    const lrProbe = await clone(net);
    const headBias = lrProbe.gradients(x, hundred).grads['head.bias'].data[0];
    expect(Math.abs(headBias) * 1e38, 'lr·g past float32').toBeGreaterThan(3.5e38);
    expectRefused(net, NonFiniteError, () => net.step(x, hundred, { optimizer: { kind: 'sgd', lr: 1e38 } }), 'sgd lr 1e38');
    lrProbe.step(x, hundred, { optimizer: { kind: 'sgd', lr: 1e-3 } });

    // eps 0 and a parameter without gradient (the first layer's input weights, for an all-zero input): 0 / 0.
    const zeroProbe = await clone(net);
    expect([...zeroProbe.gradients(zeros, t).grads['rnn.weight_ih_l0'].data]).toEqual([0, 0, 0, 0, 0, 0]);
    for (const kind of ['adam', 'rmsprop'] as const) {
      expectRefused(net, NonFiniteError, () => net.step(zeros, t, { optimizer: { kind, eps: 0 } }), `${kind} eps 0`);
      zeroProbe.step(zeros, t, { optimizer: { kind } }); // the default eps takes the same step
    }

    expectUnchanged(net, before, 'after all refusals');
    net.step(x, t);
    expectChanged(net, before, 'a normal step');
  });

  it('step and the per-call checks: bad inputs, targets and options change nothing', async () => {
    const net = await stacked();
    net.step(x, t);
    const nan = { data: x.data.map((v, i) => (i === 4 ? NaN : v)), shape: x.shape };
    const cases: [ErrorClass, () => unknown, string][] = [
      [ShapeError, () => net.step({ data: x.data, shape: [T, B * I] }, t), 'step: wrong rank'],
      [NonFiniteError, () => net.step(nan, t), 'step: NaN input'],
      [ShapeError, () => net.step(x, filled([T, B, 2], 0)), 'step: target width'],
      [OptionError, () => net.step(x, t, { optimizer: { kind: 'sgd', nesterov: true } }), 'step: nesterov without momentum'],
      [OptionError, () => net.step(x, t, { clipGradNorm: -1 }), 'step: clipGradNorm'],
      [ShapeError, () => net.step(x, t, { lengths: [1, 4] }), 'step: length past T'],
      [NonFiniteError, () => net.gradients(x, filled([T, B, 1], Infinity)), 'gradients: infinite target'],
      [ShapeError, () => net.gradients(x, [[0], [1]], { loss: 'cross_entropy' }), 'gradients: class id of one class'],
      [OptionError, () => net.evaluate(x, t, { withState: 1 as never }), 'evaluate: withState'],
      [NonFiniteError, () => net.evaluate(x, t, { h0: filled([2, B, 3], NaN) }), 'evaluate: NaN h0'],
      [NonFiniteError, () => net.unroll(nan, { training: true }), 'unroll: NaN input in training'],
      [ShapeError, () => net.unroll(x, { out: { y: new Float32Array(1) } }), 'unroll: out.y size'],
      [OptionError, () => net.unroll(x, { training: 'yes' as never }), 'unroll: training'],
      [
        NonFiniteError,
        () =>
          net.cell([
            [0, 0],
            [0, NaN],
          ]),
        'cell: NaN input',
      ],
      [ShapeError, () => net.cell([[0, 0]], { h: filled([1, 1, 3], 0) }), 'cell: h of one layer'],
    ];
    for (const [kind, call, what] of cases) expectRefused(net, kind, call, what);
  });

  it('train: a NonFiniteError after successful steps puts back the model as it was before train', async () => {
    const net = await stacked();
    net.step(x, t);
    const sample = (i: number, target = randomArray(4, 30 + i, 0.5)): Sample => ({
      input: { data: randomArray(4 * I, 20 + i), shape: [4, I] },
      target: { data: target, shape: [4, 1] },
    });
    // Equal lengths and no shuffling keep the order: four good batches, then one whose update overflows.
    const data = [0, 1, 2, 3].map((i) => sample(i)).concat(sample(4, new Float32Array(4).fill(1e25)));
    let steps = 0;
    const train = () =>
      net.train(data, {
        batchSize: 1,
        shuffle: false,
        onProgress: () => {
          steps += 1;
        },
      });
    const before = net.save();
    await expectRefusedAsync(net, NonFiniteError, train, 'train into an overflow');
    expect(steps).toBe(4);
    await expectSameOutputs(net, before, x, 'after the refused training');
    const good = await clone(net);
    await good.train(data.slice(0, 4), { batchSize: 1, shuffle: false });
    expectChanged(good, net.save(), 'the same training without the bad batch');
  });

  it('train: a callback that throws puts back the model, and its error comes out as it was thrown', async () => {
    const net = await stacked();
    const data: Sample[] = Array.from({ length: 6 }, (_, i) => ({
      input: { data: randomArray(3 * I, 40 + i), shape: [3, I] },
      target: { data: randomArray(3, 50 + i), shape: [3, 1] },
    }));
    const thrown = new Error('stop from onProgress');
    const e1 = await expectRefusedAsync(
      net,
      Error,
      () =>
        net.train(data, {
          batchSize: 2,
          epochs: 2,
          onProgress: (p) => {
            if (p.epoch === 2 && p.batch === 2) throw thrown;
          },
        }),
      'onProgress throws',
    );
    expect(e1).toBe(thrown);
    const e2 = await expectRefusedAsync(
      net,
      Error,
      () =>
        net.train(data, {
          batchSize: 2,
          epochs: 3,
          optimizer: { kind: 'sgd', momentum: 0.5 },
          onEpoch: (record) => {
            if (record.epoch === 2) throw new RangeError('stop from onEpoch');
          },
        }),
      'onEpoch throws',
    );
    expect(e2).toBeInstanceOf(RangeError);
    await expectSameOutputs(net, net.save(), x, 'after the callbacks threw');
  });

  it('train: bad options and samples are refused before the first step', async () => {
    const net = await stacked();
    net.step(x, t);
    const good = (i: number): Sample => ({ input: { data: randomArray(3 * I, 60 + i), shape: [3, I] }, target: [[0.1], [0.2], [0.3]] });
    const data = [good(0), good(1), good(2)];
    let steps = 0;
    const onProgress = () => {
      steps += 1;
    };
    const cases: [ErrorClass, () => Promise<unknown>, string][] = [
      [OptionError, () => net.train(data, { epochs: 0, onProgress }), 'epochs 0'],
      [OptionError, () => net.train(data, { epochz: 2, onProgress } as never), 'unknown option'],
      [OptionError, () => net.train(data, { validationSplit: 1, onProgress }), 'validationSplit 1'],
      [OptionError, () => net.train(data, { onProgress, onEpoch: 'log' as never }), 'onEpoch not a function'],
      [OptionError, () => net.train(data, { earlyStopping: { patience: 0 }, onProgress }), 'patience 0'],
      [ShapeError, () => net.train([], { onProgress }), 'no samples'],
      [ShapeError, () => net.train([...data, { input: [[1, 2, 3]], target: [[0]] }], { onProgress }), 'last sample too wide'],
      [NonFiniteError, () => net.train([...data, { input: [[1, NaN]], target: [[0]] }], { onProgress }), 'NaN in the last sample'],
      [ShapeError, () => net.train([...data, { input: [[1, 2]], target: [0] }], { onProgress }), 'last-step target among every-step'],
      [
        ShapeError,
        () => net.train(data, { validationData: [{ input: [[1, 2]], target: [[0], [1]] }], onProgress }),
        'bad validation sample',
      ],
    ];
    for (const [kind, call, what] of cases) await expectRefusedAsync(net, kind, call, what);
    expect(steps).toBe(0);
  });

  it('loadStateDict, loadOptimizerState and generatorState check everything before writing anything', async () => {
    const net = await stacked();
    net.step(x, t);
    net.step(x, t);
    const dict = net.stateDict();
    // The bad entry comes last, so that a loader writing as it goes would have written the others.
    const { 'head.bias': _bias, ...withoutLast } = dict;
    const scaled: Record<string, Tensor> = Object.fromEntries(
      Object.entries(withoutLast).map(([name, v]) => [name, { data: v.data.map((e) => e * 2), shape: v.shape }]),
    );
    const dictCases: [ErrorClass, Record<string, TensorInput>, string][] = [
      [StateDictError, { ...scaled, 'head.bias': dict['head.bias'], 'head.scale': dict['head.bias'] }, 'unknown name'],
      [ShapeError, { ...scaled, 'head.bias': { data: new Float32Array(2), shape: [2] } }, 'wrong shape'],
      [NonFiniteError, { ...scaled, 'head.bias': { data: new Float32Array([NaN]), shape: [1] } }, 'NaN'],
      [StateDictError, scaled, 'missing head.bias'],
      [StateDictError, { ...scaled, 'head.bias': dict['head.bias'], weight_ih_l0: dict['rnn.weight_ih_l0'] }, 'given twice'],
    ];
    for (const [kind, value, what] of dictCases) expectRefused(net, kind, () => net.loadStateDict(value), `loadStateDict: ${what}`);

    const state = net.optimizerState()!;
    const [m, v] = state.tensors;
    const optimizerCases: [ErrorClass, unknown, string][] = [
      [StateDictError, { ...state, tensors: [m] }, 'one tensor of two'],
      [ShapeError, { ...state, tensors: [m, v.subarray(1)] }, 'a short tensor'],
      [ShapeError, { ...state, tensors: [m, [...v]] }, 'a plain array'],
      [NonFiniteError, { ...state, tensors: [m, v.map((e, i) => (i === v.length - 1 ? NaN : e * 2))] }, 'NaN'],
      [OptionError, { ...state, step: -1 }, 'negative step'],
      [OptionError, { ...state, config: { ...state.config, kind: 'lbfgs' } }, 'unknown kind'],
      [OptionError, { ...state, extra: 1 }, 'unknown field'],
    ];
    for (const [kind, value, what] of optimizerCases) {
      expectRefused(net, kind, () => net.loadOptimizerState(value as never), `loadOptimizerState: ${what}`);
    }
    for (const value of [-1, 1.5, 2 ** 32, NaN, '5']) {
      expectRefused(
        net,
        OptionError,
        () => {
          net.generatorState = value as never;
        },
        `generatorState = ${String(value)}`,
      );
    }
    // The same calls with good values do write.
    const before = net.save();
    net.loadOptimizerState({ ...state, tensors: [m, v.map((e) => e * 2)] });
    expectChanged(net, before, 'loadOptimizerState');
    net.loadStateDict({ ...scaled, 'head.bias': dict['head.bias'] });
    expect(net.stateDict()['rnn.weight_ih_l0'].data).toEqual(scaled['rnn.weight_ih_l0'].data);
  });

  it('a tied model: refused steps and loads leave its one shared weight and its optimizer state as they were', async () => {
    const net = await RNN.create({
      cell: 'lstm',
      hiddenSize: 8,
      embedding: { numEmbeddings: 12, embeddingDim: 8 },
      outputSize: 12,
      tieWeights: true,
      seed: 3,
      backend,
    });
    const ids = { data: Int32Array.from({ length: T * B }, (_, i) => (i * 5) % 12), shape: [T, B] };
    const next = { data: Int32Array.from({ length: T * B }, (_, i) => (i * 7 + 1) % 12), shape: [T, B] };
    const sgd = { kind: 'sgd', lr: 0.1, momentum: 0.9 } as const;
    net.step(ids, next, { loss: 'cross_entropy', optimizer: sgd });
    net.step(ids, next, { loss: 'cross_entropy', optimizer: sgd });
    const far = filled([T, B, 12], 1e25);
    expectRefused(net, NonFiniteError, () => net.step(ids, far, { optimizer: { kind: 'adam' } }), 'adam after sgd, g² overflowing');
    expectRefused(
      net,
      NonFiniteError,
      () => net.step(ids, next, { loss: 'cross_entropy', optimizer: { kind: 'adam', lr: 1e39 } }),
      'adam lr 1e39',
    );
    expect(net.optimizerState()!.config.kind).toBe('sgd');
    expectRefused(net, ShapeError, () => net.step([[1, 12]], [[0, 0]], { loss: 'cross_entropy' }), 'id out of range');
    expectRefused(
      net,
      ShapeError,
      () => net.step({ data: new Float32Array(T * B * 8), shape: [T, B, 8] }, next, { loss: 'cross_entropy' }),
      'vectors into an embedding model',
    );

    const dict = net.stateDict();
    const other = { data: dict['embedding.weight'].data.map((v) => v + 1), shape: dict['embedding.weight'].shape };
    const { 'embedding.weight': _e, 'head.weight': _h, ...rest } = dict;
    expectRefused(net, StateDictError, () => net.loadStateDict({ ...dict, 'head.weight': other }), 'tied names, different values');
    expectRefused(net, StateDictError, () => net.loadStateDict(rest), 'tied weight missing under both names');
    expectRefused(
      net,
      ShapeError,
      () => net.loadStateDict({ ...rest, 'head.weight': { data: new Float32Array(12 * 7), shape: [12, 7] } }),
      'tied weight misshapen',
    );
    const before = net.save();
    net.step(ids, next, { loss: 'cross_entropy', optimizer: sgd });
    expectChanged(net, before, 'a normal step');
    const after = net.stateDict();
    expect(after['head.weight'].data).toEqual(after['embedding.weight'].data);
  });

  it('the loaders refuse damaged files with typed errors', async () => {
    const net = await stacked();
    net.step(x, t);
    const saved = net.save();
    const weights = net.toSafetensors();
    const headerEnd = (bytes: Uint8Array) => 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const withNaN = (bytes: Uint8Array) => {
      const copy = bytes.slice();
      new DataView(copy.buffer).setFloat32(headerEnd(copy), NaN, true); // the first tensor's first value
      return copy;
    };
    const flipped = (bytes: Uint8Array) => {
      const copy = bytes.slice();
      copy[8] = 0x78; // the header's opening '{' becomes 'x': not JSON
      return copy;
    };
    const damaged: [string, Uint8Array][] = [
      ['truncated', saved.subarray(0, saved.length - 3)],
      ['too short', saved.subarray(0, 6)],
      ['a header byte changed', flipped(saved)],
      ['a byte appended', Uint8Array.from([...saved, 0])],
      ['zeros', new Uint8Array(64)],
    ];
    for (const [what, bytes] of damaged) {
      await expect(RNN.load(bytes, { backend }), `RNN.load: ${what}`).rejects.toBeInstanceOf(FormatError);
      await expect(RNN.fromSafetensors(bytes, { backend }), `RNN.fromSafetensors: ${what}`).rejects.toBeInstanceOf(FormatError);
    }
    await expect(RNN.load(withNaN(saved), { backend })).rejects.toBeInstanceOf(NonFiniteError);
    await expect(RNN.fromSafetensors(withNaN(weights), { backend })).rejects.toBeInstanceOf(NonFiniteError);
    await expect(RNN.load(weights, { backend })).rejects.toThrow(/RNN.fromSafetensors/);
    await expect(RNN.fromSafetensors(saved, { backend })).rejects.toThrow(/RNN.load/);

    const json = JSON.stringify(net);
    const object = net.toJSON();
    const { 'head.bias': bias, ...withoutBias } = object.parameters;
    const jsonCases: [ErrorClass, string | object, string][] = [
      [FormatError, json.slice(0, -5), 'truncated text'],
      [FormatError, `${json} x`, 'trailing text'],
      [FormatError, json.replace('"format":"rnn-wasm"', '"format":"keras"'), 'another format'],
      [FormatError, { ...object, parameters: { ...object.parameters, 'head.bias': { ...bias, shape: [2] } } }, 'shape and data disagree'],
      [FormatError, { ...object, parameters: { ...object.parameters, 'head.bias': { shape: [1], data: ['0.5'] } } }, 'a string value'],
      [NonFiniteError, { ...object, parameters: { ...object.parameters, 'head.bias': { shape: [1], data: [1e39] } } }, 'past float32'],
      [StateDictError, { ...object, parameters: withoutBias }, 'a missing parameter'],
      [FormatError, { ...object, generator: -1 }, 'a negative generator state'],
      [
        FormatError,
        { ...object, optimizer: { ...object.optimizer!, state: object.optimizer!.state.slice(1) } },
        'an optimizer tensor missing',
      ],
    ];
    for (const [kind, value, what] of jsonCases) {
      await expect(RNN.fromJSON(value as never, { backend }), `RNN.fromJSON: ${what}`).rejects.toBeInstanceOf(kind);
    }
    // The undamaged files load, bit for bit.
    expect(firstDifference((await RNN.load(saved, { backend })).save(), saved)).toBe(-1);
    expect(firstDifference((await RNN.fromJSON(json, { backend })).save(), saved)).toBe(-1);
  });
});
