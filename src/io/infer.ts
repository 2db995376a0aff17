/**
 * What the names and shapes of a PyTorch state dict say about the model that wrote it, under whatever module
 * names its author chose.
 *
 * The core is where `weight_hh_l0` is: `[G·H, H]` gives the hidden size and the gate blocks, which name the cell
 * (1 RNN, 3 GRU, 4 LSTM, from the cell table); `weight_ih_l0` the input size; the layer indices the number of
 * layers; a `_reverse` twin a second direction; `bias_*` the biases. The embedding is the 2-D `weight` without a
 * bias beside it whose width is the core's input size; the head the Linear (`weight` and `bias`) whose input
 * width is D·H, or, tied to the embedding, a lone `bias` of the embedding's row count (safetensors' `save_model`
 * writes a shared weight once). Two candidates for a part are a typed error listing them, never a guess; the
 * module names resolve it. The guess is then checked whole against the layout such a model has, tensor for
 * tensor, so a missing layer, a wrong shape or an extra tensor fails with the name at fault.
 */
import { CELLS } from '../cells.js';
import { StateDictError } from '../errors.js';
import { type ParamLayout, qualified } from '../layout.js';
import { DEFAULT_NAMES, PYTORCH_BEHAVIOUR } from '../options.js';
import { parameterLayout } from '../parts/index.js';
import type { CellKind, ModelConfig, PartNames } from '../types.js';
import { list, quote, shapeText } from './describe.js';

export interface TensorShape {
  readonly name: string;
  readonly shape: readonly number[];
}

/** The part of a model's configuration that its tensors determine. */
export type Architecture = Pick<
  ModelConfig,
  'cell' | 'inputSize' | 'hiddenSize' | 'numLayers' | 'bidirectional' | 'bias' | 'outputSize' | 'tieWeights' | 'names'
> & { embedding: { numEmbeddings: number; embeddingDim: number } | null };

const RECURRENT = /^(?:weight_ih|weight_hh|bias_ih|bias_hh)_l(0|[1-9][0-9]*)(?:_reverse)?$/;
const FIRST_HIDDEN = 'weight_hh_l0';

/** `module.` for a module name, '' for none: the prefix every parameter name of the module starts with. */
const dotted = (name: string) => (name ? `${name}.` : '');

/**
 * The architecture, and for each of the model's parameters the file's tensor holding it (the names are the
 * file's own, so the map is the identity but for a tied weight stored under the head's name).
 */
export interface InferOptions {
  /** Module names given by the user (or a file of ours): the parts are looked for there. */
  names?: Partial<PartNames>;
  /** Whether the head shares the embedding's weight; undefined: as the file shows it (a lone bias, or a shared name). */
  tieWeights?: boolean | undefined;
  /** Names safetensors' `save_model` left out because they shared a tensor: removed name → the name kept. */
  shared?: ReadonlyMap<string, string>;
  /** false: tensors that belong to no part are left out (PyTorch's `strict=False`) instead of refused. */
  strict?: boolean;
}

