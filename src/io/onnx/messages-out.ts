/**
 * The ONNX messages this library writes (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto), from
 * plain specifications: what `toONNX` builds its graph from. Their reading is in messages.ts.
 */
import { DTYPE } from './messages.js';
import { ProtoWriter } from './protobuf.js';

export interface NodeSpec {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
  readonly attributes?: readonly AttrSpec[];
}

export type AttrSpec =
  | { name: string; int: number }
  | { name: string; float: number }
  | { name: string; string: string }
  | { name: string; ints: readonly number[] }
  | { name: string; floats: readonly number[] }
  | { name: string; strings: readonly string[] };

export interface TensorSpec {
  readonly name: string;
  readonly dtype: number;
  readonly dims: readonly number[];
  readonly data: ArrayLike<number>;
}

export interface ValueSpec {
  readonly name: string;
  readonly elemType: number;
  readonly dims: readonly (number | string)[];
}

export interface ModelSpec {
  readonly opset: number;
  readonly producer: string;
  readonly graphName: string;
  readonly nodes: readonly NodeSpec[];
  readonly initializers: readonly TensorSpec[];
  readonly inputs: readonly ValueSpec[];
  readonly outputs: readonly ValueSpec[];
}

export function encodeModel(m: ModelSpec): Uint8Array {
  return new ProtoWriter()
    .int(1, 8) // ir_version 8: opsets up to 18
    .string(2, m.producer)
    .message(7, (g) => {
      for (const n of m.nodes) g.message(1, (w) => writeNode(w, n));
      g.string(2, m.graphName);
      for (const t of m.initializers) g.message(5, (w) => writeTensor(w, t));
      for (const v of m.inputs) g.message(11, (w) => writeValue(w, v));
      for (const v of m.outputs) g.message(12, (w) => writeValue(w, v));
    })
    .message(8, (w) => w.string(1, '').int(2, m.opset))
    .finish();
}

function writeNode(w: ProtoWriter, n: NodeSpec): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.opType);
  for (const a of n.attributes ?? []) {
    w.message(5, (aw) => {
      aw.string(1, a.name);
      if ('int' in a) aw.int(3, a.int).int(20, 2);
      else if ('float' in a) aw.float(2, a.float).int(20, 1);
      else if ('string' in a) aw.string(4, a.string).int(20, 3);
      else if ('ints' in a) aw.packedInts(8, a.ints).int(20, 7);
      else if ('floats' in a) {
        for (const f of a.floats) aw.float(7, f); // onnx.proto is proto2: repeated floats unpacked
        aw.int(20, 6);
      } else {
        for (const s of a.strings) aw.string(9, s);
        aw.int(20, 8);
      }
    });
  }
}

function writeTensor(w: ProtoWriter, t: TensorSpec): void {
  w.packedInts(1, t.dims).int(2, t.dtype).string(8, t.name);
  const n = t.data.length;
  const raw = new Uint8Array(n * (t.dtype === DTYPE.INT64 ? 8 : 4));
  const view = new DataView(raw.buffer);
  for (let k = 0; k < n; k++) {
    if (t.dtype === DTYPE.INT64) view.setBigInt64(8 * k, BigInt(t.data[k]), true);
    else if (t.dtype === DTYPE.INT32) view.setInt32(4 * k, t.data[k], true);
    else view.setFloat32(4 * k, t.data[k], true);
  }
  w.bytes(9, raw);
}

function writeValue(w: ProtoWriter, v: ValueSpec): void {
  w.string(1, v.name).message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.elemType).message(2, (shape) => {
        for (const d of v.dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}
