/**
 * The few ONNX messages a recurrent model needs (onnx.proto3: ModelProto, GraphProto, NodeProto, AttributeProto,
 * TensorProto, ValueInfoProto and the tensor branch of TypeProto), decoded from the wire format and encoded back.
 * Field numbers are onnx.proto's. The decoder never recurses: a graph-valued attribute (the bodies of If, Loop,
 * Scan) is kept as a flag, not parsed, so no file can nest deeper than model → graph → node → attribute → tensor.
 * Tensor data is checked against its dims (an overflow-safe product) before anything is copied out.
 */
import { FormatError, UnsupportedError } from '../../errors.js';
import { quote, shapeText } from '../describe.js';
import { ProtoReader } from './protobuf.js';

/** TensorProto.DataType values that may hold weights, indices or shapes. */
export const DTYPE = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
} as const;
const DTYPE_BYTES: Readonly<Record<number, number>> = { 1: 4, 2: 1, 3: 1, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8 };
export const isFloatType = (dtype: number) => dtype === DTYPE.FLOAT || dtype === DTYPE.FLOAT16 || dtype === DTYPE.DOUBLE;

/** No tensor in a model this library reads is larger: 2³¹ elements (an 8 GiB float32 weight). */
const MAX_ELEMENTS = 2 ** 31;

/** A tensor's values: float types as float32, everything else (indices, shapes) as exact numbers below 2⁵³. */
export interface Constant {
  readonly dtype: number;
  readonly dims: readonly number[];
  readonly data: Float32Array | Float64Array;
}

export interface Attribute {
  readonly name: string;
  readonly type: number;
  readonly f?: number;
  readonly i?: number;
  readonly s?: string;
  readonly t?: Constant;
  readonly floats: readonly number[];
  readonly ints: readonly number[];
  readonly strings: readonly string[];
  /** A graph-valued attribute, left unparsed. */
  readonly graph: boolean;
}

export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: ReadonlyMap<string, Attribute>;
}

/** A graph input or output: its name, element type and dims (a number, a symbolic name, or unknown). */
interface ValueInfo {
  readonly name: string;
  readonly elemType: number;
  readonly dims: readonly (number | string | null)[] | null;
}

interface OnnxGraph {
  readonly nodes: readonly OnnxNode[];
  readonly initializers: ReadonlyMap<string, Constant>;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
}

export interface OnnxModel {
  readonly irVersion: number;
  /** The default domain's opset version. */
  readonly opset: number;
  readonly producer: string;
  readonly graph: OnnxGraph;
}

export function decodeModel(bytes: Uint8Array): OnnxModel {
  if (bytes.length === 0) throw new FormatError('ONNX: the file is empty');
  const r = new ProtoReader(bytes, 'ModelProto');
  let irVersion = 0;
  let opset: number | null = null;
  let producer = '';
  let graph: OnnxGraph | null = null;
  while (!r.done) {
    const { field, wire } = r.key();
    if (field === 1 && wire === 0) irVersion = r.varint();
    else if (field === 2 && wire === 2) producer = r.string();
    else if (field === 7 && wire === 2) {
      if (graph) r.fail('two graphs in one model');
      graph = decodeGraph(r.bytesField());
    } else if (field === 8 && wire === 2) {
      const { domain, version } = decodeOpset(r.bytesField());
      if (domain === '' || domain === 'ai.onnx') opset = version;
    } else r.skip(wire);
  }
  if (!graph) throw new FormatError('ONNX: the model has no graph (not an ONNX file, or truncated)');
  if (opset === null) throw new FormatError('ONNX: the model imports no opset of the default domain');
  return { irVersion, opset, producer, graph };
}

function decodeOpset(bytes: Uint8Array): { domain: string; version: number } {
  const r = new ProtoReader(bytes, 'OperatorSetIdProto');
  let domain = '';
  let version = 0;
  while (!r.done) {
    const { field, wire } = r.key();
    if (field === 1 && wire === 2) domain = r.string();
    else if (field === 2 && wire === 0) version = r.varint();
    else r.skip(wire);
  }
  return { domain, version };
}

function decodeGraph(bytes: Uint8Array): OnnxGraph {
  const r = new ProtoReader(bytes, 'GraphProto');
  const nodes: OnnxNode[] = [];
  const initializers = new Map<string, Constant>();
  const inputs: ValueInfo[] = [];
  const outputs: ValueInfo[] = [];
  while (!r.done) {
    const { field, wire } = r.key();
    if (wire !== 2) {
      r.skip(wire);
      continue;
    }
    if (field === 1) nodes.push(decodeNode(r.bytesField()));
    else if (field === 5) {
      const { name, tensor } = decodeTensor(r.bytesField());
      if (initializers.has(name)) throw new FormatError(`ONNX: two initializers are named ${quote(name)}`);
      initializers.set(name, tensor);
    } else if (field === 15) throw new UnsupportedError('ONNX: sparse initializers are not supported');
    else if (field === 11) inputs.push(decodeValueInfo(r.bytesField()));
    else if (field === 12) outputs.push(decodeValueInfo(r.bytesField()));
    else r.skip(wire);
  }
  return { nodes, initializers, inputs, outputs };
}

