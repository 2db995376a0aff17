/**
 * Runs an ONNX graph once at its exported sizes, not on numbers but on references: every element of every
 * computed value says which element of which source it is (the input's, the embedding's, a recurrent layer's
 * output or final state, the head's). Constants are folded as they are met, so a weight built by a chain of
 * Slice, Concat and Unsqueeze (an export without constant folding) arrives as one tensor; the glue between
 * layers (Slice, Squeeze, Unsqueeze, Transpose, Reshape, Concat, Gather, Identity, Cast, Shape, Expand) moves
 * references about with the same functions. The few ops that compute (Gather on the embedding table, RNN /
 * LSTM / GRU, MatMul + Add or Gemm, Softmax / LogSoftmax) check that their inputs are what a model of this
 * library feeds them, element for element, and start a new source. What the graph's first output refers to
 * then says what it is: the head's output (or the core's, or their softmax), in which order and shape.
 *
 * The model recognised at the traced sizes is the model at every size: an export fixes T and B only in the
 * shapes of its glue, and the checks above leave no freedom in how that glue arranges the elements.
 */
import { FormatError, UnsupportedError } from '../../errors.js';
import { quote, shapeText } from '../describe.js';
import { type Constant, DTYPE, type OnnxModel, type OnnxNode, isFloatType } from './messages.js';
import {
  type Arr, type Data, MAX_TRACE, OpError, binary, concat, expand, gather, reshape, size, slice, squeeze, transpose, unsqueeze,
} from './ops.js';

export type OnnxCell = 'rnn' | 'lstm' | 'gru';

/** One recurrent node: a layer, both directions, its weights in ONNX's layout and gate order. */
interface TracedLayer {
  readonly node: string;
  readonly cell: OnnxCell;
  readonly nonlinearity: 'tanh' | 'relu';
  readonly hiddenSize: number;
  readonly directions: number;
  readonly inputSize: number;
  /** [D, G·H, in], [D, G·H, H], [D, 2·G·H] or null. */
  readonly W: Constant;
  readonly R: Constant;
  readonly B: Constant | null;
}

interface TracedHead {
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
  /** Each output dimension as the product of these, in order: T, B and O (the head's width). */
  readonly dims: readonly (readonly ('T' | 'B' | 'O')[])[];
}

export interface Traced {
  readonly embedding: { table: Constant; name: string | null; node: string } | null;
  readonly inputSize: number;
  readonly layers: readonly TracedLayer[];
  readonly head: TracedHead | null;
  readonly batchFirst: boolean;
  readonly output: TracedOutput;
  readonly mainInput: string;
  readonly lengthsInput: string | null;
}

// ---- values: constants, and tensors of references ---------------------------------------------------------

interface ConstValue extends Arr {
  readonly kind: 'const';
  readonly dtype: number;
  /** The initializer it is, when it is one (for module names and tied weights). */
  readonly initializer: string | null;
}
interface RefValue extends Arr {
  readonly kind: 'ref';
  readonly data: Float64Array;
}
type Value = ConstValue | RefValue;

type Source =
  | { kind: 'input' } | { kind: 'other'; name: string } | { kind: 'emb' }
  | { kind: 'Y' | 'Yh' | 'Yc'; layer: number } | { kind: 'matmul' } | { kind: 'head' }
  | { kind: 'softmax' | 'logSoftmax' };

/** A reference: source · STRIDE + element index (exact: sources are few and MAX_TRACE < STRIDE). */
const STRIDE = 2 ** 26;
const code = (source: number, index: number) => source * STRIDE + index;
const sourceOf = (c: number) => Math.floor(c / STRIDE);
const indexOf = (c: number) => c % STRIDE;

/** Sizes given to a graph input whose dims are symbolic: small, distinct, and not 1, so nothing is ambiguous. */
const TRACE_SIZES = [5, 3, 7, 2];

const SUPPORTED = ['Identity', 'Cast', 'Constant', 'Slice', 'Squeeze', 'Unsqueeze', 'Transpose', 'Reshape', 'Concat', 'Gather',
  'Shape', 'ConstantOfShape', 'Expand', 'Add', 'Sub', 'Mul', 'Div', 'MatMul', 'Gemm', 'RNN', 'LSTM', 'GRU', 'Softmax', 'LogSoftmax'];

