/**
 * The tracer's walk over the graph's nodes, and the ops that compute: Gather on the embedding table, RNN / LSTM /
 * GRU, MatMul + Add or Gemm, Softmax / LogSoftmax. Each checks that its inputs are what a model of this library
 * feeds it, element for element, and starts a new source (see trace.ts).
 */
import { quote, shapeText } from '../describe.js';
import { type Constant, DTYPE, type OnnxNode, isFloatType } from './messages.js';
import { MergeTracer } from './merges.js';
import { type Data, OpError, binary, concat, size, transpose } from './ops.js';

import { type ConstValue, type OnnxCell, type RefValue, SUPPORTED, type Value, code, indexOf, sourceOf } from './values.js';

export class Tracer extends MergeTracer {
  run(): void {
    for (const node of this.model.graph.nodes) {
      this.node = node;
      if (node.domain !== '' && node.domain !== 'ai.onnx') this.unsupported(`the op is from the domain ${quote(node.domain)}`);
      if (!SUPPORTED.includes(node.opType))
        this.unsupported(
          'this op is not supported (a model of this library needs only '
            + 'Gather, RNN/LSTM/GRU, MatMul+Add or Gemm, Relu/Tanh/Sigmoid/Softmax/LogSoftmax and shape ops)',
        );
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
      case 'Constant':
        return [this.constantNode()];
      case 'RNN':
      case 'LSTM':
      case 'GRU':
        return this.recurrent(op.toLowerCase() as OnnxCell);
      case 'MatMul':
      case 'Gemm':
        return [this.linear(op)];
      case 'Softmax':
      case 'LogSoftmax':
        return [this.softmax(op === 'Softmax' ? 'softmax' : 'logSoftmax')];
      case 'Relu':
      case 'Tanh':
      case 'Sigmoid':
        return [this.activation(op.toLowerCase() as 'relu' | 'tanh' | 'sigmoid')];
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
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div':
        return [this.arithmetic(op)];
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
      default:
        return [this.glued(this.need(0))];
    }
  }

  arithmetic(op: string): Value {
    const a = this.need(0);
    const b = this.need(1);
    if (a.kind === 'const' && b.kind === 'const') {
      const f = {
        Add: (x: number, y: number) => x + y,
        Sub: (x: number, y: number) => x - y,
        Mul: (x: number, y: number) => x * y,
        Div: (x: number, y: number) => (isFloatType(a.dtype) ? x / y : Math.trunc(x / y)),
      }[op]!;
      const out = binary(a, b, f);
      return this.folded({ dims: out.dims, data: isFloatType(a.dtype) ? Float32Array.from(out.data) : out.data }, a.dtype);
    }
    if (a.kind === 'ref' && b.kind === 'ref' && (op === 'Add' || op === 'Mul')) return this.merge(op === 'Add' ? 'sum' : 'mul', a, b);
    const ref = a.kind === 'ref' ? a : (b as RefValue);
    const other = a.kind === 'ref' ? b : a;
    const halving =
      (op === 'Mul' && other.data.every((v) => v === 0.5)) || (op === 'Div' && b === other && other.data.every((v) => v === 2));
    if (halving && this.sources[sourceOf(ref.data[0])]?.kind === 'merged') return this.average(ref);
    if (op !== 'Add') this.unsupported(`${op} on values computed from the inputs (only the head's bias is added)`);
    return this.bias(ref, other);
  }

  // ---- the ops that compute ------------------------------------------------------------------------------

  /** Gather of token ids from a constant table: the embedding. */
  embed(table: ConstValue, ids: RefValue): RefValue {
    if (this.embedding) this.unsupported('a second embedding');
    if (this.layers.length) this.unsupported('an embedding after the recurrent layers');
    if (table.dims.length !== 2 || !isFloatType(table.dtype))
      this.unsupported(`the table must be a float matrix, got ${shapeText(table.dims)}`);
    if (this.attrInt('axis', 0) !== 0) this.unsupported('an embedding gathers along axis 0');
    const [V, E] = table.dims;
    for (const c of ids.data) {
      if (sourceOf(c) !== 0) this.unsupported("the embedding must read the graph's first input, the token ids");
    }
    const emb = this.source({ kind: 'emb' });
    const data = new Float64Array(size([...ids.dims, E]));
    ids.data.forEach((c, i) => {
      for (let e = 0; e < E; e++) data[i * E + e] = code(emb, indexOf(c) * E + e);
    });
    this.embedding = {
      table: { dtype: DTYPE.FLOAT, dims: [V, E], data: Float32Array.from(table.data) },
      name: table.initializer,
      node: this.node.name,
    };
    this.embeddingDim = E;
    return { kind: 'ref', dims: [...ids.dims, E], data };
  }

