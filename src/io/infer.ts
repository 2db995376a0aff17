/**
 * What the names and shapes of a PyTorch state dict say about the model that wrote it.
 *
 * `weight_hh_l0` is `[G·H, H]`: H is the hidden size and G the gate blocks, which name the cell (1 RNN, 3 GRU,
 * 4 LSTM, from the cell table). `weight_ih_l0` gives the input size; the layer indices the number of layers;
 * a `_reverse` twin a second direction; `bias_*` the biases; a `weight` + `bias` pair outside the recurrent
 * module the head. The guess is then checked whole: the layout such a model has must match the file's
 * tensors name for name and shape for shape, so a missing layer, a wrong shape or an extra tensor fails with
 * the name of the tensor at fault rather than as a confusing error later.
 */
import { CELLS, type CellKind } from '../cells.js';
import { StateDictError } from '../errors.js';
import { type ModelConfig, parameterLayout } from '../layout.js';
import { list, quote, shapeText } from './describe.js';

export interface TensorShape {
  readonly name: string;
  readonly shape: readonly number[];
}

/** The part of a model's configuration that its tensors determine. */
export interface Architecture {
  cell: CellKind;
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bidirectional: boolean;
  bias: boolean;
  outputSize: number;
}

export interface NamePrefixes {
  /** The recurrent module's prefix, e.g. 'rnn.', 'lstm.', 'encoder.gru.' or '' (default: detected). */
  prefix?: string;
  /** The linear head's prefix, e.g. 'head.' or 'fc.' (default: detected). */
  headPrefix?: string;
}

export interface Inference {
  architecture: Architecture;
  /** For each of the model's parameter names (`rnn.weight_ih_l0`, …, `head.bias`), the file's name for it. */
  fileNames: Map<string, string>;
}

const RECURRENT = /^(?:weight_ih|weight_hh|bias_ih|bias_hh)_l(0|[1-9][0-9]*)(?:_reverse)?$/;
const FIRST_HIDDEN = 'weight_hh_l0';

export function inferArchitecture(tensors: readonly TensorShape[], names: NamePrefixes = {}): Inference {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const prefix = names.prefix ?? recurrentPrefix(tensors);
  const hidden = byName.get(prefix + FIRST_HIDDEN);
  if (!hidden) {
    throw new StateDictError(`no recurrent weights: there is no tensor ${quote(prefix + FIRST_HIDDEN)} `
      + `(the file has ${list(tensors.map((t) => t.name))})`);
  }
  const [rows, hiddenSize] = matrix(hidden);
  const cell = (Object.keys(CELLS) as CellKind[]).find((kind) => CELLS[kind].gates * hiddenSize === rows);
  if (!cell) {
    throw new StateDictError(`${quote(hidden.name)} has shape ${shapeText(hidden.shape)}: ${rows} rows are `
      + `${rows / hiddenSize} gate blocks of hidden size ${hiddenSize}, and no cell has that many `
      + `(${(Object.keys(CELLS) as CellKind[]).map((k) => `${k} ${CELLS[k].gates}`).join(', ')})`);
  }

  const layers = new Set<number>();
  const others: TensorShape[] = [];
  for (const t of tensors) {
    const match = t.name.startsWith(prefix) ? RECURRENT.exec(t.name.slice(prefix.length)) : null;
    if (match) layers.add(Number(match[1]));
    else others.push(t);
  }
  // Layers 0…L-1, each present: checked before L is used, so an index such as l99999999 allocates nothing.
  const numLayers = layers.size;
  for (let k = 0; k < numLayers; k++) {
    if (!layers.has(k)) {
      const present = [...layers].sort((a, b) => a - b).map(String);
      throw new StateDictError(`layer ${k} is missing: the file has weights under ${quote(prefix)} for layers ${list(present)}`);
    }
  }
  const input = byName.get(`${prefix}weight_ih_l0`);
  if (!input) throw new StateDictError(`missing ${quote(`${prefix}weight_ih_l0`)}, the first layer's input weights`);
  const head = findHead(others, byName, names.headPrefix);
  const architecture: Architecture = {
    cell,
    inputSize: matrix(input)[1],
    hiddenSize,
    numLayers,
    bidirectional: byName.has(`${prefix}${FIRST_HIDDEN}_reverse`),
    bias: byName.has(`${prefix}bias_ih_l0`) || byName.has(`${prefix}bias_hh_l0`),
    outputSize: head ? matrix(head.weight)[0] : 0,
  };
  const unexpected = others.filter((t) => t !== head?.weight && t !== head?.bias);
  if (unexpected.length) {
    const projection = unexpected.some((t) => /weight_hr_l\d/.test(t.name)) ? '; LSTM projections (proj_size) are not supported' : '';
    throw new StateDictError(`unexpected ${unexpected.length === 1 ? 'tensor' : 'tensors'} `
      + `${list(unexpected.map((t) => t.name))}: neither recurrent weights under ${quote(prefix)} nor a linear head`
      + `${projection}`);
  }
  return { architecture, fileNames: matchLayout(architecture, byName, prefix, head?.prefix ?? '') };
}

