/**
 * What the tracer (trace.ts) computes with: constants, and tensors of references, each element naming which
 * element of which source it is; and the part of the tracer that moves them about: the graph's values by name,
 * a node's inputs and attributes, constant folding and the glue ops. The ops that compute are in tracer.ts.
 */
import { FormatError, UnsupportedError } from '../../errors.js';
import type { GateActivation } from '../../types.js';
import { quote } from '../describe.js';
import { type Attribute, type Constant, DTYPE, type OnnxModel, type OnnxNode, isFloatType } from './messages.js';
import { type Arr, expand, gather, reshape, size, slice, squeeze, transpose, unsqueeze } from './ops.js';

export type OnnxCell = 'rnn' | 'lstm' | 'gru';

/** One recurrent node: a layer, both directions, its weights in ONNX's layout and gate order. */
export interface TracedLayer {
  readonly node: string;
  readonly cell: OnnxCell;
  readonly nonlinearity: 'tanh' | 'relu';
  readonly recurrentActivation: GateActivation;
  /** linear_before_reset = 1 (PyTorch's GRU), or 0. */
  readonly resetAfter: boolean;
  /** direction "reverse": one direction, backwards in time. */
  readonly reverse: boolean;
  /** Its input is the one below's (or the model's) reversed in time: a core that reads backwards starts here. */
  readonly goBackwards: boolean;
  readonly hiddenSize: number;
  readonly directions: number;
  readonly inputSize: number;
  /** [D, G·H, in], [D, G·H, H], [D, 2·G·H] or null. */
  readonly W: Constant;
  readonly R: Constant;
  readonly B: Constant | null;
}

export interface TracedHead {
  readonly on: 'steps' | 'final';
  /** [O, F], as nn.Linear holds it. */
  readonly weight: Float32Array;
  readonly bias: Float32Array | null;
  readonly outputSize: number;
  readonly weightName: string | null;
  readonly biasName: string | null;
}

/** What the graph's first output is, for inputs of any T and B. */
export interface TracedOutput {
  readonly name: string;
  readonly apply: 'none' | 'softmax' | 'logSoftmax';
  /** Whether the output is per step, or per sequence (a head on the final states, or the final states themselves). */
  readonly on: 'steps' | 'final';
  /** Each output dimension as the product of these, in order: T, B and O (the head's width). */
  readonly dims: readonly (readonly ('T' | 'B' | 'O')[])[];
}

export interface Traced {
  readonly embedding: { table: Constant; name: string | null; node: string } | null;
  readonly inputSize: number;
  readonly layers: readonly TracedLayer[];
  /** The layers (by index) whose two directions the graph joins element-wise, and how. */
  readonly merges: ReadonlyMap<number, 'sum' | 'ave' | 'mul'>;
  readonly head: TracedHead | null;
  readonly batchFirst: boolean;
  readonly output: TracedOutput;
  /** A Relu, Tanh or Sigmoid on the head's output (the head's activation), else 'linear'. */
  readonly headActivation: 'linear' | 'relu' | 'tanh' | 'sigmoid';
  readonly mainInput: string;
  readonly lengthsInput: string | null;
}

// ---- values: constants, and tensors of references ---------------------------------------------------------

export interface ConstValue extends Arr {
  readonly kind: 'const';
  readonly dtype: number;
  /** The initializer it is, when it is one (for module names and tied weights). */
  readonly initializer: string | null;
}
export interface RefValue extends Arr {
  readonly kind: 'ref';
  readonly data: Float64Array;
}
export type Value = ConstValue | RefValue;

export type Source =
  | { kind: 'input' }
  | { kind: 'other'; name: string }
  | { kind: 'emb' }
  | { kind: 'Y' | 'Yh' | 'Yc'; layer: number }
  /** A bidirectional layer's two directions joined element-wise: its Y or Y_h as if it had one direction. */
  | { kind: 'merged'; of: 'Y' | 'Yh'; layer: number; mode: 'sum' | 'ave' | 'mul' }
  | { kind: 'matmul' }
  | { kind: 'head' }
  | { kind: 'softmax' | 'logSoftmax' }
  | { kind: 'activated'; activation: 'relu' | 'tanh' | 'sigmoid' };

/** A reference: source · STRIDE + element index (exact: sources are few and MAX_TRACE < STRIDE). */
const STRIDE = 2 ** 26;
export const code = (source: number, index: number) => source * STRIDE + index;
export const sourceOf = (c: number) => Math.floor(c / STRIDE);
export const indexOf = (c: number) => c % STRIDE;

/** Sizes given to a graph input whose dims are symbolic: small, distinct, and not 1, so nothing is ambiguous. */
export const TRACE_SIZES = [5, 3, 7, 2];

