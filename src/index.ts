export { RNN } from './model.js';
export type {
  CellResult, CellState, GradientsResult, InitialState, SequenceOptions, UnrollOptions, LossOptions, StepOptions, StepResult, UnrollResult,
} from './model.js';
export type { BackendChoice, LossKind, RNNOptions } from './options.js';
export type { OptimizerOptions } from './optimizers.js';
export type { EarlyStopping, EpochRecord, Sample, TrainHistory, TrainOptions, TrainProgress } from './train.js';
export type { ScheduleOptions } from './schedules.js';
export type { GenerateOptions, GenerateResult } from './generate.js';
export type { IdTensor, Tensor, TensorInput } from './tensor.js';
export type { BackendName } from './backend.js';
export { simdSupported } from './backends/wasm.js';
export {
  DisposedError, MemoryLimitError, NonFiniteError, OptionError, RnnError, ShapeError, StateDictError,
} from './errors.js';
