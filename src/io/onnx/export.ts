/**
 * A model as a standard ONNX graph (opset 14) built from ONNX's own ops: Gather for the embedding, one RNN / LSTM /
 * GRU node per layer of each core (gates back in ONNX's order, the two biases joined; a core reading backwards
 * behind a Slice with step -1 on the time axis; an element-wise merge as Slices of Y and Y_h joined by Add or
 * Mul), Transpose + Reshape between layers,
 * MatMul + Add for a head on every step, Gemm for one on the final states. Sequence length and batch are
 * symbolic. The initial states are graph inputs `h0` (and `c0`), [L·D, B, H], whose initializers of the same name
 * are zeros [L·D, 1, H]: Expand widens either to the batch, so the graph runs with only its first input fed.
 * The layers run time-major (layout 0, which onnxruntime requires); a batch-first model transposes around them.
 */
import { cores, qualified, stateCore, stateShape } from '../../layout.js';
import type { CoreConfig, ModelConfig, Tensor } from '../../types.js';
import { ONNX_BLOCK } from './import.js';
import { DTYPE } from './messages.js';
import { type AttrSpec, type NodeSpec, type TensorSpec, type ValueSpec, encodeModel } from './messages-out.js';
import type { OnnxCell } from './trace.js';

const EXPORT_OPSET = 14;

