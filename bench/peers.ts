/**
 * The WebAssembly peers a user would pick instead, each on one thread with SIMD, with the workload's own weights:
 * onnxruntime-web (its RNN, LSTM and GRU operators, from a model written in code by ./peers/onnx.ts) and
 * TensorFlow.js with its wasm backend (tfjs-layers' SimpleRNN and LSTM; PyTorch's GRU from tfjs ops, as
 * tfjs-layers' GRU only applies the reset gate before the product, `resetAfter: false`). Each is a
 * devDependency; a peer that is not installed is reported as such.
 */
import { recurrentModel } from './peers/onnx.js';
import { LEARNING_RATE, type Workload, type WorkloadData } from './workloads.js';

/** One prepared workload: a call, what the call produced (to check against ours), and cleanup. */
export interface PeerRun {
  run(): unknown;
  result(): Float32Array | number;
  dispose(): void;
}

type Ort = typeof import('onnxruntime-web');
type Tf = typeof import('@tensorflow/tfjs-core');
type Tfl = typeof import('@tensorflow/tfjs-layers');

let ort: Ort | undefined;

/** onnxruntime-web's SIMD wasm on one thread; inference only (its training API needs artifacts made in Python). */
export async function onnxRuntime(): Promise<{ version: string; prepare(w: Workload, d: WorkloadData): Promise<PeerRun | string> } | string> {
  try {
    ort = await import('onnxruntime-web');
  } catch {
    return 'not installed (npm install -D onnxruntime-web)';
  }
  const runtime = ort;
  runtime.env.wasm.numThreads = 1;
  runtime.env.wasm.simd = true;
  return {
    version: runtime.env.versions.web ?? 'unknown',
    async prepare(w, d) {
      if (w.job !== 'forward') return 'inference only here: training needs onnxruntime-training artifacts';
      const session = await runtime.InferenceSession.create(recurrentModel(w.cell, d.weights, w.T, w.B, w.I, w.H),
        { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      const feeds = { X: new runtime.Tensor('float32', d.x, [w.T, w.B, w.I]) };
      let y: Float32Array = new Float32Array(0);
      return {
        async run() {
          const out = await session.run(feeds);
          y = out.Y.data as Float32Array;
          out.Y.dispose();
        },
        result: () => y, // [T, 1, B, H]: the same order as ours for one direction
        dispose: () => void session.release(),
      };
    },
  };
}

/** TensorFlow.js with the wasm backend (SIMD, no threads: Node has no cross-origin isolation to need). */
export async function tensorflow(): Promise<{ version: string; prepare(w: Workload, d: WorkloadData): Promise<PeerRun | string> } | string> {
  let tf: Tf;
  let tfl: Tfl;
  try {
    tf = await import('@tensorflow/tfjs-core');
    tfl = await import('@tensorflow/tfjs-layers');
    await import('@tensorflow/tfjs-backend-wasm');
  } catch {
    return 'not installed (npm install -D @tensorflow/tfjs-core @tensorflow/tfjs-layers @tensorflow/tfjs-backend-wasm)';
  }
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend('wasm'))) return 'the wasm backend did not initialise';
  await tf.ready();
  if (!tf.env().getBool('WASM_HAS_SIMD_SUPPORT')) return 'the wasm backend runs without SIMD here';
  return {
    version: tf.version_core,
    async prepare(w, d) {
      const { T, B, I, H, cell } = w;
      const G = { rnn: 1, lstm: 4, gru: 3 }[cell] * H;
      const p = d.weights;
      // Keras keeps x·W, so kernels are PyTorch's weights transposed, and SimpleRNN/LSTM one bias (b_ih + b_hh).
      const kernel = tf.transpose(tf.tensor2d(p['rnn.weight_ih_l0'], [G, I]));
      const recurrent = tf.transpose(tf.tensor2d(p['rnn.weight_hh_l0'], [G, H]));
      const bias = tf.add(tf.tensor1d(p['rnn.bias_ih_l0']), tf.tensor1d(p['rnn.bias_hh_l0']));
      const x = tf.transpose(tf.tensor3d(d.x, [T, B, I]), [1, 0, 2]); // Keras is batch-major
      const zeros = { kernelInitializer: 'zeros', recurrentInitializer: 'zeros' } as const;
      let result: Float32Array | number = 0;
      const done = () => [kernel, recurrent, bias, x].forEach((t) => t.dispose());
      if (cell === 'gru') {
        if (w.job !== 'forward') return 'not measured';
        const bhh = tf.tensor1d(p['rnn.bias_hh_l0']);
        const bih = tf.tensor1d(p['rnn.bias_ih_l0']);
        return {
          run() {
            result = tf.tidy(() => gruOps(tf, x, kernel, recurrent, bih, bhh, T, B, I, H)).dataSync() as Float32Array;
          },
          result: () => result,
          dispose: () => [bih, bhh].forEach((t) => t.dispose()),
        };
      }
      const layer = cell === 'lstm'
        ? tfl.layers.lstm({ units: H, returnSequences: true, inputShape: [T, I], recurrentActivation: 'sigmoid', ...zeros })
        : tfl.layers.simpleRNN({ units: H, returnSequences: true, inputShape: [T, I], ...zeros });
      const model = tfl.sequential({ layers: [layer] });
      if (w.head) model.add(tfl.layers.timeDistributed({ layer: tfl.layers.dense({ units: 1, ...zeros }) }));
      model.setWeights([kernel, recurrent, bias, ...(w.head
        ? [tf.transpose(tf.tensor2d(p['head.weight'], [1, H])), tf.tensor1d(p['head.bias'])] : [])]);
      if (w.job === 'train') {
        const target = tf.transpose(tf.tensor3d(d.target, [T, B, 1]), [1, 0, 2]);
        const optimizer = w.optimizer === 'adam' ? tf.train.adam(LEARNING_RATE.adam, 0.9, 0.999, 1e-8) : tf.train.sgd(LEARNING_RATE.sgd);
        model.compile({ optimizer, loss: 'meanSquaredError' });
        return {
          async run() {
            result = (await model.trainOnBatch(x, target)) as number;
          },
          result: () => result,
          dispose: () => {
            done();
            target.dispose();
            model.dispose();
          },
        };
      }
      return {
        run() {
          // Back to time-major, as ours, so that the check compares like with like; the copy is a small part.
          result = tf.tidy(() => tf.transpose(model.predict(x) as InstanceType<Tf['Tensor']>, [1, 0, 2])).dataSync() as Float32Array;
        },
        result: () => result,
        dispose: () => {
          done();
          model.dispose();
        },
      };
    },
  };
}

