/** Hand-made ONNX graphs for the tests: one recurrent node over vectors, with what a test changes. */
import { DTYPE } from '../src/io/onnx/messages.js';
import { type AttrSpec, type NodeSpec, type TensorSpec, encodeModel } from '../src/io/onnx/messages-out.js';
import { randomArray } from './helpers.js';

export interface RecurrentGraph {
  op?: 'RNN' | 'LSTM' | 'GRU';
  attributes?: AttrSpec[];
  /** Inputs after X, W, R, B (sequence_lens, initial_h, initial_c, P), as initializer names or ''. */
  extraInputs?: string[];
  extraInitializers?: TensorSpec[];
  layout?: 0 | 1;
  /** Nodes after the recurrent one, reading 'Y'; the graph's output is `output`. */
  after?: NodeSpec[];
  output?: string;
}

export const T = 3;
export const B = 2;
const I = 2;
export const H = 3;

export function recurrentGraph(g: RecurrentGraph = {}): Uint8Array {
  const op = g.op ?? 'LSTM';
  const G = { RNN: 1, LSTM: 4, GRU: 3 }[op];
  const layout = g.layout ?? 0;
  const attributes: AttrSpec[] = [
    { name: 'hidden_size', int: H },
    ...(op === 'GRU' && !g.attributes?.some((a) => a.name === 'linear_before_reset') ? [{ name: 'linear_before_reset', int: 1 }] : []),
    ...(layout ? [{ name: 'layout', int: 1 }] : []),
    ...(g.attributes ?? []),
  ];
  const axes = { name: 'axes', dtype: DTYPE.INT64, dims: [1], data: [layout ? 2 : 1] };
  const nodes: NodeSpec[] = [
    { opType: op, name: '/rnn/Op', inputs: ['x', 'W', 'R', 'B', ...(g.extraInputs ?? [])], outputs: ['Y', 'Y_h'], attributes },
    ...(g.after ?? [{ opType: 'Squeeze', name: '/rnn/Squeeze', inputs: ['Y', 'axes'], outputs: ['out'] }]),
  ];
  const initializers: TensorSpec[] = [
    { name: 'W', dtype: DTYPE.FLOAT, dims: [1, G * H, I], data: randomArray(G * H * I, 1, 0.5) },
    { name: 'R', dtype: DTYPE.FLOAT, dims: [1, G * H, H], data: randomArray(G * H * H, 2, 0.5) },
    { name: 'B', dtype: DTYPE.FLOAT, dims: [1, 2 * G * H], data: randomArray(2 * G * H, 3, 0.5) },
    axes,
    ...(g.extraInitializers ?? []),
  ];
  return encodeModel({
    opset: 14,
    producer: 'test',
    graphName: 'test',
    nodes,
    initializers,
    inputs: [{ name: 'x', elemType: DTYPE.FLOAT, dims: layout ? [B, T, I] : [T, B, I] }],
    outputs: [{ name: g.output ?? 'out', elemType: DTYPE.FLOAT, dims: [] }],
  });
}