export function exportONNX(config: ModelConfig, tensors: Readonly<Record<string, Tensor>>, producer: string): Uint8Array {
  const c = config;
  const held = stateCore(c);
  // A stack starts from zero states (RNN.create refuses others): its graph takes none.
  const stateful = !c.stack.length;
  const [LD, , H0] = stateShape(c, 1);
  const nodes: NodeSpec[] = [];
  const initializers: TensorSpec[] = [];
  const names = c.names;
  const path = (module: string) => `/${module.replaceAll('.', '/')}`;
  const ints = (name: string, values: number[]) => {
    initializers.push({ name, dtype: DTYPE.INT64, dims: [values.length], data: values });
    return name;
  };
  const node = (opType: string, name: string, inputs: string[], outputs: string[], attributes: NodeSpec['attributes'] = []) => {
    nodes.push({ opType, name, inputs, outputs, attributes });
    return outputs[0];
  };
  const param = (n: string) => tensors[n].data;
  const batchAxis = c.batchFirst ? 0 : 1;
  const seqDims = c.batchFirst ? ['B', 'T'] : ['T', 'B'];

  const inputs: ValueSpec[] = [
    c.embedding
      ? { name: 'input', elemType: DTYPE.INT64, dims: seqDims }
      : { name: 'input', elemType: DTYPE.FLOAT, dims: [...seqDims, c.inputSize] },
  ];
  const stateNames = !stateful ? [] : held.cell === 'lstm' ? ['h0', 'c0'] : ['h0'];
  for (const s of stateNames) {
    inputs.push({ name: s, elemType: DTYPE.FLOAT, dims: [LD, 'state_batch', H0] }); // 1 (the default) or B
    initializers.push({ name: s, dtype: DTYPE.FLOAT, dims: [LD, 1, H0], data: new Float32Array(LD * H0) });
  }

  let x = 'input';
  if (c.embedding) x = node('Gather', `${path(names.embedding)}/Gather`, [`${names.embedding}.weight`, 'input'], ['embedded']);
  if (c.embedding) initializers.push(tensor(`${names.embedding}.weight`, tensors[`${names.embedding}.weight`]));
  if (c.batchFirst) x = node('Transpose', '/input/Transpose', [x], ['time_major'], [{ name: 'perm', ints: [1, 0, 2] }]);

  // [1, B, 1]: the batch size, to widen the initial states to.
  const shape = node('Shape', '/batch/Shape', ['input'], ['input_shape']);
  const batch = node('Gather', '/batch/Gather', [shape, ints('batch_axis', [batchAxis])], ['batch']);
  const widen = node('Concat', '/batch/Concat', [ints('one', [1]), batch, 'one'], ['state_shape'], [{ name: 'axis', int: 0 }]);

  let lastH = '';
  let lastWidth = 0;
  let F = c.inputSize;
  for (const k of cores(c)) {
    const cell = k.cell as OnnxCell;
    const op = { rnn: 'RNN', lstm: 'LSTM', gru: 'GRU' }[cell];
    const G = ONNX_BLOCK[cell].length;
    const H = k.hiddenSize;
    const D = k.bidirectional ? 2 : 1;
    const core = (n: string) => qualified(k.name, n);
    if (k.goBackwards) {
      // Reading backwards: the core's input reversed in time (every step: the graph has no lengths).
      const at = `${path(k.name)}/Reverse`;
      x = node(
        'Slice',
        at,
        [x, ints(`${at}/start`, [-1]), ints(`${at}/end`, [-(2 ** 63)]), ints(`${at}/axis`, [0]), ints(`${at}/step`, [-1])],
        [`${at}/output`],
      );
    }
    for (let l = 0; l < k.numLayers; l++) {
      const W = new Float32Array(D * G * H * F);
      const R = new Float32Array(D * G * H * H);
      const B = new Float32Array(D * 2 * G * H);
      for (let d = 0; d < D; d++) {
        const suffix = `_l${l}${d ? '_reverse' : ''}`;
        toOnnxOrder(W, d, param(core(`weight_ih${suffix}`)), cell, H * F);
        toOnnxOrder(R, d, param(core(`weight_hh${suffix}`)), cell, H * H);
        if (k.bias) {
          const b = B.subarray(d * 2 * G * H, (d + 1) * 2 * G * H);
          toOnnxOrder(b.subarray(0, G * H), 0, param(core(`bias_ih${suffix}`)), cell, H);
          toOnnxOrder(b.subarray(G * H), 0, param(core(`bias_hh${suffix}`)), cell, H);
        }
      }
      const prefix = `${path(k.name)}/${op}${l ? `_${l}` : ''}`;
      initializers.push({ name: `${core('W')}_l${l}`, dtype: DTYPE.FLOAT, dims: [D, G * H, F], data: W });
      initializers.push({ name: `${core('R')}_l${l}`, dtype: DTYPE.FLOAT, dims: [D, G * H, H], data: R });
      if (k.bias) initializers.push({ name: `${core('B')}_l${l}`, dtype: DTYPE.FLOAT, dims: [D, 2 * G * H], data: B });
      const initial = stateNames.map((s) => {
        const sliced = node(
          'Slice',
          `${prefix}/Slice_${s}`,
          [s, ints(`${prefix}/${s}_start`, [l * D]), ints(`${prefix}/${s}_end`, [(l + 1) * D]), ints(`${prefix}/${s}_axis`, [0])],
          [`${prefix}/${s}`],
        );
        return node('Expand', `${prefix}/Expand_${s}`, [sliced, widen], [`${prefix}/${s}_wide`]);
      });
      const attributes: NodeSpec['attributes'] = [
        { name: 'hidden_size', int: H },
        { name: 'direction', string: D === 2 ? 'bidirectional' : k.reverse ? 'reverse' : 'forward' },
        ...(cell === 'gru' ? [{ name: 'linear_before_reset', int: k.resetAfter ? 1 : 0 }] : []),
        ...activations(k, D),
      ];
      const outputs = [`${prefix}/Y`, `${prefix}/Y_h`, ...(cell === 'lstm' ? [`${prefix}/Y_c`] : [])];
      node(
        op,
        prefix,
        [x, `${core('W')}_l${l}`, `${core('R')}_l${l}`, k.bias ? `${core('B')}_l${l}` : '', '', ...initial],
        outputs,
        attributes,
      );
      lastH = outputs[1];
      if (l === k.numLayers - 1 && k.mergeMode !== 'concat') {
        // The two directions joined element-wise: [T, 2, B, H] → [T, B, H], and the final states [2, B, H] → [1, B, H].
        const join = (value: string, axis: number, what: string) => {
          const axes = ints(`${prefix}/${what}_axis`, [axis]);
          const half = (i: number) =>
            node(
              'Slice',
              `${prefix}/${what}_${i}`,
              [value, ints(`${prefix}/${what}_from${i}`, [i]), ints(`${prefix}/${what}_to${i}`, [i + 1]), axes],
              [`${prefix}/${what}_${i}`],
            );
          const op = k.mergeMode === 'mul' ? 'Mul' : 'Add';
          let joined = node(op, `${prefix}/${what}_${op}`, [half(0), half(1)], [`${prefix}/${what}_joined`]);
          if (k.mergeMode === 'ave') {
            initializers.push({ name: `${prefix}/${what}_half`, dtype: DTYPE.FLOAT, dims: [1], data: [0.5] });
            joined = node('Mul', `${prefix}/${what}_Half`, [joined, `${prefix}/${what}_half`], [`${prefix}/${what}_average`]);
          }
          return joined;
        };
        lastH = join(outputs[1], 0, 'Y_h');
        x = node('Squeeze', `${prefix}/Squeeze`, [join(outputs[0], 1, 'Y'), ints(`${prefix}/squeeze_axis`, [1])], [`${prefix}/output`]);
        F = H;
        continue;
      }
      // [T, D, B, H] → [T, B, D, H] → [T, B, D·H]: both directions side by side, as PyTorch's output.
      const t = node('Transpose', `${prefix}/Transpose`, [outputs[0]], [`${prefix}/Y_t`], [{ name: 'perm', ints: [0, 2, 1, 3] }]);
      x = node('Reshape', `${prefix}/Reshape`, [t, ints(`${prefix}/shape`, [0, 0, -1])], [`${prefix}/output`]);
      F = D * H;
    }
    lastWidth = F;
  }

  let y: string;
  let yDims: (number | string)[];
  const O = c.outputSize;
  if (c.headOn === 'final') {
    // [D, B, H] → [B, D·H]: cat(h_n[-2], h_n[-1]) of the last layer.
    const t = node('Transpose', `${path(names.head)}/Transpose`, [lastH], ['final_t'], [{ name: 'perm', ints: [1, 0, 2] }]);
    const flat = node('Reshape', `${path(names.head)}/Reshape`, [t, ints('final_shape', [0, -1])], [O ? 'final_states' : 'output']);
    y = flat;
    if (O) {
      const weight = c.tieWeights ? `${names.embedding}.weight` : `${names.head}.weight`;
      if (!c.tieWeights) initializers.push(tensor(weight, tensors[weight]));
      initializers.push(tensor(`${names.head}.bias`, tensors[`${names.head}.bias`]));
      y = node('Gemm', `${path(names.head)}/Gemm`, [flat, weight, `${names.head}.bias`], ['logits'], [{ name: 'transB', int: 1 }]);
    }
    yDims = ['B', O || lastWidth];
  } else {
    if (c.batchFirst) x = node('Transpose', '/output/Transpose', [x], ['batch_first'], [{ name: 'perm', ints: [1, 0, 2] }]);
    if (O) {
      const weight = c.tieWeights ? `${names.embedding}.weight` : `${names.head}.weight`;
      if (!c.tieWeights) initializers.push(tensor(weight, tensors[weight]));
      initializers.push(tensor(`${names.head}.bias`, tensors[`${names.head}.bias`]));
      const wt = node('Transpose', `${path(names.head)}/Transpose`, [weight], ['head_weight_t'], [{ name: 'perm', ints: [1, 0] }]);
      const product = node('MatMul', `${path(names.head)}/MatMul`, [x, wt], ['head_product']);
      y = node('Add', `${path(names.head)}/Add`, [product, `${names.head}.bias`], ['logits']);
    } else {
      y = node('Identity', '/output/Identity', [x], ['output']);
    }
    yDims = [...seqDims, O || lastWidth];
  }
  if (O && c.headActivation !== 'linear') {
    const op = { relu: 'Relu', tanh: 'Tanh', sigmoid: 'Sigmoid', softmax: 'Softmax' }[c.headActivation];
    y = node(op, `${path(names.head)}/${op}`, [y], ['activated'], op === 'Softmax' ? [{ name: 'axis', int: -1 }] : []);
  }
  return encodeModel({
    opset: EXPORT_OPSET,
    producer,
    graphName: 'rnn-wasm',
    nodes,
    initializers,
    inputs,
    outputs: [{ name: y, elemType: DTYPE.FLOAT, dims: yDims }],
  });
}

