/**
 * `rnn-wasm/tfjs`: TensorFlow.js / Keras models in, in an entry of its own so that the core bundle stays as it is.
 *
 *   fromTFJS(model, weights, options)  a `model.json` (Keras layers format, as tfjs-layers' `model.save` or
 *                                      `tensorflowjs_converter` write it) and its weights, as an RNN with the
 *                                      same outputs: `net.unroll(x).y` is what tfjs's `model.predict(x)` returns
 *
 * The model is made through the public API (RNN.create, loadStateDict), so it trains, saves and exports like any.
 * @module rnn-wasm/tfjs
 */
import { type FileSource, asUrl, readSource } from './io/source.js';
import { parseJson } from './io/json.js';
import { importTFJS } from './io/tfjs.js';
import { FormatError, OptionError, RNN, type RNNOptions } from './index.js';
import { type LoadOptions, WHERE_IT_RUNS } from './options.js';

/** What a model.json cannot tell, and where the model runs. */
export type TFJSOptions = Pick<RNNOptions, 'dropout' | 'seed'> & LoadOptions;

/** A model.json: parsed, as its text, or where it is (a path in Node, a URL anywhere). */
export type TFJSModelSource = object | string | URL;

const OPTION_KEYS: readonly string[] = ['dropout', 'seed', ...WHERE_IT_RUNS];
/** A model.json of a recurrent model is a few kilobytes; this bounds what a hostile one can make us parse. */
const JSON_LIMITS = { maxDepth: 64, maxContainers: 1_000_000 };

/**
 * A model from a TensorFlow.js / Keras `model.json`: an optional Embedding, SimpleRNN / LSTM / GRU layers (or a
 * Bidirectional of one, any merge mode but none), an optional Dense with its activation, and Dropout layers,
 * in a Sequential or a chain of a Functional model. `weights` are the bytes of its shards in the manifest's
 * order (one buffer, or one per shard); omitted, they are read beside a model.json given by path or URL, as
 * `tf.loadLayersModel` does. Throws UnsupportedError naming the layer and what it uses that this library has no
 * counterpart for, FormatError for a file that is not a well-formed model.json or whose weights do not fit it.
 */
export async function fromTFJS(
  model: TFJSModelSource,
  weights?: FileSource | readonly FileSource[],
  options: TFJSOptions = {},
): Promise<RNN> {
  if (options === null || typeof options !== 'object') throw new OptionError('fromTFJS: options must be an object');
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) throw new OptionError(`fromTFJS: unknown option '${key}' (known: ${OPTION_KEYS.join(', ')})`);
  }
  const { json, location } = await readModel(model);
  const bytes = await readWeights(json, weights, location);
  const { options: architecture, parameters } = importTFJS(json, bytes);
  let net: RNN;
  try {
    net = await RNN.create({ ...architecture, ...options });
  } catch (error) {
    // The architecture is the file's: what RNN.create refuses in it is the file's mistake.
    if (error instanceof OptionError && !Object.keys(options).length) throw new FormatError(`fromTFJS: ${error.message}`);
    throw error;
  }
  try {
    net.loadStateDict(Object.fromEntries(parameters));
    return net;
  } catch (error) {
    net.dispose();
    throw error;
  }
}

async function readModel(model: TFJSModelSource): Promise<{ json: unknown; location: string | URL | null }> {
  if (typeof model === 'string' && model.trimStart().startsWith('{')) return { json: parse(model), location: null };
  if (typeof model === 'string' || model instanceof URL) {
    const text = new TextDecoder('utf-8', { fatal: false }).decode(await readSource(model, 'fromTFJS'));
    return { json: parse(text), location: model };
  }
  if (model === null || typeof model !== 'object' || ArrayBuffer.isView(model) || model instanceof ArrayBuffer) {
    throw new OptionError('fromTFJS: expected the parsed model.json, its text, or its path or URL');
  }
  return { json: model, location: null };
}

function parse(text: string): unknown {
  return parseJson(text, 'fromTFJS: model.json', JSON_LIMITS);
}

/** The shards laid end to end: given, or read beside the model.json by the manifest's paths. */
async function readWeights(
  json: unknown,
  weights: FileSource | readonly FileSource[] | undefined,
  location: string | URL | null,
): Promise<Uint8Array> {
  let shards: Uint8Array[];
  if (weights !== undefined) {
    const list = Array.isArray(weights) ? weights : [weights as FileSource];
    shards = await Promise.all(list.map((w) => readSource(w, 'fromTFJS: weights')));
  } else {
    if (location === null) {
      throw new OptionError("fromTFJS: give the weights' bytes, or the model.json's path or URL so that they can be read beside it");
    }
    shards = await Promise.all(shardPaths(json).map((path) => readSource(beside(location, path), 'fromTFJS: weights')));
  }
  if (shards.length === 1) return shards[0];
  const all = new Uint8Array(shards.reduce((n, s) => n + s.byteLength, 0));
  let at = 0;
  for (const s of shards) {
    all.set(s, at);
    at += s.byteLength;
  }
  return all;
}

/** The manifest's shard paths in order; each must be a file beside the model.json (no '..', no absolute path, no URL). */
function shardPaths(json: unknown): string[] {
  const groups = (json as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(groups)) throw new FormatError('fromTFJS: model.json has no weightsManifest (a list of weight groups)');
  const paths = groups.flatMap((g) => ((g as { paths?: unknown } | null)?.paths as unknown[]) ?? []);
  for (const p of paths) {
    if (typeof p !== 'string' || !p || p.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(p) || p.split(/[\\/]/).includes('..')) {
      throw new FormatError(`fromTFJS: the weights manifest names the shard ${JSON.stringify(p)}, which is not a file beside model.json`);
    }
  }
  return paths as string[];
}

function beside(location: string | URL, path: string): string | URL {
  const url = asUrl(location);
  if (url) return new URL(path, url);
  const folder = String(location);
  const slash = Math.max(folder.lastIndexOf('/'), folder.lastIndexOf('\\'));
  return slash < 0 ? path : `${folder.slice(0, slash + 1)}${path}`;
}