class Tracer {
  readonly values = new Map<string, Value>();
  readonly sources: Source[] = [{ kind: 'input' }];
  readonly layers: (TracedLayer & { T: number; batch: number; layout: number })[] = [];
  embedding: Traced['embedding'] = null;
  embeddingDim = 0;
  head: (TracedHead & { layer: number }) | null = null;
  batchFirst: boolean | null = null;
  lengthsInput: string | null = null;
  node!: OnnxNode;

  constructor(readonly model: OnnxModel, readonly mainInput: string, readonly mainDims: readonly number[]) {}

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

  attr(name: string) {
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
      case 'Identity': case 'Cast': return x;
      case 'Transpose': return transpose(x, this.attrInts('perm'));
      case 'Slice':
        if (opset < 10) return slice(x, this.attrInts('starts') ?? [], this.attrInts('ends') ?? [], this.attrInts('axes'), null);
        return slice(x, this.ints(1, 'starts') ?? [], this.ints(2, 'ends') ?? [], this.ints(3, 'axes'), this.ints(4, 'steps'));
      case 'Squeeze': return squeeze(x, opset < 13 ? this.attrInts('axes') : this.ints(1, 'axes'));
      case 'Unsqueeze': return unsqueeze(x, (opset < 13 ? this.attrInts('axes') : this.ints(1, 'axes')) ?? this.fail('no axes'));
      case 'Reshape': return reshape(x, this.ints(1, 'shape') ?? this.fail('no shape'), this.attrInt('allowzero', 0) === 1);
      case 'Gather': {
        const indices = this.constant(1, 'indices');
        return gather(x, indices, this.attrInt('axis', 0));
      }
      case 'Expand': return expand(x, this.ints(1, 'shape') ?? this.fail('no shape'));
      default: return this.fail('internal: not a glue op');
    }
  }

  run(): void {
    for (const node of this.model.graph.nodes) {
      this.node = node;
      if (node.domain !== '' && node.domain !== 'ai.onnx') this.unsupported(`the op is from the domain ${quote(node.domain)}`);
      if (!SUPPORTED.includes(node.opType)) this.unsupported('this op is not supported (a model of this library needs only '
        + 'Gather, RNN/LSTM/GRU, MatMul+Add or Gemm, Softmax/LogSoftmax and shape ops)');
      for (const a of node.attributes.values()) if (a.graph) this.unsupported(`attribute ${quote(a.name)} is a subgraph`);
      let outs: Value[];
      try {
        outs = this.step(node);
      } catch (error) {
        if (error instanceof OpError) this.fail(error.message);
        throw error;
      }
      node.outputs.forEach((name, i) => {
        if (name === '') return;
        if (this.values.has(name)) this.fail(`output ${quote(name)} is computed twice`);
        const v = outs[i];
        if (v) this.values.set(name, v);
      });
    }
  }

  step(node: OnnxNode): Value[] {
    const op = node.opType;
    switch (op) {
      case 'Constant': return [this.constantNode()];
      case 'RNN': case 'LSTM': case 'GRU': return this.recurrent(op.toLowerCase() as OnnxCell);
      case 'MatMul': case 'Gemm': return [this.linear(op)];
      case 'Softmax': case 'LogSoftmax': return [this.softmax(op === 'Softmax' ? 'softmax' : 'logSoftmax')];
      case 'Shape': {
        const x = this.need(0);
        const rank = x.dims.length;
        const clampAxis = (a: number) => Math.min(Math.max(a < 0 ? a + rank : a, 0), rank);
        const dims = x.dims.slice(clampAxis(this.attrInt('start', 0)), clampAxis(this.attrInt('end', rank)));
        return [this.folded({ dims: [dims.length], data: Float64Array.from(dims) }, DTYPE.INT64)];
      }
      case 'ConstantOfShape': {
        const shape = this.ints(0, 'shape') ?? [];
        const value = this.attr('value')?.t;
        const dtype = value?.dtype ?? DTYPE.FLOAT;
        const data: Data = isFloatType(dtype) ? new Float32Array(size(shape)) : new Float64Array(size(shape));
        data.fill(value?.data[0] ?? 0);
        return [this.folded({ dims: shape, data }, dtype)];
      }
      case 'Add': case 'Sub': case 'Mul': case 'Div': return [this.arithmetic(op)];
      case 'Concat': {
        const xs = node.inputs.map((_, i) => this.need(i));
        const kinds = new Set(xs.map((x) => x.kind));
        if (kinds.size > 1) this.unsupported('it joins constants and values computed from the inputs');
        const out = concat(xs, this.attrInt('axis', 0) ?? this.fail('no axis'));
        return [xs[0].kind === 'const' ? this.folded(out, xs[0].dtype) : { kind: 'ref', dims: out.dims, data: out.data as Float64Array }];
      }
      case 'Gather': {
        const data = this.need(0);
        const indices = this.need(1);
        if (data.kind === 'const' && indices.kind === 'ref') return [this.embed(data, indices)];
        if (indices.kind === 'ref') this.unsupported('it gathers with computed indices from a computed tensor');
        return [this.glued(data)];
      }
      default: return [this.glued(this.need(0))];
    }
  }

  glued(x: Value): Value {
    const out = this.glue(this.node.opType, x);
    if (x.kind === 'ref') return { kind: 'ref', dims: out.dims, data: out.data as Float64Array };
    const to = this.node.opType === 'Cast' ? this.attrInt('to', x.dtype) : x.dtype;
    const data = isFloatType(to) === isFloatType(x.dtype) ? out.data
      : isFloatType(to) ? Float32Array.from(out.data) : Float64Array.from(out.data, Math.trunc);
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

  arithmetic(op: string): Value {
    const a = this.need(0);
    const b = this.need(1);
    if (a.kind === 'const' && b.kind === 'const') {
      const f = { Add: (x: number, y: number) => x + y, Sub: (x: number, y: number) => x - y, Mul: (x: number, y: number) => x * y,
        Div: (x: number, y: number) => (isFloatType(a.dtype) ? x / y : Math.trunc(x / y)) }[op]!;
      const out = binary(a, b, f);
      return this.folded({ dims: out.dims, data: isFloatType(a.dtype) ? Float32Array.from(out.data) : out.data }, a.dtype);
    }
    if (op !== 'Add') this.unsupported(`${op} on values computed from the inputs (only the head's bias is added)`);
    return this.bias(a.kind === 'ref' ? a : (b as RefValue), a.kind === 'ref' ? b : a);
  }

  // ---- the ops that compute ------------------------------------------------------------------------------

  /** Gather of token ids from a constant table: the embedding. */
  embed(table: ConstValue, ids: RefValue): RefValue {
    if (this.embedding) this.unsupported('a second embedding');
    if (this.layers.length) this.unsupported('an embedding after the recurrent layers');
    if (table.dims.length !== 2 || !isFloatType(table.dtype)) this.unsupported(`the table must be a float matrix, got ${shapeText(table.dims)}`);
    if (this.attrInt('axis', 0) !== 0) this.unsupported('an embedding gathers along axis 0');
    const [V, E] = table.dims;
    for (const c of ids.data) {
      if (sourceOf(c) !== 0) this.unsupported('the embedding must read the graph\'s first input, the token ids');
    }
    const emb = this.source({ kind: 'emb' });
    const data = new Float64Array(size([...ids.dims, E]));
    ids.data.forEach((c, i) => {
      for (let e = 0; e < E; e++) data[i * E + e] = code(emb, indexOf(c) * E + e);
    });
    this.embedding = { table: { dtype: DTYPE.FLOAT, dims: [V, E], data: Float32Array.from(table.data) }, name: table.initializer, node: this.node.name };
    this.embeddingDim = E;
    return { kind: 'ref', dims: [...ids.dims, E], data };
  }

  recurrent(cell: OnnxCell): Value[] {
    const G = { rnn: 1, lstm: 4, gru: 3 }[cell];
    const direction = this.attr('direction')?.s ?? 'forward';
    if (direction === 'reverse') {
      this.unsupported('direction "reverse" alone: this library\'s layers run forward, or both ways (bidirectional)');
    }
    if (direction !== 'forward' && direction !== 'bidirectional') this.fail(`direction ${quote(direction)}`);
    const D = direction === 'bidirectional' ? 2 : 1;
    if (this.attr('clip')) this.unsupported('attribute "clip" (cell clipping) is not supported');
    if (this.attr('activation_alpha') || this.attr('activation_beta')) this.unsupported('activation_alpha/activation_beta are not supported');
    if (cell === 'lstm' && this.attrInt('input_forget', 0) !== 0) this.unsupported('input_forget = 1 (coupled gates) is not supported');
    if (cell === 'gru' && this.attrInt('linear_before_reset', 0) !== 1) {
      this.unsupported('linear_before_reset = 0 (the reset gate applied before the recurrent product) is not yet supported; '
        + 'PyTorch\'s GRU is linear_before_reset = 1');
    }
    const activations = (this.attr('activations')?.strings ?? []).map((s) => s.toLowerCase());
    const defaults = { rnn: ['tanh'], lstm: ['sigmoid', 'tanh', 'tanh'], gru: ['sigmoid', 'tanh'] }[cell];
    let nonlinearity: 'tanh' | 'relu' = 'tanh';
    if (activations.length) {
      const per = defaults.length;
      if (activations.length !== per * D) this.fail(`${activations.length} activations for ${D} direction(s)`);
      const first = activations.slice(0, per);
      if (D === 2 && activations.slice(per).join() !== first.join()) this.unsupported('different activations in the two directions');
      if (cell === 'rnn' && (first[0] === 'relu' || first[0] === 'tanh')) nonlinearity = first[0];
      else if (first.join() !== defaults.join()) this.unsupported(`activations [${activations.join(', ')}] (supported: ${cell === 'rnn' ? 'Tanh or Relu' : defaults.join(', ')})`);
    }
    const layout = this.attrInt('layout', 0);
    if (layout !== 0 && layout !== 1) this.fail(`layout ${layout}`);
    if (cell === 'lstm' && this.input(7) !== null) {
      const P = this.constant(7, 'peepholes');
      if (P.data.some((v) => v !== 0)) this.unsupported('peephole weights (input P) are not supported');
    }
    const X = this.need(0);
    if (X.kind !== 'ref' || X.dims.length !== 3) this.unsupported('its input X must be a sequence [T, B, F] computed from the graph\'s input');
    const W = this.weights(1, 'W');
    const R = this.weights(2, 'R');
    const B = this.input(3) === null ? null : this.weights(3, 'B');
    const H = W.dims[1] / G;
    const hidden = this.attrInt('hidden_size', H);
    const [T, Bt, F] = layout === 0 ? X.dims : [X.dims[1], X.dims[0], X.dims[2]];
    if (hidden !== H || shapeText(W.dims) !== shapeText([D, G * H, F]) || shapeText(R.dims) !== shapeText([D, G * H, H])
      || (B && shapeText(B.dims) !== shapeText([D, 2 * G * H])) || !Number.isInteger(H) || H < 1) {
      this.fail(`weights W ${shapeText(W.dims)}, R ${shapeText(R.dims)}${B ? `, B ${shapeText(B.dims)}` : ''} do not fit hidden_size ${hidden}, `
        + `${D} direction(s) and an input of ${F} features`);
    }
    this.checkStates(T, Bt, cell);
    const k = this.layers.length;
    this.checkLayerInput(X, k, T, Bt, F, layout);
    if (k > 0) {
      const first = this.layers[0];
      if (first.cell !== cell || first.hiddenSize !== H || first.directions !== D || (first.B === null) !== (B === null)
        || first.nonlinearity !== nonlinearity) {
        this.unsupported(`layer ${k} differs from layer 0 in its cell, hidden size, directions, bias or activation`);
      }
    }
    this.layers.push({ node: this.node.name, cell, nonlinearity, hiddenSize: H, directions: D, inputSize: F, W, R, B, T, batch: Bt, layout });
    const ySource = this.source({ kind: 'Y', layer: k });
    const hSource = this.source({ kind: 'Yh', layer: k });
    const cSource = this.source({ kind: 'Yc', layer: k });
    const yDims = layout === 0 ? [T, D, Bt, H] : [Bt, T, D, H];
    const hDims = layout === 0 ? [D, Bt, H] : [Bt, D, H];
    return [this.refs(yDims, ySource), this.refs(hDims, hSource), this.refs(hDims, cSource)];
  }

  weights(i: number, what: string): Constant {
    const w = this.constant(i, what);
    if (!isFloatType(w.dtype)) this.fail(`${what} is not a float tensor`);
    return { dtype: DTYPE.FLOAT, dims: w.dims, data: Float32Array.from(w.data) };
  }

  /** Initial states must be zeros or come from other graph inputs (zeros by default); lengths from a graph input. */
  checkStates(T: number, Bt: number, cell: OnnxCell): void {
    const lens = this.input(4);
    if (lens?.kind === 'const' && lens.data.some((v) => v !== T)) this.unsupported('constant sequence_lens shorter than the sequence');
    if (lens?.kind === 'ref') {
      const name = this.otherInput(lens, 'sequence_lens');
      if (this.lengthsInput !== null && this.lengthsInput !== name) this.unsupported('layers read different sequence_lens');
      if (lens.data.length !== Bt) this.fail(`sequence_lens has ${lens.data.length} values for a batch of ${Bt}`);
      this.lengthsInput = name;
    }
    for (const [i, what] of [[5, 'initial_h'], [6, 'initial_c']] as const) {
      if (i === 6 && cell !== 'lstm') continue;
      const v = this.input(i);
      if (v?.kind === 'const' && v.data.some((x) => x !== 0)) this.unsupported(`a constant non-zero ${what}`);
      if (v?.kind === 'ref') this.otherInput(v, what);
    }
  }

  /** The one graph input (not the first) that every element comes from. */
  otherInput(v: RefValue, what: string): string {
    let name: string | null = null;
    for (const c of v.data) {
      const s = this.sources[sourceOf(c)];
      if (s.kind !== 'other') this.unsupported(`${what} is computed from the model's input or its layers`);
      if (name !== null && s.name !== name) this.unsupported(`${what} mixes graph inputs`);
      name = s.name;
    }
    return name ?? this.fail(`${what} is empty`);
  }

  /** Layer k's input, element for element: the embedded ids (or the input) for k = 0, else layer k−1's output. */
  checkLayerInput(X: RefValue, k: number, T: number, Bt: number, F: number, layout: number): void {
    const at = (t: number, b: number, f: number) => X.data[layout === 0 ? (t * Bt + b) * F + f : (b * T + t) * F + f];
    const matches = (expected: (t: number, b: number, f: number) => number) => {
      for (let t = 0; t < T; t++) for (let b = 0; b < Bt; b++) for (let f = 0; f < F; f++) if (at(t, b, f) !== expected(t, b, f)) return false;
      return true;
    };
    if (k === 0) {
      const emb = this.sources.findIndex((s) => s.kind === 'emb');
      const width = this.embedding ? this.embeddingDim : this.mainDims[2];
      if (F !== width) this.unsupported(`its input has ${F} features, but the ${this.embedding ? 'embedding' : 'graph input'} ${width}`);
      const src = this.embedding ? emb : 0;
      const rank = this.embedding ? 2 : 3;
      const [n0, n1] = this.mainDims;
      if (this.mainDims.length !== rank) this.unsupported(`the graph's input has rank ${this.mainDims.length}, expected ${rank}`);
      for (const batchFirst of [false, true]) {
        if (batchFirst ? n0 !== Bt || n1 !== T : n0 !== T || n1 !== Bt) continue;
        const pos = (t: number, b: number) => (batchFirst ? b * T + t : t * Bt + b);
        if (matches((t, b, f) => code(src, pos(t, b) * F + f))) {
          this.batchFirst = batchFirst;
          return;
        }
      }
      this.unsupported('its input X is not the graph\'s input (embedded) in time-major or batch-first order');
    }
    const prev = this.layers[k - 1];
    const ySource = this.sources.findIndex((s) => s.kind === 'Y' && s.layer === k - 1);
    const { hiddenSize: H, directions: D } = prev;
    if (prev.T !== T || prev.batch !== Bt || F !== D * H) this.unsupported(`its input does not have the sizes of layer ${k - 1}'s output`);
    const yIndex = (t: number, d: number, b: number, h: number) => (prev.layout === 0 ? ((t * D + d) * Bt + b) * H + h : ((b * T + t) * D + d) * H + h);
    if (!matches((t, b, f) => code(ySource, yIndex(t, Math.floor(f / H), b, f % H)))) {
      this.unsupported(`its input X is not layer ${k - 1}'s output (both directions' states side by side at each step)`);
    }
  }

  /** The row of the last layer a head input row reads: its (t, b) at every step, or b from the final states. */
  headRows(A: RefValue): { on: 'steps' | 'final'; rows: number[] } {
    const k = this.layers.length - 1;
    if (k < 0) this.unsupported('a product before any recurrent layer');
    const L = this.layers[k];
    const { hiddenSize: H, directions: D, T, batch: Bt } = L;
    const F = A.dims[A.dims.length - 1];
    if (F !== D * H) this.unsupported(`it reads ${F} features; the last layer gives ${D * H}`);
    const ySource = this.sources.findIndex((s) => s.kind === 'Y' && s.layer === k);
    const hSource = this.sources.findIndex((s) => s.kind === 'Yh' && s.layer === k);
    const rows: number[] = [];
    let on: 'steps' | 'final' | null = null;
    for (let r = 0; r * F < A.data.length; r++) {
      const first = A.data[r * F];
      const rowOn = sourceOf(first) === ySource ? 'steps' : sourceOf(first) === hSource ? 'final' : null;
      if (rowOn === null || (on !== null && rowOn !== on)) {
        this.unsupported('its input is not the last layer\'s output at every step, nor its final states');
      }
      on = rowOn;
      let t = 0;
      let b: number;
      let expected: (f: number) => number;
      const i = indexOf(first);
      if (on === 'steps') {
        if (L.layout === 0) {
          t = Math.floor(i / (D * Bt * H));
          b = Math.floor(i / H) % Bt;
        } else {
          b = Math.floor(i / (T * D * H));
          t = Math.floor(i / (D * H)) % T;
        }
        const yIndex = (d: number, h: number) => (L.layout === 0 ? ((t * D + d) * Bt + b) * H + h : ((b * T + t) * D + d) * H + h);
        expected = (f) => code(ySource, yIndex(Math.floor(f / H), f % H));
      } else {
        b = L.layout === 0 ? Math.floor(i / H) % Bt : Math.floor(i / (D * H));
        const hIndex = (d: number, h: number) => (L.layout === 0 ? (d * Bt + b) * H + h : (b * D + d) * H + h);
        expected = (f) => code(hSource, hIndex(Math.floor(f / H), f % H));
      }
      for (let f = 0; f < F; f++) {
        if (A.data[r * F + f] !== expected(f)) this.unsupported('its input rows are not whole feature vectors of the last layer');
      }
      rows.push(on === 'final' ? b : this.batchFirst ? b * T + t : t * Bt + b);
    }
    return { on: on!, rows };
  }

  /** MatMul (A [.., F] × constant [F, O]) or Gemm (A [N, F] · Bᵀ + C): the head. */
  linear(op: 'MatMul' | 'Gemm'): Value {
    const A = this.need(0);
    const Bm = this.need(1);
    if (A.kind === 'const' && Bm.kind === 'const') this.unsupported('a product of two constants (fold it before export)');
    if (A.kind !== 'ref' || Bm.kind !== 'const') this.unsupported('the head must multiply the model\'s values by a constant weight on the right');
    if (this.head) this.unsupported('a second head');
    if (Bm.dims.length !== 2 || !isFloatType(Bm.dtype)) this.unsupported(`the weight must be a float matrix, got ${shapeText(Bm.dims)}`);
    let transB = false;
    let C: ConstValue | null = null;
    if (op === 'Gemm') {
      if (A.dims.length !== 2) this.fail('Gemm of a tensor that is not a matrix');
      if (this.attrInt('transA', 0) !== 0) this.unsupported('transA = 1');
      if ((this.attr('alpha')?.f ?? 1) !== 1 || (this.attr('beta')?.f ?? 1) !== 1) this.unsupported('alpha or beta other than 1');
      transB = this.attrInt('transB', 0) === 1;
      if (this.input(2) !== null) C = this.constant(2, 'C');
    }
    const weight = transB ? { dims: Bm.dims, data: Float32Array.from(Bm.data) } : transpose({ dims: Bm.dims, data: Float32Array.from(Bm.data) }, [1, 0]);
    const [O, F] = weight.dims;
    if (A.dims[A.dims.length - 1] !== F) this.fail(`a product of ${shapeText(A.dims)} with ${shapeText(Bm.dims)}`);
    const { on, rows } = this.headRows(A);
    this.head = { on, weight: weight.data as Float32Array, bias: null, outputSize: O, weightName: Bm.initializer, biasName: null, layer: this.layers.length - 1 };
    const src = this.source({ kind: 'matmul' });
    const data = new Float64Array(size([rows.length, O]));
    rows.forEach((row, r) => {
      for (let o = 0; o < O; o++) data[r * O + o] = code(src, row * O + o);
    });
    const out: RefValue = { kind: 'ref', dims: [...A.dims.slice(0, -1), O], data };
    return C ? this.bias(out, C) : out;
  }

  /** The head's bias: a constant of O values added along the last axis of the product. */
  bias(x: RefValue, b: Value): RefValue {
    const matmul = this.sources.findIndex((s) => s.kind === 'matmul');
    if (b.kind !== 'const' || !this.head || this.head.bias || x.data.some((c) => sourceOf(c) !== matmul)) {
      this.unsupported('an Add that is not the head\'s bias');
    }
    const O = this.head.outputSize;
    if (b.data.length !== O || b.dims.some((d, i) => i !== b.dims.length - 1 && d !== 1) || b.dims.length > x.dims.length) {
      this.unsupported(`the head's bias must be ${O} values along the last axis, got ${shapeText(b.dims)}`);
    }
    this.head = { ...this.head, bias: Float32Array.from(b.data), biasName: b.initializer };
    const head = this.source({ kind: 'head' });
    return { kind: 'ref', dims: x.dims, data: x.data.map((c) => code(head, indexOf(c))) };
  }

  softmax(kind: 'softmax' | 'logSoftmax'): RefValue {
    const x = this.need(0);
    if (x.kind !== 'ref') this.unsupported('a softmax of a constant');
    const rank = x.dims.length;
    const a = this.attrInt('axis', this.model.opset >= 13 ? -1 : 1);
    if ((a < 0 ? a + rank : a) !== rank - 1) this.unsupported(`a softmax over axis ${a} (only the last axis, the classes, is supported)`);
    const src = sourceOf(x.data[0]);
    const s = this.sources[src];
    if (!['head', 'matmul', 'Y'].includes(s.kind) || this.sources.some((t) => t.kind === 'softmax' || t.kind === 'logSoftmax')) {
      this.unsupported('a softmax that is not over the model\'s output');
    }
    const O = x.dims[rank - 1];
    for (let i = 0; i < x.data.length; i += O) {
      const first = indexOf(x.data[i]);
      if (first % O !== 0) this.unsupported('a softmax over something other than each output vector');
      for (let o = 0; o < O; o++) if (x.data[i + o] !== code(src, first + o)) this.unsupported('a softmax over something other than each output vector');
    }
    const out = this.source({ kind });
    this.softmaxOf = src;
    return { kind: 'ref', dims: x.dims, data: x.data.map((c) => code(out, indexOf(c))) };
  }

  softmaxOf = -1;
}

