/**
 * The types every part of the library shares: tensors, a model's configuration, the options and results of its
 * calls, and the snapshot a file codec turns into bytes and back. This module imports nothing, so anything may
 * import it without closing a cycle: the façade, the engine, the parts, the codecs in io/ and the training loop.
 */

// ---- tensors -----------------------------------------------------------------------------------------------

/** A float32 tensor: flat row-major `data` and its `shape` (PyTorch's `.flatten()` and `.shape`). */
export interface Tensor {
  /** The values, row-major: the last axis varies fastest. */
  readonly data: Float32Array;
  /** The size of each axis; their product is `data.length`. */
  readonly shape: readonly number[];
}

/** Class or token ids (cross-entropy targets, embedding inputs, sampled tokens): int32, row-major. */
export interface IdTensor {
  /** The ids, row-major. */
  readonly data: Int32Array;
  /** The size of each axis; their product is `data.length`. */
  readonly shape: readonly number[];
}

/** A number or nested arrays of numbers, as JSON writes a tensor (`[[0.1, 0.2], [0.3, 0.4]]`). */
export type NestedNumbers = number | readonly NestedNumbers[];

/** What the API accepts wherever a tensor goes in: flat data with a shape, or nested arrays. */
export type TensorInput =
  | {
      /** The values, row-major (any array-like of numbers: a Float32Array, a plain array…). */
      readonly data: ArrayLike<number>;
      /** The size of each axis; their product is `data.length`. */
      readonly shape: readonly number[];
    }
  | readonly NestedNumbers[];

// ---- the configuration ---------------------------------------------------------------------------------------

/** The recurrent cell: Elman's RNN, the LSTM or the GRU, with PyTorch's equations and gate order. */
export type CellKind = 'rnn' | 'lstm' | 'gru';

/** Mean squared error, or softmax cross-entropy over the head's logits (PyTorch's `nn.MSELoss`, `nn.CrossEntropyLoss`). */
export type LossKind = 'mse' | 'cross_entropy';

/** Where the head reads the recurrent core: at every step, or once from each sequence's final state. */
export type HeadOn = 'steps' | 'final';

/** An embedding in front of the core (PyTorch's nn.Embedding): token ids in, vectors of embeddingDim out. */
export interface EmbeddingConfig {
  /** Rows of the table: the vocabulary size. */
  readonly numEmbeddings: number;
  /** Width of each row: the vector each id becomes. */
  readonly embeddingDim: number;
  /** The id whose row gets no gradient (PyTorch's padding_idx), or null. */
  readonly paddingIdx: number | null;
}

/** The module names the parameters live under in `stateDict()`, as in the PyTorch module that wrote them. */
export interface PartNames {
  /** The embedding's module name (default 'embedding'). */
  readonly embedding: string;
  /** The recurrent core's module name (default 'rnn'). */
  readonly core: string;
  /** The head's module name (default 'head'). */
  readonly head: string;
}

/**
 * The gates' function in LSTM and GRU cells: the logistic sigmoid (PyTorch's), or a hard sigmoid —
 * 'hard_sigmoid' `clip(0.2x + 0.5, 0, 1)` as TensorFlow.js, tf.keras 2 and ONNX's HardSigmoid define it,
 * 'hardsigmoid' `clip(x/6 + 0.5, 0, 1)` as PyTorch's nn.Hardsigmoid and Keras 3 do.
 */
export type GateActivation = 'sigmoid' | 'hard_sigmoid' | 'hardsigmoid';

/** How a bidirectional core joins its two directions' outputs: side by side (PyTorch's), or element-wise (Keras's `merge_mode`). */
export type MergeMode = 'concat' | 'sum' | 'ave' | 'mul';

/** The function on the head's output (Keras's Dense `activation`); 'linear' (default) leaves the logits as they are. */
export type HeadActivation = 'linear' | 'relu' | 'tanh' | 'sigmoid' | 'softmax';

