/**
 * The one interface both backends implement: a heap of bytes and the kernels that work on it.
 *
 * Every pointer is a byte offset into the heap, every size an element count, every flag 0 or 1, so the same
 * calls drive the WebAssembly exports and the pure-JS reference. Kernels never allocate. Matrices are
 * row-major; `ld*` is a row stride in elements. Gradients (`d…`) accumulate with `+=` unless noted.
 */
export interface Kernels {
  /**
   * One direction of one RNN layer over a whole sequence:
   * `out[t] = f(x[t] W_ihᵀ + b_ih + h[t-1] W_hhᵀ + b_hh)`, visiting t = 0…T-1, or T-1…0 when `reverse`.
   * out: [T, B, ldo] (this direction's H columns), x: [T, B, I], h0: [B, H], w_ih: [H, I], w_hh: [H, H],
   * b_ih, b_hh: [H] or 0 when the layer has no bias. f = relu when `relu`, else tanh. The forward kernels read
   * w_ih and w_hh as `pack_weights` left them; the backward kernels read PyTorch's layout.
   * lengths: [B] int32 or 0. With lengths, column b runs only t < lengths[b] (the reverse direction from
   * its own last step), and its padded output rows are zeros, as PyTorch's packed sequences.
   */
  rnn_forward(
    out: number,
    x: number,
    lengths: number,
    h0: number,
    w_ih: number,
    w_hh: number,
    b_ih: number,
    b_hh: number,
    T: number,
    B: number,
    I: number,
    H: number,
    ldo: number,
    reverse: number,
    relu: number,
  ): void;

  /**
   * Backpropagation through time for the call to `rnn_forward` with the same arguments.
   * dx: [T, B, I] (+=), or 0 when the input's gradient is not wanted (a training step's first layer); dh0: [B, H] (written), dw_ih, dw_hh, db_ih, db_hh (+=; biases 0 when absent),
   * dpre: [T, B, H] scratch, dout: [T, B, ldo] gradient on this direction's output, out: exactly its forward
   * output, padded rows zero included (the reverse direction's weight gradient pairs each column's last valid
   * step with the zero row after it). The same holds for the LSTM and GRU backward kernels.
   */
  rnn_backward(
    dx: number,
    dh0: number,
    dw_ih: number,
    dw_hh: number,
    db_ih: number,
    db_hh: number,
    dpre: number,
    dout: number,
    out: number,
    x: number,
    lengths: number,
    h0: number,
    w_ih: number,
    w_hh: number,
    T: number,
    B: number,
    I: number,
    H: number,
    ldo: number,
    reverse: number,
    relu: number,
  ): void;

  /**
   * One direction of one LSTM layer, gates stacked i, f, g, o: `a = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh`,
   * `c[t] = σ(a_f)⊙c[t-1] + σ(a_i)⊙tanh(a_g)`, `h[t] = σ(a_o)⊙tanh(c[t])`.
   * out: [T, B, ldo], cells: [T, B, H] and gates: [T, B, 4H] (activated) are caches for the backward pass;
   * h0, c0: [B, H]; w_ih: [4H, I]; w_hh: [4H, H]; b_ih, b_hh: [4H] or 0.
   * `gate` chooses σ, the gates' function (Keras's recurrent_activation): 0 the logistic function, 1 the hard
   * sigmoid `clip(0.2·a + 0.5, 0, 1)` (tf.keras 2, tfjs, ONNX HardSigmoid's default), 2 `clip(a/6 + 0.5, 0, 1)`
   * (Keras 3, PyTorch's nn.Hardsigmoid); its gradient is its slope inside (0, 1) and 0 where it clips.
   * `relu` puts relu in place of both tanh (Keras's activation='relu'). 0, 0 is PyTorch's LSTM.
   */
  lstm_forward(
    out: number,
    cells: number,
    gates: number,
    x: number,
    lengths: number,
    h0: number,
    c0: number,
    w_ih: number,
    w_hh: number,
    b_ih: number,
    b_hh: number,
    T: number,
    B: number,
    I: number,
    H: number,
    ldo: number,
    reverse: number,
    gate: number,
    relu: number,
  ): void;

