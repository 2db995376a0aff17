/**
 * Options a user passes, checked and filled with defaults before anything touches memory. Unknown keys are
 * errors: a misspelt `hiddenSzie` must not silently fall back to a default.
 */
import { OptionError } from './errors.js';
import type { CellKind } from './cells.js';
import type { ModelConfig } from './layout.js';

export type BackendChoice = 'wasm' | 'wasm-simd' | 'wasm-scalar' | 'js';

/**
 * One WebAssembly build: its URL (a string is resolved against the page's base URL), its bytes, or a module
 * compiled already (e.g. by `WebAssembly.compileStreaming` over a fetch of your own).
 */
export type WasmSource = string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module;

/** Where each build comes from; a build left out is looked for beside the library's module. */
export interface WasmSources {
  simd?: WasmSource;
  scalar?: WasmSource;
}

/** What `RNN.create` asks of the backends: which one, and where the WebAssembly builds come from. */
export interface BackendRequest {
  choice: BackendChoice;
  wasm: WasmSources;
}

export interface RNNOptions {
  /** The recurrent cell: 'rnn' (Elman, default), 'lstm' or 'gru', with PyTorch's equations and gate order. */
  cell?: CellKind;
  inputSize: number;
  hiddenSize: number;
  /** Stacked layers (default 1). */
  numLayers?: number;
  /** Run a second direction backwards in time and concatenate (default false). */
  bidirectional?: boolean;
  /** f in h' = f(W_ih x + b_ih + W_hh h + b_hh) (default 'tanh'); 'rnn' cells only. */
  nonlinearity?: 'tanh' | 'relu';
  /** Whether the recurrent layers have b_ih and b_hh (default true). The head always has a bias. */
  bias?: boolean;
  /** Size of the linear head y = W h + b applied at every step; omit or 0 for none. */
  outputSize?: number;
  /** Inputs and outputs as [B, T, F] instead of time-major [T, B, F] (default false). */
  batchFirst?: boolean;
  /**
   * Dropout on the outputs of every layer but the last, with this probability, in training only
   * (`gradients`, `step`, `train`), scaled by 1/(1-p) as in PyTorch (default 0).
   */
  dropout?: number;
  /** Seed of the model's generator: initial weights, shuffling, sampling (default 0). */
  seed?: number;
  /**
   * 'wasm' (default) picks the SIMD build where the engine supports it, else the scalar build, and the pure-JS
   * kernels where WebAssembly is absent or refused; `net.backend` tells which runs.
   */
  backend?: BackendChoice;
  /**
   * Where the WebAssembly builds come from when not from beside the library's module: a folder URL ending in
   * '/' that holds rnn-simd.wasm and rnn-scalar.wasm (a CDN, a custom path), or each build's URL or bytes.
   */
  wasm?: string | URL | WasmSources;
}

export type LossKind = 'mse' | 'cross_entropy';

export function checkKeys(value: unknown, allowed: readonly string[], where: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new OptionError(`${where}: expected an options object, got ${value === null ? 'null' : typeof value}`);
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new OptionError(`${where}: unknown option '${key}' (known: ${allowed.join(', ')})`);
    }
  }
}

// ---- checks shared by every options object: each names the option and what it got -------------------------

export function positiveInt(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new OptionError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value as number;
}

export function nonNegativeInt(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new OptionError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value as number;
}

/** A finite number in a range; `above` excludes `min` itself, `below` excludes `max`. */
export function numberIn(value: unknown, name: string,
  range: { min?: number; max?: number; above?: boolean; below?: boolean }): number {
  const { min = -Infinity, max = Infinity, above = false, below = false } = range;
  const ok = typeof value === 'number' && Number.isFinite(value) && (above ? value > min : value >= min) &&
    (below ? value < max : value <= max);
  if (!ok) {
    const bounds = max === Infinity ? `${above ? '>' : '≥'} ${min}` : `in ${above ? '(' : '['}${min}, ${max}${below ? ')' : ']'}`;
    throw new OptionError(`${name} must be a finite number ${bounds}, got ${String(value)}`);
  }
  return value as number;
}