/**
 * A recurrent core: a stack of `numLayers` layers of one cell, as one nn.RNN / nn.LSTM / nn.GRU module or one
 * Keras recurrent layer. A model's first core is described by the top-level fields of its `ModelConfig`; the
 * cores of its `stack` follow it, each reading the one before.
 */
export interface CoreConfig {
  /** The module name its parameters live under. */
  readonly name: string;
  /** The recurrent cell. */
  readonly cell: CellKind;
  /** H: the width of each layer's state. */
  readonly hiddenSize: number;
  /** L: stacked layers of this cell. */
  readonly numLayers: number;
  /** D = 2 when true: a second direction runs backwards in time. */
  readonly bidirectional: boolean;
  /** The Elman cell's f; the LSTM's and GRU's candidate and cell-output function. */
  readonly nonlinearity: 'tanh' | 'relu';
  /** The LSTM's and GRU's gate function. */
  readonly recurrentActivation: GateActivation;
  /** GRU: the reset gate multiplies the recurrent product (PyTorch's, Keras's `reset_after=True`), or its input (false). */
  readonly resetAfter: boolean;
  /** Whether the layers have b_ih and b_hh. */
  readonly bias: boolean;
  /** Reads the sequence from its end and returns its outputs in that reversed order (Keras's `go_backwards`). */
  readonly goBackwards: boolean;
  /** Unidirectional: runs backwards in time, its outputs in the input's order (ONNX's direction "reverse"). */
  readonly reverse: boolean;
  /** How the last layer's two directions are joined. */
  readonly mergeMode: MergeMode;
}

/**
 * A model's configuration, checked and with every default filled in. Its first core is the configuration's own
 * fields (a model of one core, the usual one, names it under `names.core`).
 */
export interface ModelConfig extends Omit<CoreConfig, 'name'> {
  /** Width of the core's input: the embedding's dimension when there is an embedding. */
  readonly inputSize: number;
  /** Further cores after the first, each reading the one before (a Keras stack of differing layers); usually none. */
  readonly stack: readonly CoreConfig[];
  /** Size of the linear head; 0 means no head (y is the core's output). */
  readonly outputSize: number;
  /** Where the head reads the core. */
  readonly headOn: HeadOn;
  /** The function on the head's output. */
  readonly headActivation: HeadActivation;
  /** The head's weight is the embedding's (word_language_model's `tie_weights`). */
  readonly tieWeights: boolean;
  /** The embedding in front of the core, or null (vectors in). */
  readonly embedding: EmbeddingConfig | null;
  /** The module names of the parameters. */
  readonly names: PartNames;
  /** Sequences as [B, T, ·] instead of time-major [T, B, ·]. */
  readonly batchFirst: boolean;
  /** Probability of zeroing each output of every layer but the last, in training (PyTorch's `dropout`). */
  readonly dropout: number;
  /** Seed of the model's generator. */
  readonly seed: number;
}

// ---- optimizers ----------------------------------------------------------------------------------------------

/** Adam's and AdamW's hyperparameters (PyTorch's, camelCased). */
export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number | undefined;
  /** Decay rates of the first and second moment averages (default [0.9, 0.999]). */
  betas?: readonly [number, number] | undefined;
  /** Added to the denominator for numerical stability (default 1e-8). */
  eps?: number | undefined;
  /** L2 penalty (Adam: added to the gradient, default 0; AdamW: decoupled, default 0.01). */
  weightDecay?: number | undefined;
  /** Use the maximum of past second moments (AMSGrad; default false). */
  amsgrad?: boolean | undefined;
}

