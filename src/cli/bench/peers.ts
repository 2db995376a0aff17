/**
 * The libraries a user would pick instead, measured when they are installed where the benchmark looks
 * (`npm run bench`: bench/peers/, which has its own package.json; `rnn-wasm bench`: the current project):
 *   onnxruntime-web, its SIMD wasm on one thread and on two, with its RNN, LSTM and GRU operators from a model written in
 *     code (./onnx-graph.ts);
 *   TensorFlow.js with its wasm backend: tfjs-layers' SimpleRNN and LSTM, and PyTorch's GRU from tfjs ops
 *     (tfjs-layers' GRU applies the reset gate before the product);
 *   brain.js: its RNNTimeStep, a ReLU RNN (its LSTM keeps no cell state and its GRU resets before the
 *     product, so they compute other networks than every other contender).
 * None is a dependency of this package: each is found by Node's resolution from the folders given, and one
 * that is missing is reported with the command that installs it.
 */
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import type { Contender, Runner } from './harness.js';
import { recurrentModel } from './onnx-graph.js';
import { LEARNING_RATE, type Workload, type WorkloadData } from './workloads.js';

/** A peer's contender, with a line saying which version runs or why it does not. */
export interface Peer extends Contender {
  about(): Promise<string>;
}

interface Loaded {
  version: string;
  prepare(w: Workload, d: WorkloadData): Promise<Runner | string>;
}

/**
 * Finds a package. `fresh` names the packages (by the start of their names) to load afresh, the package and
 * those it shares state with, for a copy with module-wide settings of its own.
 */
type Finder = (name: string, fresh?: string) => unknown;

/** `require` for a package as installed under the first of `folders` that has it. */
function finder(folders: readonly string[]): Finder {
  return (name, fresh) => {
    for (const folder of folders) {
      const require = createRequire(join(folder, 'package.json'));
      let path: string;
      try {
        path = require.resolve(name);
      } catch {
        continue;
      }
      if (fresh) {
        for (const key of Object.keys(require.cache)) if (key.includes(`${sep}node_modules${sep}${fresh}`)) delete require.cache[key];
      }
      return require(path);
    }
    throw new Error(`${name} is not installed`);
  };
}

function peer(name: string, install: string, load: (require: Finder) => Promise<Loaded | string>, folders: readonly string[]): Peer {
  let loaded: Promise<Loaded | string> | undefined;
  const get = () =>
    (loaded ??= load(finder(folders)).catch((error: Error) =>
      /is not installed/.test(error.message) ? `not installed (${install})` : `failed to load: ${error.message.split('\n')[0]}`,
    ));
  return {
    name,
    async about() {
      const p = await get();
      return typeof p === 'string' ? `${name}: ${p}` : `${name} ${p.version}`;
    },
    async prepare(w, d) {
      const p = await get();
      return typeof p === 'string' ? p : p.prepare(w, d);
    },
  };
}

/** Every peer, looked up under `folders` (nearest first). */
export function peers(folders: readonly string[]): Peer[] {
  return [
    peer('onnxruntime-web', 'npm install onnxruntime-web', (require) => onnxRuntime(require, 1), folders),
    peer('tfjs-wasm', 'npm install @tensorflow/tfjs-core @tensorflow/tfjs-layers @tensorflow/tfjs-backend-wasm', tensorflow, folders),
    peer('brain.js', 'npm install brain.js gpu.js', brain, folders),
  ];
}

/**
 * onnxruntime-web on two threads, for `npm run bench`'s threads targets. Its thread count is read once per copy
 * of the module, when its first session starts, so this one loads a copy of its own.
 */
export function onnxRuntimeOnTwoThreads(folders: readonly string[]): Peer {
  return peer('onnxruntime-web 2 threads', 'npm install onnxruntime-web', (require) => onnxRuntime(require, 2), folders);
}