/** The prefix under which `weight_hh_l0` appears, when exactly one does. */
function recurrentPrefix(tensors: readonly TensorShape[]): string {
  const prefixes = tensors.filter((t) => t.name.endsWith(FIRST_HIDDEN)).map((t) => t.name.slice(0, -FIRST_HIDDEN.length));
  if (prefixes.length === 0) {
    throw new StateDictError(`no recurrent weights: no tensor is named '<prefix>${FIRST_HIDDEN}' `
      + `(the file has ${list(tensors.map((t) => t.name))})`);
  }
  if (prefixes.length > 1) {
    throw new StateDictError(`ambiguous: recurrent weights under ${list(prefixes)}; pass the prefix option `
      + 'to choose one');
  }
  return prefixes[0];
}

interface Head {
  prefix: string;
  weight: TensorShape;
  bias: TensorShape;
}

/** The head: `<headPrefix>weight` and `<headPrefix>bias`, given or found as the one such pair among the rest. */
function findHead(others: readonly TensorShape[], byName: ReadonlyMap<string, TensorShape>, headPrefix?: string): Head | null {
  if (headPrefix !== undefined) {
    const weight = byName.get(`${headPrefix}weight`);
    const bias = byName.get(`${headPrefix}bias`);
    if (!weight || !bias) {
      throw new StateDictError(`the head needs ${quote(`${headPrefix}weight`)} and ${quote(`${headPrefix}bias`)} `
        + `(this library's head always has a bias); the file has ${weight ? 'no bias' : bias ? 'no weight' : 'neither'}`);
    }
    return { prefix: headPrefix, weight, bias };
  }
  const names = new Set(others.map((t) => t.name));
  const pairs = others.filter((t) => t.name.endsWith('weight') && names.has(`${t.name.slice(0, -6)}bias`));
  if (pairs.length > 1) {
    throw new StateDictError(`ambiguous head: ${list(pairs.map((t) => t.name))} could each be the linear head; pass the `
      + 'headPrefix option to choose one');
  }
  if (pairs.length === 0) return null;
  const prefix = pairs[0].name.slice(0, -6);
  return { prefix, weight: pairs[0], bias: byName.get(`${prefix}bias`)! };
}

/** Checks every tensor such a model has against the file, and maps the model's names to the file's. */
function matchLayout(a: Architecture, byName: ReadonlyMap<string, TensorShape>, prefix: string,
  headPrefix: string): Map<string, string> {
  // Only the sizes shape the layout; the rest of the configuration is filled in with anything valid.
  const config: ModelConfig = { ...a, nonlinearity: 'tanh', batchFirst: false, dropout: 0, seed: 0 };
  const description = `${a.numLayers}-layer${a.bidirectional ? ' bidirectional' : ''} ${a.cell} with input size `
    + `${a.inputSize} and hidden size ${a.hiddenSize}${a.bias ? '' : ' without biases'}`;
  const fileNames = new Map<string, string>();
  const missing: string[] = [];
  for (const spec of parameterLayout(config).specs) {
    const fileName = spec.name.startsWith('rnn.') ? prefix + spec.name.slice(4) : headPrefix + spec.name.slice(5);
    const t = byName.get(fileName);
    if (!t) {
      missing.push(fileName);
      continue;
    }
    if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      throw new StateDictError(`${quote(fileName)} should have shape ${shapeText(spec.shape)} in a ${description}, `
        + `got ${shapeText(t.shape)}`);
    }
    fileNames.set(spec.name, fileName);
  }
  if (missing.length) throw new StateDictError(`missing ${list(missing)} for a ${description}`);
  const expected = new Set(fileNames.values());
  const extra = [...byName.keys()].filter((name) => name.startsWith(prefix) && RECURRENT.test(name.slice(prefix.length))
    && !expected.has(name));
  if (extra.length) throw new StateDictError(`unexpected ${list(extra)}: not part of a ${description}`);
  return fileNames;
}

/** A 2-D tensor's two sizes, both positive. */
function matrix(t: TensorShape): [number, number] {
  if (t.shape.length !== 2 || t.shape[0] === 0 || t.shape[1] === 0) {
    throw new StateDictError(`${quote(t.name)} should be a non-empty matrix, got shape ${shapeText(t.shape)}`);
  }
  return [t.shape[0], t.shape[1]];
}