/** Runs the graph and says what model it is. */
export function trace(model: OnnxModel): Traced {
  const { graph } = model;
  const initializers = graph.initializers;
  const inputs = graph.inputs.filter((v) => !initializers.has(v.name));
  if (inputs.length === 0) throw new FormatError('ONNX: the graph has no input');
  if (graph.outputs.length === 0) throw new FormatError('ONNX: the graph has no output');
  const main = inputs[0];
  if (!main.dims) throw new UnsupportedError(`ONNX: the graph's first input ${quote(main.name)} has no declared shape`);
  let symbolic = 0;
  const mainDims = main.dims.map((d) => (typeof d === 'number' ? d : TRACE_SIZES[symbolic++ % TRACE_SIZES.length]));
  if (mainDims.length < 2 || mainDims.length > 3) {
    throw new UnsupportedError(`ONNX: the graph's first input ${quote(main.name)} has shape ${shapeText(main.dims.map(String) as never)}; `
      + 'expected token ids [T, B] or vectors [T, B, I]');
  }
  if (mainDims.some((d) => d < 1)) throw new FormatError(`ONNX: the graph's first input has a dimension of ${Math.min(...mainDims)}`);
  if (mainDims.reduce((p, d) => p * d, 1) > MAX_TRACE / 64) {
    throw new UnsupportedError(`ONNX: the graph's first input has shape ${shapeText(mainDims)}; export with a smaller example input`);
  }
  const t = new Tracer(model, main.name, mainDims);
  for (const [name, c] of initializers) t.values.set(name, { kind: 'const', dims: c.dims, data: c.data, dtype: c.dtype, initializer: name });
  t.values.set(main.name, t.refs(mainDims, 0));
  for (const v of inputs.slice(1)) {
    const dims = (v.dims ?? []).map((d) => (typeof d === 'number' ? d : 1));
    if (dims.some((d) => d < 0) || dims.reduce((p, d) => p * d, 1) > MAX_TRACE / 64) {
      throw new UnsupportedError(`ONNX: graph input ${quote(v.name)} has shape ${shapeText(dims)}`);
    }
    t.values.set(v.name, t.refs(dims, t.source({ kind: 'other', name: v.name })));
  }
  t.run();
  if (t.layers.length === 0) throw new UnsupportedError('ONNX: the graph has no RNN, LSTM or GRU node');
  if (t.head && t.head.layer !== t.layers.length - 1) {
    throw new UnsupportedError(`ONNX: the head reads layer ${t.head.layer}, but more layers follow it`);
  }
  return {
    embedding: t.embedding,
    inputSize: t.embedding ? t.embeddingDim : mainDims[2],
    layers: t.layers,
    head: t.head,
    batchFirst: t.batchFirst ?? false,
    output: recogniseOutput(t, graph.outputs[0].name),
    mainInput: main.name,
    lengthsInput: t.lengthsInput,
  };
}