export function oneOf<T extends string>(value: unknown, allowed: readonly T[], name: string): T {
  if (!allowed.includes(value as T)) {
    throw new OptionError(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${String(value)}`);
  }
  return value as T;
}

export function bool(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new OptionError(`${name} must be true or false, got ${String(value)}`);
  return value;
}

const MODEL_KEYS = ['cell', 'inputSize', 'hiddenSize', 'numLayers', 'bidirectional', 'nonlinearity', 'bias',
  'outputSize', 'batchFirst', 'dropout', 'seed', 'backend', 'wasm'] as const;

export function modelConfig(options: RNNOptions): { config: ModelConfig; backend: BackendRequest } {
  checkKeys(options, MODEL_KEYS, 'RNN.create');
  const o = options as RNNOptions;
  const config: ModelConfig = {
    cell: oneOf(o.cell ?? 'rnn', ['rnn', 'lstm', 'gru'] as const, 'cell'),
    inputSize: positiveInt(o.inputSize, 'inputSize'),
    hiddenSize: positiveInt(o.hiddenSize, 'hiddenSize'),
    numLayers: positiveInt(o.numLayers ?? 1, 'numLayers'),
    bidirectional: bool(o.bidirectional ?? false, 'bidirectional'),
    nonlinearity: oneOf(o.nonlinearity ?? 'tanh', ['tanh', 'relu'] as const, 'nonlinearity'),
    bias: bool(o.bias ?? true, 'bias'),
    outputSize: o.outputSize === undefined || o.outputSize === 0 ? 0 : positiveInt(o.outputSize, 'outputSize'),
    batchFirst: bool(o.batchFirst ?? false, 'batchFirst'),
    dropout: numberIn(o.dropout ?? 0, 'dropout', { min: 0, max: 1, below: true }),
    seed: nonNegativeInt(o.seed ?? 0, 'seed'),
  };
  if (config.dropout > 0 && config.numLayers === 1) {
    throw new OptionError('dropout applies between stacked layers; with numLayers 1 it would do nothing');
  }
  if (config.cell !== 'rnn' && o.nonlinearity !== undefined) {
    throw new OptionError(`nonlinearity applies to cell 'rnn' only; a '${config.cell}' cell has fixed gate functions`);
  }
  const choice = oneOf(o.backend ?? 'wasm', ['wasm', 'wasm-simd', 'wasm-scalar', 'js'] as const, 'backend');
  return { config, backend: { choice, wasm: wasmSources(o.wasm) } };
}

const WASM_BUILDS = ['simd', 'scalar'] as const;

function wasmSources(value: unknown): WasmSources {
  if (value === undefined) return {};
  if (typeof value === 'string' || value instanceof URL) {
    const folder = String(value);
    if (!folder.endsWith('/')) {
      throw new OptionError(`wasm: a folder URL must end with '/', got '${folder}'; to name each file, pass { simd, scalar }`);
    }
    return { simd: `${folder}rnn-simd.wasm`, scalar: `${folder}rnn-scalar.wasm` };
  }
  checkKeys(value, WASM_BUILDS, 'wasm');
  const sources: WasmSources = {};
  for (const build of WASM_BUILDS) {
    const source = (value as WasmSources)[build];
    if (source === undefined) continue;
    const isModule = typeof WebAssembly === 'object' && source instanceof WebAssembly.Module;
    if (!(typeof source === 'string' || source instanceof URL || source instanceof ArrayBuffer
      || ArrayBuffer.isView(source) || isModule)) {
      throw new OptionError(`wasm.${build} must be a URL (string or URL), bytes (ArrayBuffer or typed array) or a `
        + `WebAssembly.Module, got ${source === null ? 'null' : (source as object).constructor?.name ?? typeof source}`);
    }
    sources[build] = source;
  }
  return sources;
}

export function lossKind(value: unknown): LossKind {
  return oneOf(value ?? 'mse', ['mse', 'cross_entropy'] as const, 'loss');
}

/** Gradient clipping, checked: undefined means none. */
export interface Clipping {
  norm?: number;
  value?: number;
}

export function clipping(options: { clipGradNorm?: unknown; clipGradValue?: unknown }): Clipping {
  return { norm: clipOption(options.clipGradNorm, 'clipGradNorm'), value: clipOption(options.clipGradValue, 'clipGradValue') };
}

/** A gradient-clipping limit: undefined (no clipping) or a finite number > 0. */
function clipOption(value: unknown, name: string): number | undefined {
  return value === undefined ? undefined : numberIn(value, name, { min: 0, above: true });
}
