/**
 * The types every part of the library shares: tensors, a model's configuration, the options and results of its
 * calls, and the snapshot a file codec turns into bytes and back. This module imports nothing, so anything may
 * import it without closing a cycle: the façade, the engine, the parts, the codecs in io/ and the training loop.
 */

// ---- tensors -----------------------------------------------------------------------------------------------

export interface Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** Class or token ids (cross-entropy targets, embedding inputs, sampled tokens): int32, row-major. */
export interface IdTensor {
  readonly data: Int32Array;
  readonly shape: readonly number[];
}

export type NestedNumbers = number | readonly NestedNumbers[];

/** What the API accepts wherever a tensor goes in: flat data with a shape, or nested arrays. */
export type TensorInput = { readonly data: ArrayLike<number>; readonly shape: readonly number[] } | readonly NestedNumbers[];

// ---- the configuration ---------------------------------------------------------------------------------------

export type CellKind = 'rnn' | 'lstm' | 'gru';

export type LossKind = 'mse' | 'cross_entropy';

/** Where the head reads the recurrent core: at every step, or once from each sequence's final state. */
export type HeadOn = 'steps' | 'final';

/** An embedding in front of the core (PyTorch's nn.Embedding): token ids in, vectors of embeddingDim out. */
export interface EmbeddingConfig {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** The id whose row gets no gradient (PyTorch's padding_idx), or null. */
  readonly paddingIdx: number | null;
}

/** The module names the parameters live under in `stateDict()`, as in the PyTorch module that wrote them. */
export interface PartNames {
  readonly embedding: string;
  readonly core: string;
  readonly head: string;
}

/** A model's configuration, checked and with every default filled in. */
export interface ModelConfig {
  readonly cell: CellKind;
  /** Width of the core's input: the embedding's dimension when there is an embedding. */
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bidirectional: boolean;
  readonly nonlinearity: 'tanh' | 'relu';
  readonly bias: boolean;
  /** Size of the linear head; 0 means no head (y is the core's output). */
  readonly outputSize: number;
  readonly headOn: HeadOn;
  /** The head's weight is the embedding's (word_language_model's `tie_weights`). */
  readonly tieWeights: boolean;
  readonly embedding: EmbeddingConfig | null;
  readonly names: PartNames;
  readonly batchFirst: boolean;
  /** Probability of zeroing each output of every layer but the last, in training (PyTorch's `dropout`). */
  readonly dropout: number;
  readonly seed: number;
}

// ---- optimizers ----------------------------------------------------------------------------------------------

interface AdamOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
}

/** PyTorch's optimizers, their hyperparameters camelCased; each one left out takes PyTorch's default. */
export type OptimizerOptions =
  | { kind: 'sgd'; lr?: number; momentum?: number; dampening?: number; nesterov?: boolean; weightDecay?: number }
  | ({ kind: 'adam' } & AdamOptions)
  | ({ kind: 'adamw' } & AdamOptions)
  | {
      kind: 'rmsprop'; lr?: number; alpha?: number; eps?: number; weightDecay?: number; momentum?: number;
      centered?: boolean;
    }
  | {
      kind: 'adagrad'; lr?: number; lrDecay?: number; weightDecay?: number; initialAccumulatorValue?: number;
      eps?: number;
    };

/** Options with every default filled in. */
export type OptimizerConfig = {
  [K in OptimizerOptions['kind']]: Required<Extract<OptimizerOptions, { kind: K }>>;
}[OptimizerOptions['kind']];

/** The optimizer's state as `optimizerState()` copies it out for a checkpoint. */
export interface OptimizerSnapshot {
  config: OptimizerConfig;
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
  h0?: TensorInput | undefined;
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

export interface UnrollOptions extends SequenceOptions {
  /**
   * Run as in training: with dropout, a fresh mask from the model's generator each call (Monte Carlo
   * dropout). Default false: inference, no dropout.
   */
  training?: boolean | undefined;
  /** Buffers of yours to write the results into instead of new arrays, each exactly the result's size. */
  out?: { output?: Float32Array; y?: Float32Array; hN?: Float32Array; cN?: Float32Array } | undefined;
}

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
  cN?: Tensor;
}

/** The recurrent state between two `cell` calls: pass the previous result (or `{ h, c }`) back in. */
export interface CellState {
  h?: TensorInput | undefined;
  c?: TensorInput | undefined;
}

export interface CellOptions {
  /**
   * Buffers of yours to write the results into instead of new arrays, each exactly the result's size: with
   * all of them, a stream of `cell` calls allocates no arrays.
   */
  out?: { output?: Float32Array; y?: Float32Array; h?: Float32Array; c?: Float32Array } | undefined;
}

export interface CellResult {
  /** The last layer's new state: [B, H]. */
  output: Tensor;
  /** The head's output for this step: [B, O]. */
  y: Tensor;
  /** The new state of every layer, [L, B, H]. */
  h: Tensor;
  /** LSTM only: the new cell state of every layer, [L, B, H]. */
  c?: Tensor;
}

export interface LossOptions extends SequenceOptions {
  /** 'mse' (default) or 'cross_entropy' over the head's logits. */
  loss?: LossKind | undefined;
}

export interface GradientsResult {
  loss: number;
  /** dloss/dparameter for every parameter, under its `stateDict` name (a tied weight under both of its names). */
  grads: Record<string, Tensor>;
  /** dloss/dinput, shaped like the input; absent when the input is token ids. */
  input?: Tensor;
  /** dloss/dh0 [L·D, B, H]. */
  h0: Tensor;
  /** LSTM only: dloss/dc0 [L·D, B, H]. */
  c0?: Tensor;
}

export interface StepOptions extends LossOptions {
  /** Default: Adam with lr 1e-3. Changing the kind resets the optimizer's state. */
  optimizer?: OptimizerOptions | undefined;
  /** Scale all gradients so that their global L2 norm is at most this. */
  clipGradNorm?: number | undefined;
  /** Clamp every gradient element to [-clipGradValue, clipGradValue] (before clipGradNorm, if both). */
  clipGradValue?: number | undefined;
}

export interface StepResult {
  loss: number;
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
  /** The state after the batch's last step (before the update), to carry into the next chunk of a stream. */
  hN: Tensor;
  /** LSTM only: the cell state likewise. */
  cN?: Tensor;
}