export function inferArchitecture(
  tensors: readonly TensorShape[],
  options: InferOptions = {},
): { architecture: Architecture; fileNames: Map<string, string> } {
  const { names = {}, tieWeights, shared = new Map(), strict = true } = options;
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const core = names.core ?? corePrefix(tensors);
  const prefix = dotted(core);
  const hidden = byName.get(prefix + FIRST_HIDDEN);
  if (!hidden) {
    throw new StateDictError(
      `no recurrent weights: there is no tensor ${quote(prefix + FIRST_HIDDEN)} ` + `(the file has ${list(tensors.map((t) => t.name))})`,
    );
  }
  const [rows, hiddenSize] = matrix(hidden);
  const kinds = Object.keys(CELLS) as CellKind[];
  const cell = kinds.find((kind) => CELLS[kind].gates * hiddenSize === rows);
  if (!cell) {
    throw new StateDictError(
      `${quote(hidden.name)} has shape ${shapeText(hidden.shape)}: ${rows} rows are `
        + `${rows / hiddenSize} gate blocks of hidden size ${hiddenSize}, and no cell has that many `
        + `(${kinds.map((k) => `${k} ${CELLS[k].gates}`).join(', ')})`,
    );
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
  const inputSize = matrix(input)[1];
  const bidirectional = byName.has(`${prefix}${FIRST_HIDDEN}_reverse`);
  const width = (bidirectional ? 2 : 1) * hiddenSize;

  const embedding = findEmbedding(others, byName, inputSize, names.embedding);
  const sharedPair = (a: string, b: string) => shared.get(a) === b || shared.get(b) === a;
  const head = findHead(others, byName, width, embedding, names.head, tieWeights, sharedPair);
  if (tieWeights && !head?.tied) {
    throw new StateDictError(
      `tieWeights: a tied head needs an embedding [V, ${width}] and a head bias [V] beside it; the `
        + `file has ${embedding ? `the embedding ${quote(embedding.tensor.name)} ${shapeText(embedding.tensor.shape)}` : 'no embedding'}`
        + `${head ? ` and the head ${quote(head.name)}` : ' and no head'}`,
    );
  }
  const architecture: Architecture = {
    cell,
    inputSize,
    hiddenSize,
    numLayers,
    bidirectional,
    bias: byName.has(`${prefix}bias_ih_l0`) || byName.has(`${prefix}bias_hh_l0`),
    embedding: embedding && { numEmbeddings: embedding.tensor.shape[0], embeddingDim: inputSize },
    outputSize: head ? byName.get(qualified(head.name, 'bias'))!.shape[0] : 0,
    tieWeights: head?.tied ?? false,
    names: { embedding: embedding?.name ?? DEFAULT_NAMES.embedding, core, head: head?.name ?? DEFAULT_NAMES.head },
  };
  const used = new Set([embedding?.tensor.name, ...(head ? [qualified(head.name, 'weight'), qualified(head.name, 'bias')] : [])]);
  const unexpected = others.filter((t) => !used.has(t.name));
  if (unexpected.length && strict) {
    const projection = unexpected.some((t) => /weight_hr_l\d/.test(t.name)) ? '; LSTM projections (proj_size) are not supported' : '';
    throw new StateDictError(
      `unexpected ${unexpected.length === 1 ? 'tensor' : 'tensors'} `
        + `${list(unexpected.map((t) => t.name))}: neither recurrent weights under ${quote(prefix)}, an embedding nor a `
        + `linear head${projection} (pass strict: false to leave them out, as PyTorch's load_state_dict(strict=False))`,
    );
  }
  return { architecture, fileNames: matchLayout(architecture, byName) };
}

/** The module under which `weight_hh_l0` appears, when exactly one does. */
function corePrefix(tensors: readonly TensorShape[]): string {
  const found = tensors
    .filter((t) => t.name === FIRST_HIDDEN || t.name.endsWith(`.${FIRST_HIDDEN}`))
    .map((t) => t.name.slice(0, -FIRST_HIDDEN.length).replace(/\.$/, ''));
  if (found.length === 0) {
    throw new StateDictError(
      `no recurrent weights: no tensor is named '<module>.${FIRST_HIDDEN}' ` + `(the file has ${list(tensors.map((t) => t.name))})`,
    );
  }
  if (found.length > 1) {
    throw new StateDictError(
      `ambiguous: recurrent weights under ${list(found)}; name the core with `
        + `{ names: { core: ${quote(found[0])} } } to choose one (and pass strict: false to leave the other out)`,
    );
  }
  return found[0];
}

/** The module of a `<module>.weight` tensor (or '' for a bare `weight`), or null for any other name. */
function moduleOf(name: string, leaf: string): string | null {
  if (name === leaf) return '';
  return name.endsWith(`.${leaf}`) ? name.slice(0, -leaf.length - 1) : null;
}

/** The embedding: given by name, or the one bias-less 2-D `weight` as wide as the core's input. */
function findEmbedding(
  others: readonly TensorShape[],
  byName: ReadonlyMap<string, TensorShape>,
  inputSize: number,
  given?: string,
): { name: string; tensor: TensorShape } | null {
  if (given !== undefined) {
    const tensor = byName.get(qualified(given, 'weight'));
    if (!tensor) throw new StateDictError(`names.embedding is ${quote(given)}, but the file has no ${quote(qualified(given, 'weight'))}`);
    if (matrix(tensor)[1] !== inputSize) {
      throw new StateDictError(
        `${quote(tensor.name)} has shape ${shapeText(tensor.shape)}: an embedding in front of a core `
          + `of input size ${inputSize} is [numEmbeddings, ${inputSize}]`,
      );
    }
    return { name: given, tensor };
  }
  const candidates = others.filter((t) => {
    const module = moduleOf(t.name, 'weight');
    return module !== null && t.shape.length === 2 && t.shape[0] > 0 && t.shape[1] === inputSize && !byName.has(qualified(module, 'bias'));
  });
  if (candidates.length > 1) {
    throw new StateDictError(
      `ambiguous embedding: ${list(candidates.map((t) => t.name))} could each be it; name it with `
        + '{ names: { embedding: … } } (and pass strict: false to leave the other out)',
    );
  }
  return candidates.length ? { name: moduleOf(candidates[0].name, 'weight')!, tensor: candidates[0] } : null;
}

/**
 * The head: given by name, or the one Linear (`weight` [O, D·H] and `bias` [O]) among the rest, or, with an
 * embedding as wide as D·H, a lone `bias` of the embedding's row count: a head tied to it.
 */
function findHead(
  others: readonly TensorShape[],
  byName: ReadonlyMap<string, TensorShape>,
  width: number,
  embedding: { name: string; tensor: TensorShape } | null,
  given: string | undefined,
  tieWeights: boolean | undefined,
  shared: (a: string, b: string) => boolean,
): { name: string; tied: boolean } | null {
  const canTie = embedding?.tensor.shape[1] === width;
  const isHead = (module: string) => {
    const bias = byName.get(qualified(module, 'bias'));
    const weight = byName.get(qualified(module, 'weight'));
    if (bias?.shape.length !== 1 || module === embedding?.name) return null;
    if (weight) {
      const ok = weight.shape.length === 2 && weight.shape[0] === bias.shape[0] && weight.shape[1] === width;
      // Both weights present are one tensor when the options say so, or when save_model recorded one as the other.
      const tied = tieWeights ?? (embedding !== null && shared(embedding.tensor.name, weight.name));
      return ok ? { name: module, tied } : null;
    }
    return canTie && bias.shape[0] === embedding?.tensor.shape[0] ? { name: module, tied: true } : null;
  };
  if (given !== undefined) {
    const found = isHead(given);
    if (!found) {
      throw new StateDictError(
        `names.head is ${quote(given)}, but the file has no Linear head there: it needs `
          + `${quote(qualified(given, 'weight'))} [O, ${width}] and ${quote(qualified(given, 'bias'))} [O] (this library's head always `
          + 'has a bias), or the bias alone for a head tied to the embedding',
      );
    }
    return found;
  }
  const modules = [...new Set(others.map((t) => moduleOf(t.name, 'bias')).filter((m): m is string => m !== null))];
  const heads = modules.map(isHead).filter((h) => h !== null);
  if (heads.length > 1) {
    throw new StateDictError(
      `ambiguous head: ${list(heads.map((h) => h.name))} could each be the linear head; name it `
        + 'with { names: { head: … } } (and pass strict: false to leave the other out)',
    );
  }
  if (heads.length === 0) {
    // A Linear in all but its input width is a head of the wrong size, which deserves its own message.
    for (const module of modules) {
      const weight = byName.get(qualified(module, 'weight'));
      const bias = byName.get(qualified(module, 'bias'))!;
      if (weight?.shape.length === 2 && bias.shape.length === 1 && weight.shape[0] === bias.shape[0]) {
        throw new StateDictError(
          `${quote(weight.name)} should have shape ${shapeText([weight.shape[0], width])} for a head on `
            + `the core's ${width} features, got ${shapeText(weight.shape)}`,
        );
      }
    }
  }
  return heads[0] ?? null;
}

/** Checks every tensor such a model has against the file, and maps the model's names to the file's. */
function matchLayout(a: Architecture, byName: ReadonlyMap<string, TensorShape>): Map<string, string> {
  // Only the sizes shape the layout; the rest of the configuration is filled in with anything valid.
  const config: ModelConfig = {
    ...a,
    ...PYTORCH_BEHAVIOUR,
    nonlinearity: 'tanh',
    batchFirst: false,
    dropout: 0,
    seed: 0,
    headOn: 'steps',
    embedding: a.embedding && { ...a.embedding, paddingIdx: null },
  };
  const description =
    `${a.numLayers}-layer${a.bidirectional ? ' bidirectional' : ''} ${a.cell} with input size `
    + `${a.inputSize} and hidden size ${a.hiddenSize}${a.bias ? '' : ' without biases'}`;
  const fileNames = layoutFileNames(parameterLayout(config), byName, description);
  const prefix = dotted(a.names.core);
  const expected = new Set(fileNames.values());
  const extra = [...byName.keys()].filter(
    (name) => name.startsWith(prefix) && RECURRENT.test(name.slice(prefix.length)) && !expected.has(name),
  );
  if (extra.length) throw new StateDictError(`unexpected ${list(extra)}: not part of a ${description}`);
  return fileNames;
}

/**
 * Where each parameter of a layout is in a file (its own name, or a tied weight's other one), each checked to be
 * there with the layout's shape; `description` says what the layout is, in the errors.
 */
export function layoutFileNames(layout: ParamLayout, byName: ReadonlyMap<string, TensorShape>, description: string): Map<string, string> {
  const fileNames = new Map<string, string>();
  const missing: string[] = [];
  for (const spec of layout.specs) {
    // A tied weight may be stored under either of its names.
    const alias = [...layout.aliases].find(([, of]) => of === spec.name)?.[0];
    const fileName = byName.has(spec.name) || alias === undefined || !byName.has(alias) ? spec.name : alias;
    const t = byName.get(fileName);
    if (!t) {
      missing.push(fileName);
      continue;
    }
    if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      throw new StateDictError(
        `${quote(fileName)} should have shape ${shapeText(spec.shape)} in a ${description}, ` + `got ${shapeText(t.shape)}`,
      );
    }
    fileNames.set(spec.name, fileName);
  }
  if (missing.length) throw new StateDictError(`missing ${list(missing)} for a ${description}`);
  return fileNames;
}

/** A 2-D tensor's two sizes, both positive. */
function matrix(t: TensorShape): [number, number] {
  if (t.shape.length !== 2 || t.shape[0] === 0 || t.shape[1] === 0) {
    throw new StateDictError(`${quote(t.name)} should be a non-empty matrix, got shape ${shapeText(t.shape)}`);
  }
  return [t.shape[0], t.shape[1]];
}