function decodeNode(bytes: Uint8Array): OnnxNode {
  const r = new ProtoReader(bytes, 'NodeProto');
  const inputs: string[] = [];
  const outputs: string[] = [];
  let name = '';
  let opType = '';
  let domain = '';
  const attributes = new Map<string, Attribute>();
  while (!r.done) {
    const { field, wire } = r.key();
    if (wire !== 2) {
      r.skip(wire);
      continue;
    }
    if (field === 1) inputs.push(r.string());
    else if (field === 2) outputs.push(r.string());
    else if (field === 3) name = r.string();
    else if (field === 4) opType = r.string();
    else if (field === 7) domain = r.string();
    else if (field === 5) {
      const a = decodeAttribute(r.bytesField());
      if (attributes.has(a.name)) throw new FormatError(`ONNX: node ${quote(name || opType)} has two attributes named ${quote(a.name)}`);
      attributes.set(a.name, a);
    } else r.skip(wire);
  }
  if (!opType) throw new FormatError(`ONNX: node ${quote(name)} has no op_type`);
  return { name, opType, domain, inputs, outputs, attributes };
}

function decodeAttribute(bytes: Uint8Array): Attribute {
  const r = new ProtoReader(bytes, 'AttributeProto');
  let name = '';
  let type = 0;
  let f: number | undefined;
  let i: number | undefined;
  let s: string | undefined;
  let t: Constant | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: string[] = [];
  let graph = false;
  while (!r.done) {
    const { field, wire } = r.key();
    switch (field) {
      case 1:
        name = r.string();
        break;
      case 20:
        type = r.varint();
        break;
      case 2:
        if (wire === 5) f = r.float();
        else r.skip(wire);
        break;
      case 3:
        if (wire === 0) i = r.varint();
        else r.skip(wire);
        break;
      case 4:
        if (wire === 2) s = latin(r.bytesField());
        else r.skip(wire);
        break;
      case 5:
        if (wire === 2) t = decodeTensor(r.bytesField()).tensor;
        else r.skip(wire);
        break;
      case 6:
      case 11:
        graph = true;
        r.skip(wire);
        break;
      case 7:
        r.repeatedFloats(wire, floats);
        break;
      case 8:
        r.repeatedInts(wire, ints);
        break;
      case 9:
        if (wire === 2) strings.push(latin(r.bytesField()));
        else r.skip(wire);
        break;
      default:
        r.skip(wire);
    }
  }
  return { name, type, f, i, s, t, floats, ints, strings, graph };
}

/** Attribute strings are bytes; the ones ONNX defines are ASCII. */
function latin(bytes: Uint8Array): string {
  let text = '';
  for (let k = 0; k < Math.min(bytes.length, 200); k++) text += String.fromCharCode(bytes[k]);
  return text;
}

function decodeValueInfo(bytes: Uint8Array): ValueInfo {
  const r = new ProtoReader(bytes, 'ValueInfoProto');
  let name = '';
  let elemType = 0;
  let dims: (number | string | null)[] | null = null;
  while (!r.done) {
    const { field, wire } = r.key();
    if (field === 1 && wire === 2) name = r.string();
    else if (field === 2 && wire === 2) {
      // TypeProto: only tensor_type (1) is read; sequences, maps and optionals are left as unknown.
      const type = new ProtoReader(r.bytesField(), 'TypeProto');
      while (!type.done) {
        const k = type.key();
        if (k.field !== 1 || k.wire !== 2) {
          type.skip(k.wire);
          continue;
        }
        const tensor = new ProtoReader(type.bytesField(), 'TypeProto.Tensor');
        while (!tensor.done) {
          const k2 = tensor.key();
          if (k2.field === 1 && k2.wire === 0) elemType = tensor.varint();
          else if (k2.field === 2 && k2.wire === 2) dims = decodeShape(tensor.bytesField());
          else tensor.skip(k2.wire);
        }
      }
    } else r.skip(wire);
  }
  return { name, elemType, dims };
}

function decodeShape(bytes: Uint8Array): (number | string | null)[] {
  const r = new ProtoReader(bytes, 'TensorShapeProto');
  const dims: (number | string | null)[] = [];
  while (!r.done) {
    const { field, wire } = r.key();
    if (field !== 1 || wire !== 2) {
      r.skip(wire);
      continue;
    }
    const d = new ProtoReader(r.bytesField(), 'TensorShapeProto.Dimension');
    let dim: number | string | null = null;
    while (!d.done) {
      const k = d.key();
      if (k.field === 1 && k.wire === 0) dim = d.varint();
      else if (k.field === 2 && k.wire === 2) dim = d.string();
      else d.skip(k.wire);
    }
    dims.push(dim);
  }
  return dims;
}