  /** BPTT for `lstm_forward`. dh0, dc0: [B, H] (written); dgates: [T, B, 4H] scratch; the rest as rnn_backward. */
  lstm_backward(
    dx: number,
    dh0: number,
    dc0: number,
    dw_ih: number,
    dw_hh: number,
    db_ih: number,
    db_hh: number,
    dgates: number,
    dout: number,
    out: number,
    cells: number,
    gates: number,
    x: number,
    lengths: number,
    h0: number,
    c0: number,
    w_ih: number,
    w_hh: number,
    T: number,
    B: number,
    I: number,
    H: number,
    ldo: number,
    reverse: number,
    gate: number,
    relu: number,
  ): void;

  /**
   * One direction of one GRU layer, gates stacked r, z, n: `r, z = σ(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)`,
   * `n = tanh(x W_inᵀ + b_in + r⊙(h W_hnᵀ + b_hn))`, `h[t] = (1 - z)⊙n + z⊙h[t-1]`.
   * gates: [T, B, 3H] (activated r, z, n) and hn: [T, B, H] (h W_hnᵀ + b_hn) are caches; gh: [B, 3H] scratch.
   * `gate` and `relu` as for lstm_forward (relu replaces n's tanh). `reset_after` 1 is PyTorch's GRU (Keras
   * reset_after=True, ONNX linear_before_reset=1); 0 applies r before the product (Keras reset_after=False,
   * tfjs, ONNX linear_before_reset=0): `n = tanh(x W_inᵀ + b_in + (r⊙h) W_hnᵀ + b_hn)`, and hn caches r⊙h[t-1]
   * (zero at padded steps). Both read w_hh packed whole by `pack_weights`.
   */
  gru_forward(
    out: number,
    gates: number,
    hn: number,
    gh: number,
    x: number,
    lengths: number,
    h0: number,
    w_ih: number,
    w_hh: number,
    b_ih: number,
    b_hh: number,
    T: number,
    B: number,
    I: number,
    H: number,
    ldo: number,
    reverse: number,
    gate: number,
    relu: number,
    reset_after: number,
  ): void;

  /**
   * BPTT for `gru_forward`. dgi, dgh: [T, B, 3H] scratch for the input and hidden sides' pre-activations (with
   * reset_after 0 the two sides' gradients are one, and dgh holds only a step's gradient into r⊙h, [B, H]).
   */
  gru_backward(
    dx: number,
    dh0: number,
    dw_ih: number,
    dw_hh: number,
    db_ih: number,
    db_hh: number,
    dgi: number,
    dgh: number,
    dout: number,
    out: number,
    gates: number,
    hn: number,
    x: number,
    lengths: number,
    h0: number,
    w_ih: number,
    w_hh: number,
    T: number,
    B: number,
    I: number,
    H: number,
    ldo: number,
    reverse: number,
    gate: number,
    relu: number,
    reset_after: number,
  ): void;

  /**
   * dst = w: [R, K] in the layout the forward kernels read their weights in, `packed_size(R, K)` floats; the
   * model packs each recurrent weight again whenever it changes. The SIMD build interleaves panels of rows so
   * that its products read one moving pointer, and keeps a second copy in groups of rows for the product of a
   * single row (batch 1); the JS reference keeps PyTorch's layout (a copy).
   */
  pack_weights(dst: number, w: number, R: number, K: number): void;

  /** Floats that `pack_weights` writes for a [R, K] weight. */
  packed_size(R: number, K: number): number;

  /**
   * The embedding's lookup, a gather: out: [N, E] (written), out[n] = weight[ids[n]] for weight: [V, E] and
   * ids: [N] int32, each in [0, V) (the caller checks; the kernel indexes with them as they are).
   */
  embedding_forward(out: number, weight: number, ids: number, N: number, E: number): void;

  /**
   * The lookup's gradient, a scatter-add: dweight[ids[n]] += dout[n] for dweight: [V, E], dout: [N, E], in the
   * order of n (an id that occurs k times collects k rows), skipping every n whose id is `padding_idx` (as in
   * PyTorch, the padding row gets no gradient); padding_idx -1 skips none.
   */
  embedding_backward(dweight: number, dout: number, ids: number, N: number, E: number, padding_idx: number): void;