  recurrent(cell: OnnxCell): Value[] {
    const G = { rnn: 1, lstm: 4, gru: 3 }[cell];
    const direction = this.attr('direction')?.s ?? 'forward';
    if (direction !== 'forward' && direction !== 'reverse' && direction !== 'bidirectional') this.fail(`direction ${quote(direction)}`);
    const D = direction === 'bidirectional' ? 2 : 1;
    if (this.attr('clip')) this.unsupported('attribute "clip" (cell clipping) is not supported');
    if (cell === 'lstm' && this.attrInt('input_forget', 0) !== 0) this.unsupported('input_forget = 1 (coupled gates) is not supported');
    const lbr = cell === 'gru' ? this.attrInt('linear_before_reset', 0) : 1;
    if (lbr !== 0 && lbr !== 1) this.fail(`linear_before_reset ${lbr}`);
    const { nonlinearity, recurrentActivation } = this.activations(cell, D);
    const layout = this.attrInt('layout', 0);
    if (layout !== 0 && layout !== 1) this.fail(`layout ${layout}`);
    if (cell === 'lstm' && this.input(7) !== null) {
      const P = this.constant(7, 'peepholes');
      if (P.data.some((v) => v !== 0)) this.unsupported('peephole weights (input P) are not supported');
    }
    const X = this.need(0);
    if (X.kind !== 'ref' || X.dims.length !== 3)
      this.unsupported("its input X must be a sequence [T, B, F] computed from the graph's input");
    const W = this.weights(1, 'W');
    const R = this.weights(2, 'R');
    const B = this.input(3) === null ? null : this.weights(3, 'B');
    const H = W.dims[1] / G;
    const hidden = this.attrInt('hidden_size', H);
    const [T, Bt, F] = layout === 0 ? X.dims : [X.dims[1], X.dims[0], X.dims[2]];
    if (
      hidden !== H
      || shapeText(W.dims) !== shapeText([D, G * H, F])
      || shapeText(R.dims) !== shapeText([D, G * H, H])
      || (B && shapeText(B.dims) !== shapeText([D, 2 * G * H]))
      || !Number.isInteger(H)
      || H < 1
    ) {
      this.fail(
        `weights W ${shapeText(W.dims)}, R ${shapeText(R.dims)}${B ? `, B ${shapeText(B.dims)}` : ''} do not fit hidden_size ${hidden}, `
          + `${D} direction(s) and an input of ${F} features`,
      );
    }
    this.checkStates(T, Bt, cell);
    const k = this.layers.length;
    // Layers that differ from the one before are a core of their own (a stack); one that reads its input
    // reversed in time (a Slice with step -1, as toONNX writes goBackwards) starts one too.
    const goBackwards = this.checkLayerInput(X, k, T, Bt, F, layout);
    this.layers.push({
      goBackwards,
      node: this.node.name,
      cell,
      nonlinearity,
      recurrentActivation,
      resetAfter: lbr === 1,
      reverse: direction === 'reverse',
      hiddenSize: H,
      directions: D,
      inputSize: F,
      W,
      R,
      B,
      T,
      batch: Bt,
      layout,
    });
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
    for (const [i, what] of [
      [5, 'initial_h'],
      [6, 'initial_c'],
    ] as const) {
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
  /** Checks that X is the model's input (or the layer below's output) in order, or reversed in time: returns which. */
  checkLayerInput(X: RefValue, k: number, T: number, Bt: number, F: number, layout: number): boolean {
    const at = (t: number, b: number, f: number) => X.data[layout === 0 ? (t * Bt + b) * F + f : (b * T + t) * F + f];
    let reversed = false;
    const matches = (expected: (t: number, b: number, f: number) => number) => {
      for (const backwards of [false, true]) {
        let all = true;
        for (let t = 0; t < T && all; t++)
          for (let b = 0; b < Bt && all; b++)
            for (let f = 0; f < F; f++) if (at(t, b, f) !== expected(backwards ? T - 1 - t : t, b, f)) all = false;
        if (all) {
          reversed = backwards && T > 1;
          return true;
        }
      }
      return false;
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
          return reversed;
        }
      }
      this.unsupported("its input X is not the graph's input (embedded) in time-major or batch-first order");
    }
    const prev = this.layers[k - 1];
    const { D, ySource } = this.view(k - 1, X.data[0]);
    const { hiddenSize: H } = prev;
    if (prev.T !== T || prev.batch !== Bt || F !== D * H) this.unsupported(`its input does not have the sizes of layer ${k - 1}'s output`);
    const yIndex = (t: number, d: number, b: number, h: number) =>
      prev.layout === 0 ? ((t * D + d) * Bt + b) * H + h : ((b * T + t) * D + d) * H + h;
    if (!matches((t, b, f) => code(ySource, yIndex(t, Math.floor(f / H), b, f % H)))) {
      this.unsupported(`its input X is not layer ${k - 1}'s output (both directions' states side by side at each step)`);
    }
    return reversed;
  }