/** Only what the benchmark calls of each peer's API, so that type-checking does not need them installed. */
interface Ort {
  env: { versions: { web?: string }; wasm: { numThreads: number } };
  InferenceSession: { create(model: Uint8Array, options: object): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => unknown;
}
interface OrtSession {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown; dispose(): void }>>;
  release(): Promise<void>;
}

async function onnxRuntime(require: Finder, threads: number): Promise<Loaded | string> {
  const ort = require('onnxruntime-web', threads === 1 ? undefined : 'onnxruntime-') as Ort;
  ort.env.wasm.numThreads = threads;
  return {
    version: ort.env.versions.web ?? 'unknown',
    async prepare(w, d) {
      if (w.job === 'train') return 'inference only here: training needs onnxruntime-training artifacts made in Python';
      const stream = w.job === 'cell';
      if (stream && w.cell === 'lstm') return 'not written (a stream of LSTM steps needs the cell state fed back too)';
      const session = await ort.InferenceSession.create(recurrentModel(w.cell, w.nonlinearity, d.weights, w.T, w.B, w.I, w.H, stream), {
        executionProviders: ['wasm'],
        graphOptimizationLevel: 'all',
      });
      const x = new ort.Tensor('float32', d.x, [w.T, w.B, w.I]);
      let y: Float32Array = new Float32Array(0);
      if (stream) {
        // Each call takes the state the previous one returned, as `cell` does.
        let state = new ort.Tensor('float32', new Float32Array(w.B * w.H), [1, w.B, w.H]) as { dispose?(): void };
        return {
          async run() {
            const out = await session.run({ X: x, H0: state });
            state.dispose?.();
            state = out.Y_h;
            y = out.Y_h.data as Float32Array;
          },
          result: () => y, // [1, B, H]: the new state, as ours
          dispose: () => session.release(),
        };
      }
      return {
        async run() {
          const out = await session.run({ X: x });
          y = out.Y.data as Float32Array;
          out.Y.dispose();
        },
        result: () => y, // [T, 1, B, H]: the same order as ours for one direction
        dispose: () => session.release(),
      };
    },
  };
}

/** tfjs tensors and ops, as loosely as the calls below need them. */
interface TfTensor {
  dispose(): void;
  dataSync(): ArrayLike<number>;
}
interface Tf {
  version_core: string;
  env(): { set(flag: string, value: boolean): void; getBool(flag: string): boolean };
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  tidy(fn: () => TfTensor): TfTensor;
  split(x: TfTensor, n: number, axis: number): TfTensor[];
  stack(xs: TfTensor[]): TfTensor;
  train: { adam(lr: number, b1: number, b2: number, eps: number): unknown; sgd(lr: number): unknown };
  [op: string]: unknown;
}
interface TfModel {
  add(layer: unknown): void;
  setWeights(weights: TfTensor[]): void;
  compile(config: object): void;
  predict(x: TfTensor): TfTensor;
  trainOnBatch(x: TfTensor, y: TfTensor): Promise<number | number[]>;
  dispose(): void;
}
interface Tfl {
  sequential(config: { layers: unknown[] }): TfModel;
  layers: Record<'lstm' | 'simpleRNN' | 'dense' | 'timeDistributed', (config: object) => unknown>;
}

