/**
 * One error class per kind of failure, so callers can branch on `instanceof` or `name`.
 * Messages state the facts: what was expected and what arrived. Each class names itself with a literal string:
 * minifiers rename classes, so `new.target.name` would say "a" in a production bundle.
 */
export class RnnError extends Error {
  /** 'RnnError', a literal that survives minification: branch on it or on `instanceof`. */
  override name = 'RnnError';
}

/** An option is unknown, missing, of the wrong type or out of range. */
export class OptionError extends RnnError {
  /** 'OptionError', a literal that survives minification: branch on it or on `instanceof`. */
  override name = 'OptionError';
}

/** A tensor has the wrong rank, shape or length for this model. */
export class ShapeError extends RnnError {
  /** 'ShapeError', a literal that survives minification: branch on it or on `instanceof`. */
  override name = 'ShapeError';
}

/** An input, weight or gradient is NaN or infinite. */
export class NonFiniteError extends RnnError {
  /** 'NonFiniteError', a literal that survives minification: branch on it or on `instanceof`. */
  override name = 'NonFiniteError';
}

/** A state dict names a parameter the model does not have, or lacks one it needs. */
export class StateDictError extends RnnError {
  /** 'StateDictError', a literal that survives minification: branch on it or on `instanceof`. */
  override name = 'StateDictError';
}

/** The model was used after `dispose()`. */
export class DisposedError extends RnnError {
  /** 'DisposedError', a literal that survives minification: branch on it or on `instanceof`. */
  override name = 'DisposedError';
}

/** The requested sizes need more memory than the backend can address. */
export class MemoryLimitError extends RnnError {
  /** 'MemoryLimitError', a literal that survives minification: branch on it or on `instanceof`. */
  override name = 'MemoryLimitError';
}

/**
 * A WebAssembly build could not be fetched, read or compiled: a wrong URL, a server's error or fallback page
 * where the .wasm should be, a file that is not WebAssembly.
 */
export class WasmLoadError extends RnnError {
  /** 'WasmLoadError', a literal that survives minification: branch on it or on `instanceof`. */
  override name = 'WasmLoadError';
}

/** The worker behind a WorkerRNN failed to start, crashed, or answered with a message that could not be read. */
export class WorkerError extends RnnError {
  /** 'WorkerError', a literal that survives minification: branch on it or on `instanceof`. */
  override name = 'WorkerError';
}

/** The threads of a multi-threaded model could not start, or one of them failed inside a kernel. */
export class ThreadError extends RnnError {
  /** 'ThreadError', a literal that survives minification: branch on it or on `instanceof`. */
  override name = 'ThreadError';
}

/**
 * A model file (safetensors, checkpoint or JSON) cannot be read: it is truncated, malformed, of another
 * format, or describes something impossible (offsets past the end, a shape its bytes do not fill).
 */
export class FormatError extends RnnError {
  /** 'FormatError', a literal that survives minification: branch on it or on `instanceof`. */
  override name = 'FormatError';
}

/**
 * A well-formed file that uses what this library cannot run (an ONNX op, attribute or data type it has no
 * counterpart for): the message names the node and the feature. A FormatError, so one catch covers both.
 */
export class UnsupportedError extends FormatError {
  override name = 'UnsupportedError';
}

/** A file named by a path or URL is not there. */
export class NotFoundError extends RnnError {
  /** 'NotFoundError', a literal that survives minification: branch on it or on `instanceof`. */
  override name = 'NotFoundError';
}

/** A model file was written by a newer version of this library, in a format version this one cannot read. */
export class VersionError extends FormatError {
  /** 'VersionError', a literal that survives minification: branch on it or on `instanceof`. */
  override name = 'VersionError';
}

/** Every error class by its literal name: how an error that crossed a worker (by name and message) is made again. */
export const ERROR_CLASSES: Readonly<Record<string, new (message: string) => RnnError>> = Object.freeze({
  RnnError,
  OptionError,
  ShapeError,
  NonFiniteError,
  StateDictError,
  DisposedError,
  MemoryLimitError,
  WasmLoadError,
  WorkerError,
  ThreadError,
  FormatError,
  UnsupportedError,
  NotFoundError,
  VersionError,
});