/** PyTorch's optimizers, their hyperparameters camelCased; each one left out takes PyTorch's default. */
export type OptimizerOptions =
  | {
      /** torch.optim.SGD. */
      kind: 'sgd';
      /** Learning rate (default 1e-3). */
      lr?: number | undefined;
      /** Momentum factor (default 0: plain SGD). */
      momentum?: number | undefined;
      /** Dampening of the momentum (default 0). */
      dampening?: number | undefined;
      /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
      nesterov?: boolean | undefined;
      /** L2 penalty added to the gradient (default 0). */
      weightDecay?: number | undefined;
    }
  | ({
      /** torch.optim.Adam. */
      kind: 'adam';
    } & AdamOptions)
  | ({
      /** torch.optim.AdamW: weight decay decoupled from the gradient (default 0.01). */
      kind: 'adamw';
    } & AdamOptions)
  | {
      /** torch.optim.RMSprop. */
      kind: 'rmsprop';
      /** Learning rate (default 1e-3). */
      lr?: number | undefined;
      /** Smoothing constant of the squared-gradient average (default 0.99). */
      alpha?: number | undefined;
      /** Added to the denominator for numerical stability (default 1e-8). */
      eps?: number | undefined;
      /** L2 penalty added to the gradient (default 0). */
      weightDecay?: number | undefined;
      /** Momentum factor (default 0). */
      momentum?: number | undefined;
      /** Normalise by the gradient's estimated variance instead of its second moment (default false). */
      centered?: boolean | undefined;
    }
  | {
      /** torch.optim.Adagrad. */
      kind: 'adagrad';
      /** Learning rate (default 1e-3). */
      lr?: number | undefined;
      /** Learning-rate decay per step (default 0). */
      lrDecay?: number | undefined;
      /** L2 penalty added to the gradient (default 0). */
      weightDecay?: number | undefined;
      /** The accumulators' starting value (default 0). */
      initialAccumulatorValue?: number | undefined;
      /** Added to the denominator for numerical stability (default 1e-10). */
      eps?: number | undefined;
    };

/**
 * Options with every default filled in: each field present and defined (`Required` alone would keep an explicit
 * `| undefined` under exactOptionalPropertyTypes).
 * @useDeclaredType
 */
export type OptimizerConfig = {
  [K in OptimizerOptions['kind']]: {
    [P in keyof Extract<OptimizerOptions, { kind: K }>]-?: Exclude<Extract<OptimizerOptions, { kind: K }>[P], undefined>;
  };
}[OptimizerOptions['kind']];

/** The optimizer's state as `optimizerState()` copies it out for a checkpoint. */
export interface OptimizerSnapshot {
  /** The optimizer and its hyperparameters, every default filled in. */
  config: OptimizerConfig;
  /** Optimizer steps taken so far. */
  step: number;
  /** Each `numParameters` long, in parameter order. */
  tensors: Float32Array[];
}

/**
 * Everything that decides a model's future, as the file codecs write and read it: the configuration, every
 * parameter under its `stateDict` name (a tied weight once, under the embedding's name), the optimizer's state
 * and the generator's.
 */
export interface Snapshot {
  config: ModelConfig;
  parameters: ReadonlyMap<string, Tensor>;
  optimizer: OptimizerSnapshot | null;
  generator: number;
  /** Strings of the user's own that travel with a checkpoint (`save({ metadata })`), e.g. a vocabulary as JSON. */
  metadata: Readonly<Record<string, string>>;
}

// ---- calls and their results ---------------------------------------------------------------------------------

/** Initial states, each [L·D, B, H]; zeros when omitted. `c0` is the LSTM's cell state. */
export interface InitialState {
  /** Initial hidden state [L·D, B, H]; zeros when omitted. */
  h0?: TensorInput | undefined;
  /** LSTM only: initial cell state [L·D, B, H]; zeros when omitted. */
  c0?: TensorInput | undefined;
}

/** Options of a call over whole sequences. */
export interface SequenceOptions extends InitialState {
  /**
   * Valid steps of each batch column, [B] integers in 1…T, for a batch of sequences padded to T (PyTorch's
   * packed sequences): padded steps are skipped, their outputs are zeros, and losses count valid steps only.
   */
  lengths?: ArrayLike<number> | undefined;
}