  /** y: [N, O] (written) = x: [N, I] · w: [O, I]ᵀ + b: [O] (the head always has a bias). */
  linear_forward(y: number, x: number, w: number, b: number, N: number, I: number, O: number): void;

  /** dx: [N, I] (written), dw: [O, I] and db: [O] (+=) from dy: [N, O]. */
  linear_backward(dx: number, dw: number, db: number, dy: number, x: number, w: number, N: number, I: number, O: number): void;

  /**
   * MSE over the rows (t, b) of y [T, B, C] that count: t < lengths[b] (every t without lengths), or with
   * `last` only t = lengths[b] - 1. Returns Σ (y - target)² / (rows·C) and writes dy = 2 (y - target) / (rows·C)
   * there, 0 elsewhere. target: [T, B, C].
   */
  mse_loss(dy: number, y: number, target: number, lengths: number, T: number, B: number, C: number, last: number): number;

  /**
   * Softmax cross-entropy over the counted rows (as mse_loss) of logits [T, B, C]: returns
   * Σ (logsumexp(logits) - logits[target]) / rows and writes dlogits = (softmax - onehot(target)) / rows there,
   * 0 elsewhere. targets: [T, B] int32 class ids.
   */
  cross_entropy_loss(
    dlogits: number,
    logits: number,
    targets: number,
    lengths: number,
    T: number,
    B: number,
    C: number,
    last: number,
  ): number;

  /** Σ x² over n elements, accumulated in double precision. */
  sum_squares(x: number, n: number): number;

  /** x *= s over n elements. */
  scale(x: number, n: number, s: number): void;

  /** out = a ⊙ b over n elements (out may be a): applies a dropout mask, and its gradient. */
  multiply(out: number, a: number, b: number, n: number): void;

  /** 1 when any of n elements is NaN or infinite, else 0. */
  non_finite(x: number, n: number): number;

  /**
   * An activation layer: y = f(z) over a [rows, width] block (y may be z), by `kind`: 0 linear (a copy),
   * 1 relu, 2 tanh, 3 the logistic function (the cells' own tanh and σ), 4 softmax over each row of `width`,
   * computed as exp(z - max(z)) / Σ so that it cannot overflow.
   */
  activation_forward(y: number, z: number, rows: number, width: number, kind: number): void;

  /**
   * dz = f'(z)·dy (written, not +=; dz may be dy) from the forward output y, for `activation_forward`'s kinds:
   * linear a copy, relu dy where y > 0, tanh dy(1 - y²), σ dy·y(1 - y), softmax `y ⊙ (dy - Σ_j dy_j y_j)` per row.
   */
  activation_backward(dz: number, dy: number, y: number, rows: number, width: number, kind: number): void;

  /**
   * A bidirectional layer's merge: out: [rows, H] (written) from inp: [rows, 2H], each row the forward
   * direction's H values then the reverse direction's, by `mode` 1 sum, 2 ave (their mean), 3 mul.
   */
  merge_forward(out: number, inp: number, rows: number, H: number, mode: number): void;

  /** dinp: [rows, 2H] (written) from dout: [rows, H], for `merge_forward`'s mode; mul reads inp, the forward input. */
  merge_backward(dinp: number, dout: number, inp: number, rows: number, H: number, mode: number): void;

  /**
   * out[t, b, :] = inp[len_b - 1 - t, b, :] for t < len_b, zeros for t ≥ len_b, over time-major [T, B, W]
   * (len_b = lengths[b] from [B] int32, each in [0, T], or T when lengths is 0); out and inp do not overlap.
   * Each column's valid steps reversed in place, its padding kept at the end: applied twice it is the identity
   * on the valid steps, so one call reverses a sequence and the same call its gradient.
   */
  reverse_sequence(out: number, inp: number, lengths: number, T: number, B: number, W: number): void;

  /** x = clamp(x, -limit, limit) over n elements. */
  clamp(x: number, n: number, limit: number): void;