async function tensorflow(require: Finder): Promise<Loaded | string> {
  const tf = require('@tensorflow/tfjs-core') as Tf;
  const tfl = require('@tensorflow/tfjs-layers') as Tfl;
  require('@tensorflow/tfjs-backend-wasm');
  // SIMD, no threads: one thread like every other contender.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend('wasm'))) return 'the wasm backend did not initialise';
  await tf.ready();
  if (!tf.env().getBool('WASM_HAS_SIMD_SUPPORT')) return 'the wasm backend runs without SIMD here';
  const op = (name: string) => tf[name] as (...args: unknown[]) => TfTensor;
  const [transpose, tensor1d, tensor2d, tensor3d, add] = ['transpose', 'tensor1d', 'tensor2d', 'tensor3d', 'add'].map(op);
  return {
    version: tf.version_core,
    async prepare(w, d) {
      const { T, B, I, H, cell } = w;
      const G = { rnn: 1, lstm: 4, gru: 3 }[cell] * H;
      const p = d.weights;
      // Keras keeps x·W, so kernels are PyTorch's weights transposed, and SimpleRNN/LSTM one bias (b_ih + b_hh).
      const kernel = transpose(tensor2d(p['rnn.weight_ih_l0'], [G, I]));
      const recurrent = transpose(tensor2d(p['rnn.weight_hh_l0'], [G, H]));
      const x = transpose(tensor3d(d.x, [T, B, I]), [1, 0, 2]); // Keras is batch-major
      const bih = tensor1d(p['rnn.bias_ih_l0']);
      const bhh = tensor1d(p['rnn.bias_hh_l0']);
      const free = (...more: TfTensor[]) => [kernel, recurrent, x, bih, bhh, ...more].forEach((t) => t.dispose());
      let result: Float32Array | number = 0;
      if (cell === 'gru') {
        if (w.job !== 'forward') return "not measured (PyTorch's GRU is written here from tfjs ops, forward only)";
        return {
          run() {
            result = tf.tidy(() => gruOps(tf, x, kernel, recurrent, bih, bhh, T, B, I, H)).dataSync() as Float32Array;
          },
          result: () => result,
          dispose: () => free(),
        };
      }
      if (w.job === 'cell') return 'not written (a streaming step needs a stateful model)';
      const zeros = { kernelInitializer: 'zeros', recurrentInitializer: 'zeros' } as const;
      const layer =
        cell === 'lstm'
          ? tfl.layers.lstm({ units: H, returnSequences: true, inputShape: [T, I], recurrentActivation: 'sigmoid', ...zeros })
          : tfl.layers.simpleRNN({ units: H, returnSequences: true, inputShape: [T, I], activation: w.nonlinearity, ...zeros });
      const model = tfl.sequential({ layers: [layer] });
      if (w.head) model.add(tfl.layers.timeDistributed({ layer: tfl.layers.dense({ units: 1, ...zeros }) }));
      model.setWeights([
        kernel,
        recurrent,
        add(bih, bhh),
        ...(w.head ? [transpose(tensor2d(p['head.weight'], [1, H])), tensor1d(p['head.bias'])] : []),
      ]);
      if (w.job === 'train') {
        const target = transpose(tensor3d(d.target, [T, B, 1]), [1, 0, 2]);
        const optimizer = w.optimizer === 'adam' ? tf.train.adam(LEARNING_RATE.adam, 0.9, 0.999, 1e-8) : tf.train.sgd(LEARNING_RATE.sgd);
        model.compile({ optimizer, loss: 'meanSquaredError' });
        return {
          async run() {
            result = (await model.trainOnBatch(x, target)) as number;
          },
          result: () => result,
          dispose: () => {
            free(target);
            model.dispose();
          },
        };
      }
      return {
        run() {
          // Back to time-major, as ours, so that the check compares like with like; the copy is a small part.
          result = tf.tidy(() => transpose(model.predict(x), [1, 0, 2])).dataSync() as Float32Array;
        },
        result: () => result,
        dispose: () => {
          free();
          model.dispose();
        },
      };
    },
  };
}