/**
 * The `activations` attribute where the cell's functions differ from ONNX's defaults: per direction, the gates'
 * (LSTM f, GRU f), then the candidate's (g) and the LSTM's cell output's (h), with HardSigmoid's alpha and beta.
 */
function activations(c: CoreConfig, D: number): AttrSpec[] {
  const candidate = c.nonlinearity === 'relu' ? 'Relu' : 'Tanh';
  if (c.cell === 'rnn') return c.nonlinearity === 'tanh' ? [] : [{ name: 'activations', strings: Array<string>(D).fill(candidate) }];
  if (c.nonlinearity === 'tanh' && c.recurrentActivation === 'sigmoid') return [];
  const gate = c.recurrentActivation === 'sigmoid' ? 'Sigmoid' : 'HardSigmoid';
  const alpha = c.recurrentActivation === 'hardsigmoid' ? 1 / 6 : 0.2;
  const one = c.cell === 'lstm' ? [gate, candidate, candidate] : [gate, candidate];
  const times = <T>(list: T[]) => Array.from({ length: D }, () => list).flat();
  const names = times(one);
  // Readers disagree on how the lists line up (one entry per activation, or per activation that takes one, as
  // onnxruntime does); a list of one value throughout means the same either way.
  const fill = (value: number) => names.map(() => value);
  return [
    { name: 'activations', strings: names },
    ...(gate === 'HardSigmoid'
      ? [
          { name: 'activation_alpha', floats: fill(alpha) },
          { name: 'activation_beta', floats: fill(0.5) },
        ]
      : []),
  ];
}

function tensor(name: string, t: Tensor): TensorSpec {
  return { name, dtype: DTYPE.FLOAT, dims: t.shape, data: t.data };
}

/** Direction d's PyTorch gate blocks written into ONNX's order. */
function toOnnxOrder(into: Float32Array, d: number, torch: Float32Array, cell: OnnxCell, block: number): void {
  const G = ONNX_BLOCK[cell].length;
  const base = d * G * block;
  ONNX_BLOCK[cell].forEach((onnx, j) => into.set(torch.subarray(j * block, (j + 1) * block), base + onnx * block));
}