  /**
   * PyTorch's SGD over n elements: g += wd·p; with momentum, buf = g on the first step, then
   * buf = μ·buf + (1-dampening)·g; d = nesterov ? g + μ·buf : buf; p -= lr·d.
   * Every update kernel ends in `commit` and returns a flag: 1 when any value it writes (with `commit` 1) or
   * would write (with `commit` 0) to p or a state tensor is NaN or ±Infinity as a float32, else 0. With
   * `commit` 0 it writes nothing at all, so a step that would overflow can be refused before it lands.
   */
  sgd_update(
    p: number,
    g: number,
    buf: number,
    n: number,
    lr: number,
    momentum: number,
    dampening: number,
    nesterov: number,
    weight_decay: number,
    first: number,
    commit: number,
  ): number;

  /**
   * PyTorch's Adam (AdamW when `decoupled`) over n elements at step ≥ 1: m = β1 m + (1-β1) g;
   * v = β2 v + (1-β2) g²; v̂ = amsgrad ? (vmax = max(vmax, v)) : v; p -= lr/(1-β1^step) · m / (√v̂ / √(1-β2^step) + eps).
   */
  adam_update(
    p: number,
    g: number,
    m: number,
    v: number,
    vmax: number,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weight_decay: number,
    decoupled: number,
    amsgrad: number,
    step: number,
    commit: number,
  ): number;

  /**
   * PyTorch's RMSprop: sq = α sq + (1-α) g²; avg = √(sq - ga²) + eps when centered (ga = α ga + (1-α) g),
   * else √sq + eps; with momentum buf = μ buf + g/avg, p -= lr·buf; else p -= lr·g/avg.
   */
  rmsprop_update(
    p: number,
    g: number,
    sq: number,
    ga: number,
    buf: number,
    n: number,
    lr: number,
    alpha: number,
    eps: number,
    weight_decay: number,
    momentum: number,
    centered: number,
    commit: number,
  ): number;

  /** PyTorch's Adagrad: sum += g²; p -= lr/(1 + (step-1)·lr_decay) · g / (√sum + eps). */
  adagrad_update(
    p: number,
    g: number,
    sum: number,
    n: number,
    lr: number,
    lr_decay: number,
    eps: number,
    weight_decay: number,
    step: number,
    commit: number,
  ): number;
}

/** Every kernel's name, to check that a WebAssembly module really is a build of these kernels before it is used. */
export const KERNEL_NAMES = [
  'rnn_forward',
  'rnn_backward',
  'lstm_forward',
  'lstm_backward',
  'gru_forward',
  'gru_backward',
  'pack_weights',
  'packed_size',
  'embedding_forward',
  'embedding_backward',
  'linear_forward',
  'linear_backward',
  'mse_loss',
  'cross_entropy_loss',
  'sum_squares',
  'scale',
  'multiply',
  'non_finite',
  'activation_forward',
  'activation_backward',
  'merge_forward',
  'merge_backward',
  'reverse_sequence',
  'clamp',
  'sgd_update',
  'adam_update',
  'rmsprop_update',
  'adagrad_update',
] as const satisfies readonly (keyof Kernels)[];

// A kernel added to Kernels and not to the list fails to compile here.
const everyKernelListed: Exclude<keyof Kernels, (typeof KERNEL_NAMES)[number]> extends never ? true : never = true;
void everyKernelListed;

/** A backend's memory and kernels, owned by one model. */
export interface KernelInstance {
  /** Which implementation runs the kernels. */
  readonly backend: BackendName;
  readonly kernels: Kernels;
  /** The heap. Its ArrayBuffer is replaced when the heap grows: never keep a view across `reserve`. */
  readonly buffer: ArrayBuffer;
  /** The first byte a model may use. */
  readonly base: number;
  /** Threads that run the kernels: more than 1 only for a threads build (backends/threads.ts). */
  readonly threads?: number;
  /** Makes the heap at least `bytes` long; throws MemoryLimitError when it cannot. */
  reserve(bytes: number): void;
  /** Ends what the instance started besides its memory (a threads build's workers). */
  release?(): void;
}

/** The implementation that runs a model's kernels (`net.backend`): a WebAssembly build, or the pure-JS kernels. */
export type BackendName = 'wasm-relaxed' | 'wasm-simd' | 'wasm-scalar' | 'js';