export const SUPPORTED = [
  'Identity',
  'Cast',
  'Constant',
  'Slice',
  'Squeeze',
  'Unsqueeze',
  'Transpose',
  'Reshape',
  'Concat',
  'Gather',
  'Shape',
  'ConstantOfShape',
  'Expand',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'MatMul',
  'Gemm',
  'RNN',
  'LSTM',
  'GRU',
  'Softmax',
  'LogSoftmax',
  'Relu',
  'Tanh',
  'Sigmoid',
];

/** The graph's values and the node being traced, with the helpers every op uses. */
export class ValueTracer {
  readonly values = new Map<string, Value>();
  readonly sources: Source[] = [{ kind: 'input' }];
  readonly layers: (TracedLayer & { T: number; batch: number; layout: number })[] = [];
  embedding: Traced['embedding'] = null;
  embeddingDim = 0;
  head: (TracedHead & { layer: number }) | null = null;
  batchFirst: boolean | null = null;
  lengthsInput: string | null = null;
  node!: OnnxNode;

  constructor(
    readonly model: OnnxModel,
    readonly mainInput: string,
    readonly mainDims: readonly number[],
  ) {}

  fail(what: string, Kind: new (m: string) => Error = FormatError): never {
    throw new Kind(`ONNX: node ${quote(this.node.name || this.node.outputs[0] || '')} (${this.node.opType}): ${what}`);
  }

  unsupported(what: string): never {
    return this.fail(what, UnsupportedError);
  }

  source(s: Source): number {
    this.sources.push(s);
    return this.sources.length - 1;
  }

  refs(dims: readonly number[], source: number): RefValue {
    const n = size(dims);
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = code(source, i);
    return { kind: 'ref', dims, data };
  }

  input(i: number): Value | null {
    const name = this.node.inputs[i];
    if (name === undefined || name === '') return null;
    const v = this.values.get(name);
    if (!v) this.fail(`input ${quote(name)} is not computed before this node`);
    return v;
  }

  need(i: number): Value {
    return this.input(i) ?? this.fail(`input ${i} is missing`);
  }

  constant(i: number, what: string): ConstValue {
    const v = this.need(i);
    if (v.kind !== 'const') this.unsupported(`its ${what} (input ${i}) is computed from the graph's inputs; it must be a constant`);
    return v;
  }

  ints(i: number, what: string): number[] | null {
    if (this.input(i) === null) return null;
    return Array.from(this.constant(i, what).data);
  }

  attr(name: string): Attribute | undefined {
    return this.node.attributes.get(name);
  }

  attrInt(name: string, fallback: number): number {
    return this.attr(name)?.i ?? fallback;
  }

  attrInts(name: string): number[] | null {
    const a = this.attr(name);
    return a ? [...a.ints] : null;
  }

  /** The node's ONNX-spec'd glue: the same function over constants or references. */
  glue(op: string, x: Value): Arr {
    const opset = this.model.opset;
    switch (op) {
      case 'Identity':
      case 'Cast':
        return x;
      case 'Transpose':
        return transpose(x, this.attrInts('perm'));
      case 'Slice':
        if (opset < 10) return slice(x, this.attrInts('starts') ?? [], this.attrInts('ends') ?? [], this.attrInts('axes'), null);
        return slice(x, this.ints(1, 'starts') ?? [], this.ints(2, 'ends') ?? [], this.ints(3, 'axes'), this.ints(4, 'steps'));
      case 'Squeeze':
        return squeeze(x, opset < 13 ? this.attrInts('axes') : this.ints(1, 'axes'));
      case 'Unsqueeze':
        return unsqueeze(x, (opset < 13 ? this.attrInts('axes') : this.ints(1, 'axes')) ?? this.fail('no axes'));
      case 'Reshape':
        return reshape(x, this.ints(1, 'shape') ?? this.fail('no shape'), this.attrInt('allowzero', 0) === 1);
      case 'Gather': {
        const indices = this.constant(1, 'indices');
        return gather(x, indices, this.attrInt('axis', 0));
      }
      case 'Expand':
        return expand(x, this.ints(1, 'shape') ?? this.fail('no shape'));
      default:
        return this.fail('internal: not a glue op');
    }
  }

  glued(x: Value): Value {
    const out = this.glue(this.node.opType, x);
    if (x.kind === 'ref') return { kind: 'ref', dims: out.dims, data: out.data as Float64Array };
    const to = this.node.opType === 'Cast' ? this.attrInt('to', x.dtype) : x.dtype;
    const data =
      isFloatType(to) === isFloatType(x.dtype)
        ? out.data
        : isFloatType(to)
          ? Float32Array.from(out.data)
          : Float64Array.from(out.data, Math.trunc);
    return { kind: 'const', dims: out.dims, data, dtype: to, initializer: this.node.opType === 'Identity' ? x.initializer : null };
  }

