/**
 * TensorFlow.js / Keras models in: every case of the folders in TFJS_FIXTURES (':'-separated, resolved against
 * the repository root; default test/fixtures/tfjs-shared, the copy of ../shared/fixtures/tfjs, and
 * test/fixtures/tfjs, our own), each a model.json with its
 * weights and what tfjs's `model.predict` (or PyTorch, for Keras GRUs tfjs cannot load) returned for an input.
 * On every backend: `unroll(x).y` against that output; the model through `stateDict` and `save()` again; and a
 * few fine-tuning steps whose loss goes down and whose gradient is the loss's derivative. A folder that is
 * missing or holds no case is an error; nothing is skipped. PARITY_EVIDENCE=1 prints each case's largest difference.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FormatError, RNN, type TensorInput, UnsupportedError } from '../src/index.js';
import { fromTFJS } from '../src/tfjs.js';
import { TFJS, fixtureFolders } from './fixture-folders.js';
import { BACKENDS, expectClose } from './helpers.js';

interface TfjsCase {
  id: string;
  input: { shape: number[]; kind: 'float' | 'ids'; data: number[] };
  expected: { shape: number[]; data: number[] };
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const folders = fixtureFolders('TFJS_FIXTURES', TFJS);
const cases = folders.flatMap((dir) => {
  if (!existsSync(dir)) throw new Error(`TFJS_FIXTURES: the folder ${dir} does not exist`);
  const found = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'case.json')))
    .map((d) => join(dir, d.name));
  if (found.length === 0) throw new Error(`TFJS_FIXTURES: the folder ${dir} holds no case`);
  return found;
});

function load(dir: string): { model: object; weights: Uint8Array; c: TfjsCase } {
  return {
    model: JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')),
    weights: readFileSync(join(dir, 'weights.bin')),
    c: JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as TfjsCase,
  };
}

const input = (c: TfjsCase): TensorInput =>
  c.input.kind === 'ids' ? { data: Int32Array.from(c.input.data), shape: c.input.shape } : { data: c.input.data, shape: c.input.shape };

const evidence: string[] = [];
afterAll(() => {
  if (process.env.PARITY_EVIDENCE) console.log(evidence.join('\n'));
});

describe.each(cases)('%s', (dir) => {
  const { model, weights, c } = load(dir);

  it.each(BACKENDS)("gives tfjs's predict output on %s, and again through stateDict, save() and toSafetensors()", async (backend) => {
    const net = await fromTFJS(model, weights, { backend });
    try {
      const y = net.unroll(input(c)).y;
      expect(y.shape).toEqual(c.expected.shape);
      const diff = expectClose(y.data, c.expected.data, `${c.id} y`, 1e-4, 2e-5);
      evidence.push(`${c.id} ${backend}: largest difference ${diff.toExponential(2)}`);
      const rebuilt = await RNN.create({ ...net.toJSON().config, backend });
      rebuilt.loadStateDict(net.stateDict());
      expect(rebuilt.unroll(input(c)).y.data).toEqual(y.data);
      rebuilt.dispose();
      for (const reloaded of [await RNN.load(net.save(), { backend }), await RNN.fromSafetensors(net.toSafetensors(), { backend })]) {
        expect(reloaded.unroll(input(c)).y.data).toEqual(y.data);
        reloaded.dispose();
      }
    } finally {
      net.dispose();
    }
  });

  it.each(BACKENDS)('fine-tunes on %s: the gradient is the derivative of the loss, and steps lower it', async (backend) => {
    const net = await fromTFJS(model, weights, { backend, seed: 3 });
    try {
      const x = input(c);
      // A target near the current output: MSE, which every head activation takes.
      const y = net.unroll(x).y;
      const target = { data: y.data.map((v, i) => v + 0.3 * Math.sin(i + 1)), shape: y.shape };
      const { loss, grads } = net.gradients(x, target);
      // Along the gradient g: (L(θ + εg) − L(θ − εg)) / 2ε = |g|².
      const names = Object.keys(grads).filter((n) => n in net.stateDict());
      const theta = net.stateDict();
      let norm2 = 0;
      for (const n of names) for (const g of grads[n].data) norm2 += g * g;
      if (norm2 === 0) {
        // Nothing reaches the loss: only a head whose ReLU is dead everywhere (the shared tfjs_gru_stack's) does that.
        expect(net.config.headActivation).toBe('relu');
        expect(y.data.every((v) => v === 0)).toBe(true);
        return;
      }
      const eps = 1e-3 / Math.sqrt(norm2);
      const lossAt = (sign: number) => {
        const moved = Object.fromEntries(
          names.map((n) => [n, { data: theta[n].data.map((v, i) => v + sign * eps * grads[n].data[i]), shape: theta[n].shape }]),
        );
        net.loadStateDict(moved);
        return net.evaluate(x, target);
      };
      const slope = (lossAt(1) - lossAt(-1)) / (2 * eps);
      net.loadStateDict(theta);
      expect(Math.abs(slope - norm2) / norm2, `${c.id}: directional derivative ${slope} vs |g|² ${norm2}`).toBeLessThan(0.05);
      // Three SGD steps, each with the largest learning rate (from one that the first order says would take a
      // tenth of the loss, halving) that lowers the loss: random tfjs weights make some landscapes very sharp.
      let current = loss;
      let lr = (0.1 * loss) / norm2;
      for (let k = 0; k < 3; k++) {
        const before = net.stateDict();
        for (let tries = 0; ; tries++) {
          expect(tries, `${c.id}: no learning rate lowers the loss`).toBeLessThan(30);
          net.step(x, target, { optimizer: { kind: 'sgd', lr } });
          const after = net.evaluate(x, target);
          if (after < current) {
            current = after;
            break;
          }
          net.loadStateDict(before);
          lr /= 2;
        }
      }
      expect(current).toBeLessThan(loss);
    } finally {
      net.dispose();
    }
  });
});

describe('fromTFJS', () => {
  // A model tfjs-layers saved itself (the topology at the top level, weights in one shard).
  const dir = cases.find((d) => d.endsWith('tfjs_lstm_dense_hard')) ?? cases.find((d) => d.includes('tfjs_'))!;
  const { model, weights } = load(dir);

  it('reads the weights beside a model.json given by path, as tf.loadLayersModel does', async () => {
    const byPath = await fromTFJS(join(dir, 'model.json'), undefined, { backend: 'js' });
    const byBytes = await fromTFJS(model, weights, { backend: 'js' });
    expect(byPath.stateDict()).toEqual(byBytes.stateDict());
    byPath.dispose();
    byBytes.dispose();
  });

  it('reads a Functional model whose layers form a chain, and refuses one that branches', async () => {
    const sequential = model as { modelTopology: { config: { layers: { class_name: string; config: { name: string } }[] } } };
    const layers = sequential.modelTopology.config.layers;
    const functional = structuredClone(model) as { modelTopology: { class_name: string; config: unknown } };
    const chain = [{ class_name: 'InputLayer', config: { name: 'input_1' }, inbound_nodes: [] }, ...structuredClone(layers)].map(
      (l, i, all) => ({ ...l, name: l.config.name, inbound_nodes: i === 0 ? [] : [[[all[i - 1].config.name, 0, 0, {}]]] }),
    );
    functional.modelTopology = { class_name: 'Functional', config: { name: 'model', layers: chain } };
    const a = await fromTFJS(functional, weights, { backend: 'js' });
    const b = await fromTFJS(model, weights, { backend: 'js' });
    const x = input(load(dir).c);
    expect(a.unroll(x).y.data).toEqual(b.unroll(x).y.data);
    a.dispose();
    b.dispose();
    chain[2].inbound_nodes = [[[chain[0].config.name, 0, 0, {}]]];
    await expect(fromTFJS(functional, weights)).rejects.toThrow(/only a chain of layers is supported/);
  });

  it('takes the weights as shards in the manifest order', async () => {
    const cut = Math.floor(weights.length / 2);
    const net = await fromTFJS(model, [weights.subarray(0, cut), weights.subarray(cut)], { backend: 'js' });
    const whole = await fromTFJS(model, weights, { backend: 'js' });
    expect(net.stateDict()).toEqual(whole.stateDict());
    net.dispose();
    whole.dispose();
  });

  it('refuses truncated or extra weights, and a manifest that lies about sizes, with FormatError', async () => {
    await expect(fromTFJS(model, weights.subarray(0, weights.length - 4))).rejects.toThrow(FormatError);
    await expect(fromTFJS(model, new Uint8Array([...weights, 0, 0, 0, 0]))).rejects.toThrow(/describes \d+ bytes/);
    const lying = structuredClone(model) as { weightsManifest: { weights: { shape: number[] }[] }[] };
    lying.weightsManifest[0].weights[0].shape = [1e9, 1e9];
    await expect(fromTFJS(lying, weights)).rejects.toThrow(FormatError);
  });

  it('names a shard path that leaves the folder', async () => {
    const escaping = structuredClone(model) as { weightsManifest: { paths: string[] }[] };
    escaping.weightsManifest[0].paths = ['../../etc/passwd'];
    await expect(fromTFJS(escaping, undefined)).rejects.toThrow(/give the weights/);
    const folder = mkdtempSync(join(tmpdir(), 'tfjs-'));
    writeFileSync(join(folder, 'model.json'), JSON.stringify(escaping));
    await expect(fromTFJS(join(folder, 'model.json'))).rejects.toThrow(/not a file beside model.json/);
    await expect(fromTFJS(join(dir, 'model.json').replace('model.json', 'missing.json'))).rejects.toThrow(/no file/);
  });

  it('refuses what it has no counterpart for with UnsupportedError naming the layer', async () => {
    for (const name of ['tfjs_own_simplernn_sigmoid', 'tfjs_own_simplernn_hardsigmoid_seq']) {
      const other = load(resolve(root, 'test/fixtures/tfjs-unsupported', name));
      await expect(fromTFJS(other.model, other.weights)).rejects.toThrow(
        /layer "simple_rnn_SimpleRNN\d+" \(SimpleRNN\) uses activation "(sigmoid|hard_sigmoid)"/,
      );
    }
    const masked = structuredClone(model) as { modelTopology: { config: { layers: { class_name: string }[] } } };
    masked.modelTopology.config.layers.splice(0, 0, { class_name: 'Conv1D', config: { name: 'conv' } } as never);
    await expect(fromTFJS(masked, weights)).rejects.toThrow(UnsupportedError);
    await expect(fromTFJS({ modelTopology: 7 }, weights)).rejects.toThrow(FormatError);
    // A class name that an object's prototype has is no layer either.
    for (const name of ['toString', '__proto__', 'constructor']) {
      const odd = structuredClone(model) as { modelTopology: { config: { layers: { class_name: string }[] } } };
      odd.modelTopology.config.layers[0].class_name = name;
      await expect(fromTFJS(odd, weights)).rejects.toThrow(UnsupportedError);
    }
  });
});