/** A checked element count: each dim a non-negative integer, the product at most MAX_ELEMENTS. */
function elementCount(dims: readonly number[], what: string): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new FormatError(`ONNX: ${what} has a dimension of ${d}`);
    n *= d;
    if (n > MAX_ELEMENTS) throw new FormatError(`ONNX: ${what} of shape ${shapeText(dims)} has more than ${MAX_ELEMENTS} elements`);
  }
  return n;
}

function decodeTensor(bytes: Uint8Array): { name: string; tensor: Constant } {
  const r = new ProtoReader(bytes, 'TensorProto');
  const dims: number[] = [];
  let dtype = 0;
  let name = '';
  let raw: Uint8Array | null = null;
  let external = false;
  const floats: number[] = [];
  const ints: number[] = [];
  let doubles: Uint8Array | null = null;
  while (!r.done) {
    const { field, wire } = r.key();
    switch (field) {
      case 1:
        r.repeatedInts(wire, dims);
        break;
      case 2:
        if (wire === 0) dtype = r.varint();
        else r.skip(wire);
        break;
      case 4:
        r.repeatedFloats(wire, floats);
        break;
      case 5:
      case 7:
      case 11:
        r.repeatedInts(wire, ints);
        break;
      case 8:
        if (wire === 2) name = r.string();
        else r.skip(wire);
        break;
      case 9:
        if (wire === 2) raw = r.bytesField();
        else r.skip(wire);
        break;
      case 10:
        if (wire === 2) doubles = r.bytesField();
        else r.skip(wire);
        break;
      case 14:
        if (wire === 0) external = r.varint() === 1;
        else r.skip(wire);
        break;
      default:
        r.skip(wire);
    }
  }
  const what = `tensor ${quote(name)}`;
  if (external) throw new UnsupportedError(`ONNX: ${what} keeps its data in an external file; save the model with its weights inside`);
  const size = DTYPE_BYTES[dtype];
  if (size === undefined) throw new UnsupportedError(`ONNX: ${what} has data type ${dtype}, which is not supported`);
  const n = elementCount(dims, what);
  const float = isFloatType(dtype);
  let out: Float32Array | Float64Array;
  if (raw) {
    if (raw.length !== n * size) {
      throw new FormatError(`ONNX: ${what} of shape ${shapeText(dims)} needs ${n * size} bytes of raw_data, but holds ${raw.length}`);
    }
    out = readRaw(raw, dtype, n);
  } else if (dtype === DTYPE.DOUBLE && doubles) {
    if (doubles.length !== n * 8) throw new FormatError(`ONNX: ${what} of shape ${shapeText(dims)} holds ${doubles.length / 8} doubles`);
    out = readRaw(doubles, dtype, n);
  } else {
    const values = dtype === DTYPE.FLOAT ? floats : ints;
    if (values.length !== n) {
      throw new FormatError(`ONNX: ${what} of shape ${shapeText(dims)} has ${n} elements, but holds ${values.length} values`);
    }
    out = float ? Float32Array.from(dtype === DTYPE.FLOAT16 ? values.map(half) : values) : Float64Array.from(values);
  }
  return { name, tensor: { dtype, dims, data: out } };
}

function readRaw(raw: Uint8Array, dtype: number, n: number): Float32Array | Float64Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = isFloatType(dtype) ? new Float32Array(n) : new Float64Array(n);
  for (let k = 0; k < n; k++) {
    switch (dtype) {
      case DTYPE.FLOAT:
        out[k] = view.getFloat32(4 * k, true);
        break;
      case DTYPE.DOUBLE:
        out[k] = view.getFloat64(8 * k, true);
        break;
      case DTYPE.FLOAT16:
        out[k] = half(view.getUint16(2 * k, true));
        break;
      case DTYPE.INT64:
        out[k] = int64(view, 8 * k);
        break;
      case DTYPE.UINT64:
        out[k] = view.getUint32(8 * k, true) + view.getUint32(8 * k + 4, true) * 2 ** 32;
        break;
      case DTYPE.INT32:
        out[k] = view.getInt32(4 * k, true);
        break;
      case DTYPE.UINT32:
        out[k] = view.getUint32(4 * k, true);
        break;
      case DTYPE.INT16:
        out[k] = view.getInt16(2 * k, true);
        break;
      case DTYPE.INT8:
        out[k] = view.getInt8(k);
        break;
      default:
        out[k] = view.getUint8(k);
    }
  }
  return out;
}

/** An int64 as a number; beyond ±2⁵³ it is rounded, which only Slice's "to the end" sentinels are. */
function int64(view: DataView, at: number): number {
  return view.getInt32(at + 4, true) * 2 ** 32 + view.getUint32(at, true);
}

function half(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
