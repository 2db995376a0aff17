export { RNN } from './model.js';
export type {
  CellResult, CellState, GradientsResult, InitialState, LossOptions, StepOptions, StepResult, UnrollResult,
} from './model.js';
export type { BackendChoice, LossKind, RNNOptions } from './options.js';
export type { OptimizerOptions } from './optimizers.js';
export type { Sample, TrainHistory, TrainOptions, TrainProgress } from './train.js';
export type { GenerateOptions, GenerateResult } from './generate.js';
export type { IdTensor, Tensor, TensorInput } from './tensor.js';
export type { BackendName } from './backend.js';
export { simdSupported } from './backends/wasm.js';
export {
  DisposedError, MemoryLimitError, NonFiniteError, OptionError, RnnError, ShapeError, StateDictError,
} from './errors.js';