/** The first output, element for element, as the model's y (or its softmax) in the model's order, reshaped. */
function recogniseOutput(t: Tracer, name: string): TracedOutput {
  const v = t.values.get(name);
  if (!v) throw new FormatError(`ONNX: the graph's output ${quote(name)} is computed by no node`);
  const fail = (what: string): never => {
    throw new UnsupportedError(`ONNX: the graph's first output ${quote(name)} ${what}`);
  };
  if (v.kind !== 'ref' || v.data.length === 0) return fail('is not computed from the model\'s input');
  const last = t.layers[t.layers.length - 1];
  const { T, batch: Bt, hiddenSize: H, directions: D } = last;
  const on = t.head?.on ?? 'steps';
  const O = t.head ? t.head.outputSize : D * H;
  const factors: ['T' | 'B' | 'O', number][] = on === 'final' ? [['B', Bt], ['O', O]]
    : t.batchFirst ? [['B', Bt], ['T', T], ['O', O]] : [['T', T], ['B', Bt], ['O', O]];
  const n = factors.reduce((p, [, d]) => p * d, 1);
  if (v.data.length !== n) fail(`has ${v.data.length} elements; the model's output has ${n}`);
  const src = sourceOf(v.data[0]);
  const kind = t.sources[src].kind;
  let apply: TracedOutput['apply'] = 'none';
  let base = src;
  if (kind === 'softmax' || kind === 'logSoftmax') {
    apply = kind;
    base = t.softmaxOf;
  }
  const baseKind = t.sources[base].kind;
  if (t.head ? baseKind !== 'head' && baseKind !== 'matmul' : baseKind !== 'Y') fail('is not the model\'s output');
  const ySource = t.sources.findIndex((s) => s.kind === 'Y' && s.layer === t.layers.length - 1);
  for (let i = 0; i < n; i++) {
    let expected = code(src, i);
    if (!t.head) {
      // No head: the last layer's output, rows in the model's order, both directions side by side.
      const row = Math.floor(i / O);
      const f = i % O;
      const [tt, b] = t.batchFirst ? [row % T, Math.floor(row / T)] : [Math.floor(row / Bt), row % Bt];
      const d = Math.floor(f / H);
      const yIndex = last.layout === 0 ? ((tt * D + d) * Bt + b) * H + (f % H) : ((b * T + tt) * D + d) * H + (f % H);
      expected = code(src === base ? ySource : src, yIndex);
    }
    if (v.data[i] !== expected) fail(`is not the model's output in ${t.batchFirst ? 'batch-first' : 'time-major'} order (element ${i} differs)`);
  }
  return { name, apply, dims: groupDims(v.dims, factors) ?? fail(`has shape ${shapeText(v.dims)}, not a reshape of the model's output`) };
}

/**
 * The output's dims as runs of the factors, in order: [18, 30] over T 9, B 2, O 30 is [[T, B], [O]]. A factor of
 * size 1 joins the dimension before it unless the next dimension is a 1 of its own.
 */
function groupDims(dims: readonly number[], factors: readonly ['T' | 'B' | 'O', number][]): ('T' | 'B' | 'O')[][] | null {
  const groups: ('T' | 'B' | 'O')[][] = [];
  let f = 0;
  for (let i = 0; i < dims.length; i++) {
    const group: ('T' | 'B' | 'O')[] = [];
    let product = 1;
    if (dims[i] === 1) {
      if (f < factors.length && factors[f][1] === 1) group.push(factors[f++][0]);
    } else {
      while (product < dims[i] && f < factors.length) {
        product *= factors[f][1];
        group.push(factors[f++][0]);
      }
      if (product !== dims[i]) return null;
    }
    while (f < factors.length && factors[f][1] === 1 && dims[i + 1] !== 1) group.push(factors[f++][0]);
    groups.push(group);
  }
  return f === factors.length ? groups : null;
}
