/**
 * ONNX models of one recurrent layer, written in code for onnxruntime-web: a protobuf writer for the few
 * messages a model needs (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto, AttributeProto),
 * and the conversion from PyTorch's weights to ONNX's RNN, LSTM and GRU operators (opset 14).
 */

/** Protobuf's wire format: varints, and length-delimited fields for strings, bytes and messages. */
class Writer {
  private bytes: number[] = [];

  varint(value: number): this {
    let v = BigInt.asUintN(64, BigInt(value));
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v) byte |= 0x80;
      this.bytes.push(byte);
    } while (v);
    return this;
  }

  int(field: number, value: number): this {
    return this.varint(field << 3).varint(value);
  }

  raw(field: number, data: Uint8Array): this {
    this.varint((field << 3) | 2).varint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }

  string(field: number, value: string): this {
    return this.raw(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.raw(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

const FLOAT = 1; // TensorProto.DataType
const INT_ATTRIBUTE = 2; // AttributeProto.AttributeType
const STRINGS_ATTRIBUTE = 8;

interface Initializer {
  name: string;
  dims: number[];
  data: Float32Array;
}

interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  ints: Record<string, number>;
  strings?: Record<string, string[]>;
}

/** A model of one graph: float inputs and outputs of fixed shapes, initializers, nodes in order. */
function model(inputs: [string, number[]][], outputs: [string, number[]][], initializers: Initializer[], nodes: Node[]): Uint8Array {
  const valueInfo = (w: Writer, [name, dims]: [string, number[]]) => {
    w.string(1, name).message(2, (type) =>
      type.message(1, (tensor) => {
        tensor.int(1, FLOAT).message(2, (shape) => dims.forEach((d) => shape.message(1, (dim) => dim.int(1, d))));
      }),
    );
  };
  return new Writer()
    .int(1, 8) // ir_version
    .message(7, (graph) => {
      nodes.forEach((n, i) =>
        graph.message(1, (node) => {
          n.inputs.forEach((name) => node.string(1, name));
          n.outputs.forEach((name) => node.string(2, name));
          node.string(3, `${n.op.toLowerCase()}${i}`).string(4, n.op);
          Object.entries(n.ints).forEach(([name, value]) => node.message(5, (a) => a.string(1, name).int(3, value).int(20, INT_ATTRIBUTE)));
          Object.entries(n.strings ?? {}).forEach(([name, values]) =>
            node.message(5, (a) => {
              a.string(1, name);
              values.forEach((v) => a.string(9, v));
              a.int(20, STRINGS_ATTRIBUTE);
            }),
          );
        }),
      );
      graph.string(2, 'rnn');
      initializers.forEach((t) =>
        graph.message(5, (tensor) => {
          t.dims.forEach((d) => tensor.int(1, d));
          tensor
            .int(2, FLOAT)
            .string(8, t.name)
            .raw(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
        }),
      );
      inputs.forEach((v) => graph.message(11, (w) => valueInfo(w, v)));
      outputs.forEach((v) => graph.message(12, (w) => valueInfo(w, v)));
    })
    .message(8, (opset) => opset.string(1, '').int(2, 14))
    .finish();
}

/** Gate blocks of H rows, reordered: PyTorch's order → ONNX's (LSTM i,f,g,o → i,o,f,c; GRU r,z,n → z,r,h). */
function reorder(w: Float32Array, order: number[]): Float32Array {
  const block = w.length / order.length;
  const out = new Float32Array(w.length);
  order.forEach((from, to) => out.set(w.subarray(from * block, (from + 1) * block), to * block));
  return out;
}

const ONNX_ORDER = { rnn: [0], lstm: [0, 3, 1, 2], gru: [1, 0, 2] } as const;
const OPERATOR = { rnn: 'RNN', lstm: 'LSTM', gru: 'GRU' } as const;

/**
 * One unidirectional layer over x [T, B, I] with PyTorch's weights (`weight_ih_l0`, … of one layer): the ONNX
 * operator of the cell (RNN with tanh or ReLU, LSTM, GRU with linear_before_reset = 1, which is PyTorch's GRU).
 * From zero initial state with output Y [T, 1, B, H]; or, for a stream of single steps (`stream`, RNN and GRU),
 * from the state in input H0 [1, B, H] with the new state as output Y_h [1, B, H].
 */
export function recurrentModel(
  cell: 'rnn' | 'lstm' | 'gru',
  nonlinearity: 'tanh' | 'relu',
  weights: Record<string, Float32Array>,
  T: number,
  B: number,
  I: number,
  H: number,
  stream = false,
): Uint8Array {
  const order = [...ONNX_ORDER[cell]];
  const G = order.length * H;
  const bias = new Float32Array(2 * G);
  bias.set(reorder(weights['rnn.bias_ih_l0'], order), 0);
  bias.set(reorder(weights['rnn.bias_hh_l0'], order), G);
  const initializers: Initializer[] = [
    { name: 'W', dims: [1, G, I], data: reorder(weights['rnn.weight_ih_l0'], order) },
    { name: 'R', dims: [1, G, H], data: reorder(weights['rnn.weight_hh_l0'], order) },
    { name: 'B', dims: [1, 2 * G], data: bias },
  ];
  const ints: Record<string, number> = { hidden_size: H };
  if (cell === 'gru') ints.linear_before_reset = 1;
  const strings: Record<string, string[]> = cell === 'rnn' && nonlinearity === 'relu' ? { activations: ['Relu'] } : {};
  const op = OPERATOR[cell];
  if (stream) {
    // Inputs X, W, R, B, sequence_lens (left out: ''), initial_h; outputs Y (left out) and Y_h.
    return model(
      [
        ['X', [T, B, I]],
        ['H0', [1, B, H]],
      ],
      [['Y_h', [1, B, H]]],
      initializers,
      [{ op, inputs: ['X', 'W', 'R', 'B', '', 'H0'], outputs: ['', 'Y_h'], ints, strings }],
    );
  }
  return model([['X', [T, B, I]]], [['Y', [T, 1, B, H]]], initializers, [
    { op, inputs: ['X', 'W', 'R', 'B'], outputs: ['Y'], ints, strings },
  ]);
}