/** PyTorch's GRU in tfjs ops: the input side for all steps in one product, then per step the hidden side. */
function gruOps(
  tf: Tf,
  x: TfTensor,
  kernel: TfTensor,
  recurrent: TfTensor,
  bih: TfTensor,
  bhh: TfTensor,
  T: number,
  B: number,
  I: number,
  H: number,
): TfTensor {
  const op = (name: string) => tf[name] as (...args: unknown[]) => TfTensor;
  const [add, sub, mul, matMul, reshape, transpose, slice, sigmoid, tanh, zeros] = [
    'add',
    'sub',
    'mul',
    'matMul',
    'reshape',
    'transpose',
    'slice',
    'sigmoid',
    'tanh',
    'zeros',
  ].map(op);
  const gi = reshape(add(matMul(reshape(transpose(x, [1, 0, 2]), [T * B, I]), kernel), bih), [T, B, 3 * H]);
  let h = zeros([B, H]);
  const outputs = [];
  for (let t = 0; t < T; t++) {
    const [ir, iz, inn] = tf.split(reshape(slice(gi, [t, 0, 0], [1, B, 3 * H]), [B, 3 * H]), 3, 1);
    const [hr, hz, hn] = tf.split(add(matMul(h, recurrent), bhh), 3, 1);
    const r = sigmoid(add(ir, hr));
    const z = sigmoid(add(iz, hz));
    const n = tanh(add(inn, mul(r, hn)));
    h = add(mul(sub(1, z), n), mul(z, h));
    outputs.push(h);
  }
  return tf.stack(outputs);
}

/** brain.js's matrices, as far as the weights are concerned. */
interface BrainMatrix {
  rows: number;
  columns: number;
  weights: Float32Array;
}
interface BrainRNN {
  initialize(): void;
  bindEquation(): void;
  model: {
    hiddenLayers: { weight: BrainMatrix; transition: BrainMatrix; bias: BrainMatrix }[];
    outputConnector: BrainMatrix;
    output: BrainMatrix;
    equations: { runInput(input: Float32Array): BrainMatrix }[];
  };
}

async function brain(require: Finder): Promise<Loaded | string> {
  const brainjs = require('brain.js') as { recurrent: { RNNTimeStep: new (options: object) => BrainRNN } };
  const { version } = require('brain.js/package.json') as { version: string };
  return {
    version,
    async prepare(w, d) {
      if (w.cell === 'lstm') return 'not the same network: its LSTM keeps no cell state (the forget gate scales the previous output)';
      if (w.cell === 'gru') return 'not the same network: its GRU applies the reset gate before the product';
      if (w.nonlinearity !== 'relu') return 'not the same network: its RNN is ReLU only (R1 is the workload it can run)';
      if (w.job === 'train') return 'not the same work: its training runs its own loss and optimizer';
      if (w.job === 'cell') return 'not written (one step at a time)';
      const { T, B, I, H } = w;
      // brain.js predicts through an output layer at every step: one output, so that it adds least to the work.
      const net = new brainjs.recurrent.RNNTimeStep({ inputSize: I, hiddenLayers: [H], outputSize: 1 });
      net.initialize();
      const layer = net.model.hiddenLayers[0];
      layer.weight.weights.set(d.weights['rnn.weight_ih_l0']);
      layer.transition.weights.set(d.weights['rnn.weight_hh_l0']);
      const bias = Float32Array.from(d.weights['rnn.bias_ih_l0'], (v, j) => v + d.weights['rnn.bias_hh_l0'][j]);
      layer.bias.weights.set(bias);
      const head = net.model.outputConnector.weights;
      head.set(d.x.subarray(0, H)); // any fixed weights: the check below computes the same from our output
      net.model.output.weights.fill(0);
      while (net.model.equations.length < T) net.bindEquation();
      // One sequence at a time, as brain.js runs them: the batch's columns one after the other.
      const inputs = Array.from({ length: B }, (_, b) =>
        Array.from({ length: T }, (_, t) => d.x.slice((t * B + b) * I, (t * B + b + 1) * I)),
      );
      const last = new Float32Array(B);
      return {
        run() {
          for (let b = 0; b < B; b++) {
            let y: BrainMatrix | undefined;
            for (let t = 0; t < T; t++) y = net.model.equations[t].runInput(inputs[b][t]);
            last[b] = y!.weights[0];
          }
        },
        result: () => last,
        expect(reference) {
          // The head applied to our last step's hidden state, column by column.
          const out = reference as Float32Array;
          return Float32Array.from({ length: B }, (_, b) => {
            let sum = 0;
            for (let j = 0; j < H; j++) sum += head[j] * out[((T - 1) * B + b) * H + j];
            return sum;
          });
        },
        dispose() {},
      };
    },
  };
}