  folded(a: Arr, dtype: number): ConstValue {
    return { kind: 'const', dims: a.dims, data: a.data, dtype, initializer: null };
  }

  constantNode(): ConstValue {
    const a = this.node.attributes;
    const t = a.get('value')?.t;
    if (t) return this.folded(t, t.dtype);
    const f = a.get('value_float')?.f;
    if (f !== undefined) return this.folded({ dims: [], data: Float32Array.of(f) }, DTYPE.FLOAT);
    const i = a.get('value_int')?.i;
    if (i !== undefined) return this.folded({ dims: [], data: Float64Array.of(i) }, DTYPE.INT64);
    const fs = a.get('value_floats');
    if (fs) return this.folded({ dims: [fs.floats.length], data: Float32Array.from(fs.floats) }, DTYPE.FLOAT);
    const is = a.get('value_ints');
    if (is) return this.folded({ dims: [is.ints.length], data: Float64Array.from(is.ints) }, DTYPE.INT64);
    return this.unsupported('a Constant without a numeric value');
  }

  /**
   * The node's `activations` (per direction: the gates' f, the candidate's g, the LSTM's cell output's h) as
   * this library's: f Sigmoid or HardSigmoid with (alpha, beta) (0.2, 0.5) or (1/6, 0.5), g and h both Tanh or
   * both Relu; the same in both directions.
   */
  activations(cell: OnnxCell, D: number): { nonlinearity: 'tanh' | 'relu'; recurrentActivation: GateActivation } {
    const names = this.attr('activations')?.strings ?? [];
    const alphas = this.attr('activation_alpha')?.floats ?? [];
    const betas = this.attr('activation_beta')?.floats ?? [];
    const per = { rnn: 1, lstm: 3, gru: 2 }[cell];
    const defaults = { rnn: ['Tanh'], lstm: ['Sigmoid', 'Tanh', 'Tanh'], gru: ['Sigmoid', 'Tanh'] }[cell];
    if (!names.length) {
      if (alphas.length || betas.length) this.unsupported('activation_alpha/activation_beta without activations');
      return { nonlinearity: 'tanh', recurrentActivation: 'sigmoid' };
    }
    if (names.length !== per * D) this.fail(`${names.length} activations for ${D} direction(s)`);
    const one = names.slice(0, per).map((n) => n.toLowerCase());
    // As onnxruntime reads them, each function that takes an alpha (and a beta) takes the next of the list.
    const parameters: string[] = [];
    let next = 0;
    for (const n of names) parameters.push(n.toLowerCase() === 'hardsigmoid' ? `(${alphas[next] ?? 0.2},${betas[next++] ?? 0.5})` : '');
    const key = (i: number) => `${names[i].toLowerCase()}${parameters[i]}`;
    for (let i = per; i < names.length; i++) if (key(i) !== key(i - per)) this.unsupported('different activations in the two directions');
    const supported = `supported: ${cell === 'rnn' ? 'Tanh or Relu' : `${defaults.join(', ')}, with Relu for the candidate and HardSigmoid for the gates`}`;
    const refuse = (): never => this.unsupported(`activations [${names.join(', ')}] (${supported})`);
    const candidates = cell === 'rnn' ? one : one.slice(1);
    if (!candidates.every((a) => a === candidates[0]) || (candidates[0] !== 'tanh' && candidates[0] !== 'relu')) refuse();
    const nonlinearity = candidates[0] as 'tanh' | 'relu';
    if (cell === 'rnn') return { nonlinearity, recurrentActivation: 'sigmoid' };
    if (one[0] === 'sigmoid') return { nonlinearity, recurrentActivation: 'sigmoid' };
    if (one[0] !== 'hardsigmoid') refuse();
    // HardSigmoid's defaults are alpha 0.2, beta 0.5: tfjs's and tf.keras 2's; PyTorch's nn.Hardsigmoid is 1/6.
    const [alpha, beta] = parameters[0].slice(1, -1).split(',').map(Number);
    if (Math.abs(beta - 0.5) > 1e-6) refuse();
    if (Math.abs(alpha - 0.2) <= 1e-6) return { nonlinearity, recurrentActivation: 'hard_sigmoid' };
    if (Math.abs(alpha - 1 / 6) <= 1e-6) return { nonlinearity, recurrentActivation: 'hardsigmoid' };
    return refuse();
  }
}