/** PyTorch's GRU in tfjs ops: the input side for all steps in one product, then per step the hidden side. */
function gruOps(tf: Tf, x: InstanceType<Tf['Tensor']>, kernel: InstanceType<Tf['Tensor']>, recurrent: InstanceType<Tf['Tensor']>,
  bih: InstanceType<Tf['Tensor']>, bhh: InstanceType<Tf['Tensor']>, T: number, B: number, I: number, H: number) {
  const gi = tf.reshape(tf.add(tf.matMul(tf.reshape(tf.transpose(x, [1, 0, 2]), [T * B, I]), kernel), bih), [T, B, 3 * H]);
  let h = tf.zeros([B, H]);
  const outputs = [];
  for (let t = 0; t < T; t++) {
    const [ir, iz, inn] = tf.split(tf.reshape(tf.slice(gi, [t, 0, 0], [1, B, 3 * H]), [B, 3 * H]), 3, 1);
    const [hr, hz, hn] = tf.split(tf.add(tf.matMul(h, recurrent), bhh), 3, 1);
    const r = tf.sigmoid(tf.add(ir, hr));
    const z = tf.sigmoid(tf.add(iz, hz));
    const n = tf.tanh(tf.add(inn, tf.mul(r, hn)));
    h = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h));
    outputs.push(h);
  }
  return tf.stack(outputs);
}
