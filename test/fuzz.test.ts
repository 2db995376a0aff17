/**
 * Hostile and broken files against every loader: thousands of seeded mutations of good files (truncated,
 * bit-flipped, overwritten, their headers rewritten) and a list of hand-made malicious ones. Every attempt
 * must end in a model or in a typed error (an RnnError) whose message names the problem on one readable
 * line, quickly; nothing may throw anything else, hang or allocate from a size a file merely claims. And a
 * model that refuses a state dict keeps the weights it had.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { FormatError, NonFiniteError, RNN, RnnError, StateDictError, type Tensor, VersionError } from '../src/index.js';
import { parseSafetensors, readFloat32 } from '../src/io/safetensors.js';
import { Random } from '../src/random.js';
import { collectGarbage } from './gc.js';

/**
 * Every case must finish within this: files of a few kilobytes take well under a millisecond, so this is
 * generous for a loaded CI machine. The few cases of megabytes (a 5 MB header, a million dimensions) get
 * HUGE_MS: linear work fits many times over, anything quadratic in a file's size or a wait does not.
 */
const CASE_MS = 2000;
const HUGE_MS = 10_000;

const random = new Random(20261125);
const memoryBefore = collectGarbage();
let slowest = { ms: 0, what: '' };
const tally = { loaded: 0, refused: 0 };

type Outcome = RNN | RnnError;

/** Runs one load; anything but a model or an RnnError with a proper message fails the test. */
async function attempt(what: string, load: () => Promise<RNN>, limit = CASE_MS): Promise<Outcome> {
  const start = performance.now();
  let outcome: Outcome;
  try {
    outcome = await load();
    outcome.dispose();
    tally.loaded++;
  } catch (error) {
    if (!(error instanceof RnnError)) throw new Error(`${what}: threw ${String(error)}, not an RnnError`, { cause: error });
    const m = error.message;
    expect(
      m.length > 20 && m.length < 1000 && !m.includes('\n') && !/undefined|\[object /.test(m),
      `${what}: message ${JSON.stringify(m)}`,
    ).toBe(true);
    outcome = error;
    tally.refused++;
  }
  const ms = performance.now() - start;
  expect(ms, `${what}: milliseconds`).toBeLessThan(limit);
  if (limit === CASE_MS && ms > slowest.ms) slowest = { ms, what };
  return outcome;
}

/** The good files every mutation starts from: weights, checkpoints and JSON of three small, trained models. */
const models = await Promise.all([
  RNN.create({
    cell: 'rnn',
    inputSize: 3,
    hiddenSize: 4,
    numLayers: 2,
    bidirectional: true,
    nonlinearity: 'relu',
    outputSize: 2,
    seed: 1,
    backend: 'js',
  }),
  RNN.create({ cell: 'lstm', inputSize: 2, hiddenSize: 3, outputSize: 1, seed: 2, backend: 'js' }),
  RNN.create({ cell: 'gru', inputSize: 2, hiddenSize: 3, numLayers: 2, bias: false, seed: 3, backend: 'js' }),
]);
for (const net of models) {
  const O = net.config.outputSize || net.config.hiddenSize * (net.config.bidirectional ? 2 : 1);
  net.step(
    { data: new Float32Array(2 * net.config.inputSize).fill(0.5), shape: [2, 1, net.config.inputSize] },
    { data: new Float32Array(2 * O).fill(0.1), shape: [2, 1, O] },
    { optimizer: { kind: 'adam', lr: 0.01 } },
  );
}
const binaries = models.flatMap((net) => [net.toSafetensors(), net.save()]);
const texts = models.map((net) => JSON.stringify(net));

const limitFor = (size: number) => (size > 1_000_000 ? HUGE_MS : CASE_MS);
const loadBinary = async (bytes: Uint8Array, what: string) => [
  await attempt(`fromSafetensors(${what})`, () => RNN.fromSafetensors(bytes, { backend: 'js' }), limitFor(bytes.length)),
  await attempt(`load(${what})`, () => RNN.load(bytes, { backend: 'js' }), limitFor(bytes.length)),
];
const loadText = (text: string, what: string) =>
  attempt(`fromJSON(${what})`, () => RNN.fromJSON(text, { backend: 'js' }), limitFor(text.length));

/** A file with this header text (its length set to match) and data section. */
function withHeader(header: string, data: Uint8Array = new Uint8Array(0), length?: bigint): Uint8Array {
  const json = new TextEncoder().encode(header);
  const bytes = new Uint8Array(8 + json.length + data.length);
  new DataView(bytes.buffer).setBigUint64(0, length ?? BigInt(json.length), true);
  bytes.set(json, 8);
  bytes.set(data, 8 + json.length);
  return bytes;
}

function split(bytes: Uint8Array): { header: string; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: new TextDecoder().decode(bytes.subarray(8, 8 + n)), data: bytes.subarray(8 + n) };
}