  /** The row of the last layer a head input row reads: its (t, b) at every step, or b from the final states. */
  headRows(A: RefValue): { on: 'steps' | 'final'; rows: number[] } {
    const k = this.layers.length - 1;
    if (k < 0) this.unsupported('a product before any recurrent layer');
    const L = this.layers[k];
    const { hiddenSize: H, T, batch: Bt } = L;
    const { D, ySource, hSource } = this.view(k, A.data[0]);
    const F = A.dims[A.dims.length - 1];
    if (F !== D * H) this.unsupported(`it reads ${F} features; the last layer gives ${D * H}`);
    const rows: number[] = [];
    let on: 'steps' | 'final' | null = null;
    for (let r = 0; r * F < A.data.length; r++) {
      const first = A.data[r * F];
      const rowOn = sourceOf(first) === ySource ? 'steps' : sourceOf(first) === hSource ? 'final' : null;
      if (rowOn === null || (on !== null && rowOn !== on)) {
        this.unsupported("its input is not the last layer's output at every step, nor its final states");
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
    if (A.kind !== 'ref' || Bm.kind !== 'const')
      this.unsupported("the head must multiply the model's values by a constant weight on the right");
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
    const weight = transB
      ? { dims: Bm.dims, data: Float32Array.from(Bm.data) }
      : transpose({ dims: Bm.dims, data: Float32Array.from(Bm.data) }, [1, 0]);
    const [O, F] = weight.dims;
    if (A.dims[A.dims.length - 1] !== F) this.fail(`a product of ${shapeText(A.dims)} with ${shapeText(Bm.dims)}`);
    const { on, rows } = this.headRows(A);
    this.head = {
      on,
      weight: weight.data as Float32Array,
      bias: null,
      outputSize: O,
      weightName: Bm.initializer,
      biasName: null,
      layer: this.layers.length - 1,
    };
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
      this.unsupported("an Add that is not the head's bias");
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
      this.unsupported("a softmax that is not over the model's output");
    }
    const O = x.dims[rank - 1];
    for (let i = 0; i < x.data.length; i += O) {
      const first = indexOf(x.data[i]);
      if (first % O !== 0) this.unsupported('a softmax over something other than each output vector');
      for (let o = 0; o < O; o++)
        if (x.data[i + o] !== code(src, first + o)) this.unsupported('a softmax over something other than each output vector');
    }
    const out = this.source({ kind });
    this.softmaxOf = src;
    return { kind: 'ref', dims: x.dims, data: x.data.map((c) => code(out, indexOf(c))) };
  }

  softmaxOf = -1;

  /** An element-wise function on the head's whole output: the head's activation. */
  activation(activation: 'relu' | 'tanh' | 'sigmoid'): RefValue {
    const x = this.need(0);
    if (x.kind !== 'ref') this.unsupported(`a ${activation} of a constant`);
    const src = sourceOf(x.data[0]);
    if (
      this.sources[src].kind !== 'head'
      || this.sources.some((t) => t.kind === 'activated' || t.kind === 'softmax' || t.kind === 'logSoftmax')
    ) {
      this.unsupported("this op applies only to the head's output, once (the head's activation)");
    }
    if (x.data.some((c) => sourceOf(c) !== src)) this.unsupported("this op applies only to the head's output");
    const out = this.source({ kind: 'activated', activation });
    return { kind: 'ref', dims: x.dims, data: x.data.map((c) => code(out, indexOf(c))) };
  }
}
