export { RNN } from './model.js';
export type {
  CellOptions, CellResult, CellState, GradientsResult, InitialState, SequenceOptions, UnrollOptions, LossOptions, StepOptions, StepResult, UnrollResult,
} from './model.js';
export type { BackendChoice, LossKind, RNNOptions, WasmSource, WasmSources } from './options.js';
export type { OptimizerOptions } from './optimizers.js';
export type { EarlyStopping, EpochRecord, Sample, TrainHistory, TrainOptions, TrainProgress } from './train.js';
export type { ScheduleOptions } from './schedules.js';
export type { GenerateOptions, GenerateResult } from './generate.js';
export type { IdTensor, Tensor, TensorInput } from './tensor.js';
export type { BackendName } from './backend.js';
export type { FileSource } from './io/source.js';
export type { SafetensorsOptions } from './io/weights.js';
export type { LoadOptions } from './io/checkpoint.js';
export type { ConfigJSON } from './io/format.js';
export type { ModelJSON, TensorJSON } from './io/model-json.js';
export { FormatError, VersionError } from './errors.js';
export { simdSupported, wasmSupported } from './backends/wasm.js';
export { WorkerRNN } from './worker-client.js';
export { serveRNN } from './worker.js';
export type { MessageEndpoint } from './worker-protocol.js';
export {
  DisposedError, MemoryLimitError, NonFiniteError, OptionError, RnnError, ShapeError, StateDictError, WasmLoadError,
  WorkerError,
} from './errors.js';