const pick = <T>(items: readonly T[]): T => items[random.int(items.length)];

/** Replacements for a number in a header or JSON text: the sizes and offsets an attacker would try. */
const NUMBERS = [
  '0',
  '-1',
  '1.5',
  '1e400',
  '4294967296',
  '9007199254740993',
  '18446744073709551616',
  '99999999999',
  '3',
  '"7"',
  'null',
  '[]',
];
const TOKENS = ['{', '}', '[', ']', '"', ':', ',', '\\', '\u0000', 'é', ' ', 'NaN', 'true'];
const DTYPES = ['F16', 'BF16', 'F64', 'I64', 'U8', 'BOOL', 'F128', '', 'f32', 'F8_E4M3'];

/** One random edit of JSON text: a number, a dtype, a key, a character or a range changed. */
function mutateText(text: string): string {
  const at = random.int(text.length);
  switch (random.int(6)) {
    case 0: {
      // a number
      const numbers = [...text.matchAll(/-?\d+(\.\d+)?(e[+-]?\d+)?/gi)];
      if (!numbers.length) return text.slice(0, at);
      const m = pick(numbers);
      return text.slice(0, m.index) + pick(NUMBERS) + text.slice(m.index! + m[0].length);
    }
    case 1: {
      // a dtype
      return text.replace(/"F32"/, JSON.stringify(pick(DTYPES)));
    }
    case 2: {
      // a member repeated: duplicate names
      const m = pick([...text.matchAll(/"[^"]+":\{[^{}]*\}/g)]);
      return m ? `${text.slice(0, m.index)}${m[0]},${m[0]}${text.slice(m.index! + m[0].length)}` : text;
    }
    case 3: // a character replaced
      return text.slice(0, at) + pick(TOKENS) + text.slice(at + 1);
    case 4: // a range deleted
      return text.slice(0, at) + text.slice(at + 1 + random.int(40));
    default: // cut short
      return text.slice(0, at);
  }
}

describe('fuzz', () => {
  it('truncated files: every length of every base file', async () => {
    for (const bytes of binaries) {
      for (let n = 0; n < bytes.length; n += 1 + random.int(7)) await loadBinary(bytes.subarray(0, n), `first ${n} bytes`);
    }
    for (const text of texts) {
      for (let n = 0; n < text.length; n += 1 + random.int(60)) await loadText(text.slice(0, n), `first ${n} characters`);
    }
  });

  it('bit flips and overwritten bytes, mostly in the header', async () => {
    for (let i = 0; i < 1200; i++) {
      const base = pick(binaries);
      const bytes = base.slice();
      const headerEnd = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
      const where = () => (random.next() < 0.7 ? random.int(headerEnd) : random.int(bytes.length));
      if (random.next() < 0.6) {
        for (let k = 1 + random.int(4); k > 0; k--) bytes[where()] ^= 1 << random.int(8);
      } else {
        const at = where();
        for (let k = 0; k < 1 + random.int(16) && at + k < bytes.length; k++) bytes[at + k] = random.int(256);
      }
      await loadBinary(bytes, `case ${i}`);
    }
  });

  it('rewritten headers (numbers, dtypes, duplicate names, stray tokens) with a length that matches', async () => {
    for (let i = 0; i < 1200; i++) {
      const { header, data } = split(pick(binaries));
      let edited = header.trimEnd();
      for (let k = 1 + random.int(3); k > 0; k--) edited = mutateText(edited);
      await loadBinary(withHeader(edited, data), `case ${i}: ${edited.slice(0, 80)}`);
    }
  });

  it('rewritten JSON checkpoints', async () => {
    for (let i = 0; i < 1200; i++) {
      let text = pick(texts);
      for (let k = 1 + random.int(3); k > 0; k--) text = mutateText(text);
      await loadText(text, `case ${i}`);
    }
  });

  it('a refused state dict leaves the weights as they were', async () => {
    const net = await RNN.create({ cell: 'lstm', inputSize: 2, hiddenSize: 3, numLayers: 2, outputSize: 1, seed: 9, backend: 'js' });
    const file = parseSafetensors(net.toSafetensors());
    const names = file.tensors.map((t) => t.name);
    let refused = 0;
    for (let i = 0; i < 600; i++) {
      // A state dict as a file gives it, with one of the faults a file can have.
      const dict: Record<string, Tensor> = Object.fromEntries(
        file.tensors.map((t) => {
          const data = readFloat32(file, t).map(() => random.uniform(-1, 1));
          return [t.name, { shape: t.shape, data }];
        }),
      );
      const name = pick(names);
      const t = dict[name];
      switch (random.int(6)) {
        case 0:
          t.data[random.int(t.data.length)] = pick([NaN, Infinity, -Infinity]);
          break;
        case 1:
          dict[name] = { shape: [...t.shape, 1], data: t.data };
          break;
        case 2:
          dict[name] = { shape: t.shape.map((d) => d + 1), data: new Float32Array(t.shape.reduce((n, d) => n * (d + 1), 1)) };
          break;
        case 3:
          delete dict[name];
          break;
        case 4:
          dict[`${name}x`] = t;
          break;
        default:
          break; // a good one: the weights change, and later refusals must keep these
      }
      const before = net.stateDict();
      try {
        net.loadStateDict(dict);
      } catch (error) {
        expect(error).toBeInstanceOf(RnnError);
        expect(net.stateDict()).toEqual(before);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(400);
  });
});

describe('hand-made malicious files', () => {
  const tensor = (shape: number[], begin: number, end: number, dtype = 'F32') => ({ dtype, shape, data_offsets: [begin, end] });
  const header = (entries: Record<string, unknown>) => JSON.stringify(entries);
  const data = (n: number) => new Uint8Array(n);
  const binary: [string, Uint8Array, RegExp][] = [
    ['an empty file', new Uint8Array(0), /the file is 0 bytes, too short for the 8-byte header length/],
    [
      'a header length of 2⁶⁴ − 1',
      withHeader('{}', data(0), 2n ** 64n - 1n),
      /the header length is 18446744073709551615 bytes, but only 2 bytes follow it/,
    ],
    ['a header length of 2⁵³ + 1', withHeader('{}', data(0), 2n ** 53n + 1n), /the header length is 9007199254740993 bytes/],
    ['a header length one past the end', withHeader('{}', data(0), 3n), /the header length is 3 bytes, but only 2 bytes follow it/],
    ['a header length of 0', withHeader('', data(4)), /expected a JSON value, found the end of the text/],
    ['a header that is not JSON', withHeader('safetensors'), /expected a JSON value, found "safetensors"/],
    ['a header that is an array', withHeader('[1]'), /the header must be a JSON object, got an array/],
    [
      'a header that is not UTF-8',
      (() => {
        const b = withHeader('{"a":1}');
        b[10] = 0xff;
        return b;
      })(),
      /the header is not valid UTF-8/,
    ],
    ['deeply nested JSON', withHeader(`{"a":${'['.repeat(100_000)}`), /nested deeper than 4 levels/],
    [
      'duplicate names',
      withHeader(`{"w":${JSON.stringify(tensor([1], 0, 4))},"w":${JSON.stringify(tensor([1], 4, 8))}}`, data(8)),
      /duplicate key "w"/,
    ],
    [
      'an unknown dtype',
      withHeader(header({ w: tensor([1], 0, 16, 'F128') }), data(16)),
      /unknown dtype "F128" \(safetensors dtypes: BOOL/,
    ],
    [
      'offsets past the end',
      withHeader(header({ w: tensor([2], 0, 8) }), data(4)),
      /data_offsets \[0, 8\] run past the end of the data section \(4 bytes\)/,
    ],
    [
      'offsets far past the end',
      withHeader(header({ w: tensor([1], 2 ** 52, 2 ** 52 + 4) }), data(4)),
      /run past the end of the data section/,
    ],
    [
      'offsets backwards',
      withHeader(header({ w: tensor([1], 4, 0) }), data(4)),
      /data_offsets must be \[begin, end\] with 0 ≤ begin ≤ end, got \[4,0\]/,
    ],
    [
      'overlapping tensors',
      withHeader(header({ a: tensor([2], 0, 8), b: tensor([2], 4, 12) }), data(12)),
      /tensors "a" and "b" overlap \(data bytes 4–8\)/,
    ],
    [
      'a gap between tensors',
      withHeader(header({ a: tensor([1], 0, 4), b: tensor([1], 8, 12) }), data(12)),
      /data bytes 4–8 belong to no tensor \(a gap before "b"\)/,
    ],
    ['trailing bytes', withHeader(header({ a: tensor([1], 0, 4) }), data(1000)), /the data section is 1000 bytes but the tensors cover 4/],
    [
      'a shape whose product overflows',
      withHeader(header({ w: tensor([2 ** 31, 2 ** 31, 2 ** 31, 2 ** 31], 0, 16) }), data(16)),
      /shape \[2147483648, 2147483648, 2147483648, 2147483648\] of F32 needs more than 2⁵³ bytes; its data_offsets \[0, 16\] hold 16/,
    ],
    [
      'a shape of 2⁵³ − 1',
      withHeader(header({ w: tensor([2 ** 53 - 1], 0, 16) }), data(16)),
      /shape \[9007199254740991\] of F32 needs more than 2⁵³ bytes/,
    ],
    [
      'a shape that disagrees with its bytes',
      withHeader(header({ w: tensor([2, 3], 0, 16) }), data(16)),
      /shape \[2, 3\] of F32 needs 24 bytes, but its data_offsets \[0, 16\] hold 16/,
    ],
    ['a negative dimension', withHeader(header({ w: tensor([-1], 0, 0) })), /shape must be an array of non-negative integers, got \[-1\]/],
    ['a fractional dimension', withHeader(header({ w: tensor([1.5], 0, 0) })), /non-negative integers, got \[1.5\]/],
    [
      'a million dimensions',
      withHeader(`{"w":{"dtype":"F32","shape":[${'1,'.repeat(1_000_000)}1],"data_offsets":[0,8]}}`, data(8)),
      /shape \[1, 1, 1, 1, 1, 1, 1, 1, …\] \(1000001 dimensions\) of F32 needs 4 bytes, but its data_offsets \[0, 8\] hold 8/,
    ],
    ['metadata that is not strings', withHeader('{"__metadata__":{"format":1}}'), /__metadata__ "format" must be a string, got number "1"/],
    ['an unknown field', withHeader(header({ w: { ...tensor([1], 0, 4), extra: 1 } }), data(4)), /tensor "w" has an unknown field "extra"/],
    [
      'a name of a megabyte',
      withHeader(header({ ['n'.repeat(1 << 20)]: tensor([1], 0, 4, 'X') }), data(4)),
      /tensor "nnnnn[^"]*…": unknown dtype "X"/,
    ],
  ];
  it.each(binary)('%s', async (what, bytes, message) => {
    for (const outcome of await loadBinary(bytes, what)) {
      expect(outcome).toBeInstanceOf(FormatError);
      expect((outcome as Error).message).toMatch(message);
    }
  });

  /** Weights files that parse but do not make a model. */
  const weights = (entries: Record<string, [number[], number[]?, string?]>) => {
    let at = 0;
    const chunks: Uint8Array[] = [];
    // Built from entries, never by assignment: `described['__proto__'] = …` would set a prototype.
    const described = Object.fromEntries(
      Object.entries(entries).map(([name, [shape, values, dtype = 'F32']]) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const bytes = dtype === 'F32' ? new Uint8Array(Float32Array.from(values ?? Array(n).fill(0.5)).buffer) : new Uint8Array(n * 4);
        chunks.push(bytes);
        at += bytes.length;
        return [name, tensor(shape, at - bytes.length, at, dtype)];
      }),
    );
    const all = new Uint8Array(at);
    let offset = 0;
    for (const c of chunks) {
      all.set(c, offset);
      offset += c.length;
    }
    return withHeader(JSON.stringify(described), all);
  };
  const rnn = { weight_ih_l0: [[2, 1]], weight_hh_l0: [[2, 2]] } as Record<string, [number[]]>;
  const models: [string, Uint8Array, RegExp, new (m: string) => Error][] = [
    [
      'a NaN weight',
      weights({
        ...rnn,
        weight_hh_l0: [
          [2, 2],
          [0, NaN, 0, 0],
        ],
      }),
      /tensor "weight_hh_l0" element 1 is NaN/,
      NonFiniteError,
    ],
    [
      'an infinite weight',
      weights({
        ...rnn,
        weight_ih_l0: [
          [2, 1],
          [Infinity, 0],
        ],
      }),
      /tensor "weight_ih_l0" element 0 is Infinity/,
      NonFiniteError,
    ],
    [
      'integer weights',
      weights({ ...rnn, weight_hh_l0: [[2, 2], undefined, 'I32'] }),
      /tensor "weight_hh_l0" is I32; weights must be a float dtype \(F32, F16, BF16, F64\)/,
      FormatError,
    ],
    ['a layer index of 10¹¹', weights({ ...rnn, weight_hh_l99999999999: [[2, 2]] }), /layer 1 is missing/, StateDictError],
    ['a tensor named __proto__', weights({ ...rnn, ['__proto__']: [[1]] }), /unexpected tensor "__proto__"/, StateDictError],
    // More tensors than any model has: refused while the header is parsed, before anything is built per tensor.
    [
      'a hundred thousand empty tensors',
      weights(Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`t${i}`, [[0]]]))),
      /more than \d+ objects and arrays/,
      FormatError,
    ],
  ];
  it.each(models)('%s', async (what, bytes, message, type) => {
    const outcome = await attempt(what, () => RNN.fromSafetensors(bytes, { backend: 'js' }), limitFor(bytes.length));
    expect(outcome).toBeInstanceOf(type);
    expect((outcome as Error).message).toMatch(message);
    expect(({} as Record<string, unknown>).dtype, 'no prototype was polluted').toBeUndefined();
  });

  const good = JSON.parse(texts[1]);
  const json: [string, string, RegExp, new (m: string) => Error][] = [
    ['empty text', '', /expected a JSON value, found the end of the text \(at character 0\)/, FormatError],
    ['a million nested arrays', '['.repeat(1_000_000), /nested deeper than 16 levels/, FormatError],
    ['a million nested objects', '{"a":'.repeat(1_000_000), /nested deeper than 16 levels/, FormatError],
    ['two hundred thousand arrays', `[${'[],'.repeat(200_000)}[]]`, /more than 100000 objects and arrays/, FormatError],
    ['a string of ten megabytes', `"${'x'.repeat(10_000_000)}"`, /expected a model's JSON object or its text, got "xxx/, FormatError],
    ['a duplicate key', '{"format":"rnn-wasm","format":"other"}', /duplicate key "format" \(at character 21\)/, FormatError],
    ['NaN', '{"format":NaN}', /expected a JSON value, found "NaN}"/, FormatError],
    ['trailing text', `${texts[1]} x`, /unexpected "x" after the end of the JSON value/, FormatError],
    ['an unterminated string', '{"format', /unterminated string/, FormatError],
    ['a bad escape', '{"form\\at":1}', /bad escape "\\\\a" in a string/, FormatError],
    ['a raw control character', '{"a\u0001":1}', /control character U\+0001 inside a string/, FormatError],
    [
      'a number out of range',
      JSON.stringify({ ...good, parameters: { ...good.parameters, 'head.bias': { shape: [1], data: [0] } } }).replace(
        '"data":[0]',
        '"data":[1e999]',
      ),
      /element 0 is Infinity/,
      NonFiniteError,
    ],
    [
      'a shape of 10¹⁸ over one value',
      JSON.stringify({ ...good, parameters: { ...good.parameters, 'head.bias': { shape: [1e9, 1e9], data: [0] } } }),
      /does not hold the 1 values of data/,
      FormatError,
    ],
    ['a newer version', JSON.stringify({ ...good, version: 99 }), /newer rnn-wasm, in format version 99/, VersionError],
    [
      'a huge model in the configuration',
      JSON.stringify({ ...good, config: { ...good.config, hiddenSize: 50_000, numLayers: 8 } }),
      /should have shape \[200000, 2\], got \[12, 2\]/,
      RnnError,
    ],
    [
      '__proto__ as a parameter',
      JSON.stringify(good).replace('"parameters":{', '"parameters":{"__proto__":{"shape":[1],"data":[1]},'),
      /unexpected tensor "__proto__"/,
      StateDictError,
    ],
  ];
  it.each(json)('JSON: %s', async (what, text, message, type) => {
    const outcome = await loadText(text, what);
    expect(outcome).toBeInstanceOf(type);
    expect((outcome as Error).message).toMatch(message);
  });
});

afterAll(() => {
  const after = collectGarbage();
  const grew = (after.heapUsed + after.arrayBuffers - memoryBefore.heapUsed - memoryBefore.arrayBuffers) / 2 ** 20;
  console.log(
    `fuzz: ${tally.loaded + tally.refused} loads, ${tally.refused} refused; slowest ${slowest.ms.toFixed(1)} ms (${slowest.what.slice(0, 60)}); heap grew ${grew.toFixed(1)} MB`,
  );
  expect(tally.loaded + tally.refused).toBeGreaterThan(5000);
  expect(grew).toBeLessThan(64);
});
