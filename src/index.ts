/**
 * `rnn-wasm`: recurrent networks (RNN, LSTM, GRU) with an optional embedding and head, their training, files and
 * workers. The ONNX converters are in `rnn-wasm/onnx`.
 * @module rnn-wasm
 */
export { RNN } from './model.js';
export type { EvaluateResult } from './model.js';
export type {
  CellKind,
  CellOptions,
  CellResult,
  CellState,
  EmbeddingConfig,
  GradientsResult,
  HeadOn,
  IdTensor,
  InitialState,
  LossKind,
  LossOptions,
  CoreConfig,
  GateActivation,
  HeadActivation,
  MergeMode,
  ModelConfig,
  NestedNumbers,
  OptimizerConfig,
  OptimizerOptions,
  OptimizerSnapshot,
  PartNames,
  SequenceOptions,
  StepOptions,
  StepResult,
  Tensor,
  TensorInput,
  UnrollOptions,
  UnrollResult,
} from './types.js';
export type { BackendChoice, CoreOptions, EmbeddingOptions, RNNOptions, StackedCoreOptions, WasmSource, WasmSources } from './options.js';
export type { EarlyStopping, EpochRecord, Sample, TrainHistory, TrainOptions, TrainProgress } from './train.js';
export type { ScheduleOptions } from './schedules.js';
export type { GenerateOptions, GenerateResult } from './generate.js';
export { logSoftmax } from './tensor.js';
export { Vocabulary, type VocabularyOptions } from './vocabulary.js';
export type { BackendName } from './backend.js';
// Named by the public types above: AdamOptions by OptimizerOptions, WasmModule by WasmSource, WasmBuild by defaultWasmSource.
export type { AdamOptions } from './types.js';
export type { WasmBuild, WasmModule } from './options.js';
export type { FileSource } from './io/source.js';
export type { SafetensorsOptions } from './io/weights.js';
export type { LoadOptions } from './io/checkpoint.js';
export type { ConfigJSON } from './io/format.js';
export type { ModelJSON, TensorJSON } from './io/model-json.js';
export { relaxedSimdSupported, simdSupported, wasmSupported } from './backends/wasm.js';
export { defaultWasmSource } from './backends/wasm-default.js';
export { Random } from './random.js';
export { WorkerRNN } from './worker-client.js';
export { serveRNN } from './worker.js';
export type { MessageEndpoint, NodeWorkerEndpoint } from './worker-protocol.js';
export type { ConnectOptions, Endpoint } from './worker-connection.js';
export {
  DisposedError,
  FormatError,
  MemoryLimitError,
  NonFiniteError,
  NotFoundError,
  OptionError,
  RnnError,
  ShapeError,
  StateDictError,
  ThreadError,
  UnsupportedError,
  VersionError,
  WasmLoadError,
  WorkerError,
} from './errors.js';