/** Options of `unroll`. */
export interface UnrollOptions extends SequenceOptions {
  /**
   * Run as in training: with dropout, a fresh mask from the model's generator each call (Monte Carlo
   * dropout). Default false: inference, no dropout.
   */
  training?: boolean | undefined;
  /** Buffers of yours to write the results into instead of new arrays, each exactly the result's size. */
  out?:
    | {
        /** For `output`, [T, B, D·H]. */
        output?: Float32Array;
        /** For `y`. */
        y?: Float32Array;
        /** For `hN`, [L·D, B, H]. */
        hN?: Float32Array;
        /** For `cN` (LSTM), [L·D, B, H]. */
        cN?: Float32Array;
      }
    | undefined;
}

/** What `unroll` returns. */
export interface UnrollResult {
  /** The last layer's output at every step: [T, B, D·H] ([B, T, D·H] with batchFirst). */
  output: Tensor;
  /**
   * The head's output: at every step [T, B, O] ([B, T, O] with batchFirst), or with `headOn: 'final'` one row
   * per sequence [B, O]; equals `output` without a head. Logits for a classifier: `logSoftmax(y)` gives log-probabilities.
   */
  y: Tensor;
  /** Final state of every layer and direction, [L·D, B, H], index layer·D + direction. */
  hN: Tensor;
  /** LSTM only: final cell state, [L·D, B, H]. */
  cN?: Tensor | undefined;
}

/** The recurrent state between two `cell` calls: pass the previous result (or `{ h, c }`) back in. */
export interface CellState {
  /** The hidden state of every layer, [L, B, H]; zeros when omitted. */
  h?: TensorInput | undefined;
  /** LSTM only: the cell state of every layer, [L, B, H]; zeros when omitted. */
  c?: TensorInput | undefined;
}

/** Options of `cell`. */
export interface CellOptions {
  /**
   * Buffers of yours to write the results into instead of new arrays, each exactly the result's size: with
   * all of them, a stream of `cell` calls allocates no arrays.
   */
  out?:
    | {
        /** For `output`, [B, H]. */
        output?: Float32Array;
        /** For `y`, [B, O]. */
        y?: Float32Array;
        /** For `h`, [L, B, H]. */
        h?: Float32Array;
        /** For `c` (LSTM), [L, B, H]. */
        c?: Float32Array;
      }
    | undefined;
}

/** What `cell` returns: the step's outputs and the new state, which is a `CellState` for the next call. */
export interface CellResult {
  /** The last layer's new state: [B, H]. */
  output: Tensor;
  /** The head's output for this step: [B, O]. */
  y: Tensor;
  /** The new state of every layer, [L, B, H]. */
  h: Tensor;
  /** LSTM only: the new cell state of every layer, [L, B, H]. */
  c?: Tensor | undefined;
}

export interface LossOptions extends SequenceOptions {
  /** 'mse' (default) or 'cross_entropy' over the head's logits. */
  loss?: LossKind | undefined;
}

/** What `gradients` returns. */
export interface GradientsResult {
  /** The mean loss over the batch. */
  loss: number;
  /** dloss/dparameter for every parameter, under its `stateDict` name (a tied weight under both of its names). */
  grads: Record<string, Tensor>;
  /** dloss/dinput, shaped like the input; absent when the input is token ids. */
  input?: Tensor | undefined;
  /** dloss/dh0 [L·D, B, H]. */
  h0: Tensor;
  /** LSTM only: dloss/dc0 [L·D, B, H]. */
  c0?: Tensor | undefined;
}

export interface StepOptions extends LossOptions {
  /** Default: Adam with lr 1e-3. Changing the kind resets the optimizer's state. */
  optimizer?: OptimizerOptions | undefined;
  /** Scale all gradients so that their global L2 norm is at most this. */
  clipGradNorm?: number | undefined;
  /** Clamp every gradient element to [-clipGradValue, clipGradValue] (before clipGradNorm, if both). */
  clipGradValue?: number | undefined;
}

/** What `step` returns. */
export interface StepResult {
  /** The batch's mean loss, before the update. */
  loss: number;
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
  /** The state after the batch's last step (before the update), to carry into the next chunk of a stream. */
  hN: Tensor;
  /** LSTM only: the cell state likewise. */
  cN?: Tensor | undefined;
}
