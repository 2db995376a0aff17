/**
 * Hostile and broken .onnx files: seeded mutations of every fixture graph (truncated, bit-flipped, overwritten,
 * a length varint rewritten to lie) and hand-made malicious ones (huge dims, deep nesting, a cycle, lengths past
 * the end). Every attempt must end in a model or an RnnError with a one-line message, quickly.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FormatError, RnnError, UnsupportedError } from '../src/index.js';
import { DTYPE } from '../src/io/onnx/messages.js';
import { encodeModel } from '../src/io/onnx/messages-out.js';
import { ProtoWriter } from '../src/io/onnx/protobuf.js';
import { fromONNX } from '../src/onnx.js';
import { Random } from '../src/random.js';
import { MODELS, fixtureFolders } from './fixture-folders.js';
import { recurrentGraph } from './onnx-graphs.js';

const CASE_MS = 2000;
const random = new Random(20261201);
const tally = { loaded: 0, refused: 0 };
let slowest = { ms: 0, what: '' };

const folders = fixtureFolders('MODEL_FIXTURES', MODELS);
const files = folders.flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.onnx'))
    .sort()
    .map((f) => readFileSync(join(dir, f))),
);
const bases = [...files, recurrentGraph()];

async function attempt(what: string, bytes: Uint8Array): Promise<unknown> {
  const start = performance.now();
  let outcome: unknown;
  try {
    const net = await fromONNX(bytes, { backend: 'js' });
    net.dispose();
    tally.loaded++;
    outcome = net;
  } catch (error) {
    if (!(error instanceof RnnError)) throw new Error(`${what}: threw ${String(error)}, not an RnnError`, { cause: error });
    const m = error.message;
    expect(
      m.length > 15 && m.length < 1000 && !m.includes('\n') && !/undefined|\[object /.test(m),
      `${what}: message ${JSON.stringify(m)}`,
    ).toBe(true);
    tally.refused++;
    outcome = error;
  }
  const ms = performance.now() - start;
  expect(ms, `${what}: milliseconds`).toBeLessThan(CASE_MS);
  if (ms > slowest.ms) slowest = { ms, what };
  return outcome;
}

const pick = <T>(items: readonly T[]): T => items[random.int(items.length)];

describe('fuzz: mutated ONNX files', () => {
  it('truncated at random lengths', async () => {
    for (const bytes of bases) {
      for (let k = 0; k < 40; k++) await attempt(`truncated`, bytes.subarray(0, random.int(bytes.length)));
    }
  });

  it('bit flips and overwritten bytes', async () => {
    for (let i = 0; i < 1000; i++) {
      const bytes = pick(bases).slice();
      if (random.next() < 0.5) {
        for (let k = 1 + random.int(4); k > 0; k--) bytes[random.int(bytes.length)] ^= 1 << random.int(8);
      } else {
        const at = random.int(bytes.length);
        for (let k = 0; k < 1 + random.int(8) && at + k < bytes.length; k++) bytes[at + k] = random.int(256);
      }
      await attempt(`case ${i}`, bytes);
    }
  });

  it('a byte replaced by a long varint that claims a huge length', async () => {
    for (let i = 0; i < 400; i++) {
      const base = pick(bases);
      const at = random.int(base.length);
      const lie = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f);
      const bytes = new Uint8Array(base.length + lie.length - 1);
      bytes.set(base.subarray(0, at));
      bytes.set(lie, at);
      bytes.set(base.subarray(at + 1), at + lie.length);
      await attempt(`lie at ${at}`, bytes);
    }
  });
});

describe('hand-made malicious ONNX files', () => {
  const graph = (build: (g: ProtoWriter) => void, opset = 14) =>
    new ProtoWriter()
      .int(1, 8)
      .message(7, build)
      .message(8, (w) => w.string(1, '').int(2, opset))
      .finish();
  const cases: [string, Uint8Array, RegExp][] = [
    ['an empty file', new Uint8Array(0), /the file is empty/],
    ['text', new TextEncoder().encode('not a model at all'), /ONNX: /],
    [
      'a graph length past the end',
      Uint8Array.of(0x3a, 0xff, 0xff, 0xff, 0xff, 0x07, 1, 2),
      /a length of 2147483647 bytes, but only 2 are left/,
    ],
    ['a varint of eleven bytes', Uint8Array.of(0x08, ...Array(11).fill(0xff)), /a varint longer than 10 bytes/],
    ['groups', Uint8Array.of(0x0b), /wire type 3/],
    ['no graph', new ProtoWriter().int(1, 8).finish(), /the model has no graph/],
    [
      'an initializer of 2⁴⁰ elements',
      graph((g) =>
        g.message(5, (t) =>
          t
            .packedInts(1, [2 ** 20, 2 ** 20])
            .int(2, DTYPE.FLOAT)
            .string(8, 'w'),
        ),
      ),
      /tensor "w" of shape \[1048576, 1048576\] has more than 2147483648 elements/,
    ],
    [
      'an initializer whose bytes do not fill its dims',
      graph((g) => g.message(5, (t) => t.packedInts(1, [4]).int(2, DTYPE.FLOAT).string(8, 'w').bytes(9, new Uint8Array(8)))),
      /tensor "w" of shape \[4\] needs 16 bytes of raw_data, but holds 8/,
    ],
    [
      'a negative dim',
      graph((g) => g.message(5, (t) => t.packedInts(1, [-3]).int(2, DTYPE.FLOAT).string(8, 'w'))),
      /has a dimension of -3/,
    ],
    [
      'ConstantOfShape of 10¹⁸',
      encodeModel({
        opset: 14,
        producer: 't',
        graphName: 'g',
        initializers: [{ name: 's', dtype: DTYPE.INT64, dims: [2], data: [1e9, 1e9] }],
        nodes: [{ opType: 'ConstantOfShape', name: 'huge', inputs: ['s'], outputs: ['z'] }],
        inputs: [{ name: 'x', elemType: DTYPE.FLOAT, dims: [3, 2, 2] }],
        outputs: [{ name: 'z', elemType: DTYPE.FLOAT, dims: [] }],
      }),
      /node "huge" \(ConstantOfShape\): a tensor of shape \[1000000000, 1000000000\], more than/,
    ],
    [
      'a first input of 10¹² elements',
      encodeModel({
        opset: 14,
        producer: 't',
        graphName: 'g',
        initializers: [],
        nodes: [],
        inputs: [{ name: 'x', elemType: DTYPE.INT64, dims: [1e6, 1e6] }],
        outputs: [{ name: 'x', elemType: DTYPE.FLOAT, dims: [] }],
      }),
      /export with a smaller example input/,
    ],
    [
      'a cycle',
      encodeModel({
        opset: 14,
        producer: 't',
        graphName: 'g',
        initializers: [],
        nodes: [
          { opType: 'Identity', name: 'a', inputs: ['b'], outputs: ['c'] },
          { opType: 'Identity', name: 'b', inputs: ['c'], outputs: ['b'] },
        ],
        inputs: [{ name: 'x', elemType: DTYPE.INT64, dims: [3, 2] }],
        outputs: [{ name: 'c', elemType: DTYPE.FLOAT, dims: [] }],
      }),
      /node "a" \(Identity\): input "b" is not computed before this node/,
    ],
    [
      'a value computed twice',
      encodeModel({
        opset: 14,
        producer: 't',
        graphName: 'g',
        initializers: [],
        nodes: [
          { opType: 'Identity', name: 'a', inputs: ['x'], outputs: ['y'] },
          { opType: 'Identity', name: 'b', inputs: ['x'], outputs: ['y'] },
        ],
        inputs: [{ name: 'x', elemType: DTYPE.INT64, dims: [3, 2] }],
        outputs: [{ name: 'y', elemType: DTYPE.FLOAT, dims: [] }],
      }),
      /output "y" is computed twice/,
    ],
    [
      'subgraphs nested three thousand deep',
      (() => {
        let body = new ProtoWriter().string(2, 'leaf').finish();
        for (let k = 0; k < 3000; k++) {
          const inner = body;
          body = new ProtoWriter()
            .message(1, (n) => n.string(4, 'If').message(5, (a) => a.string(1, 'then_branch').bytes(6, inner)))
            .finish();
        }
        return graph((g) => {
          g.message(1, (n) =>
            n
              .string(3, 'deep')
              .string(4, 'If')
              .message(5, (a) => a.string(1, 'then_branch').bytes(6, body)),
          );
          g.message(11, (v) =>
            v.string(1, 'x').message(2, (t) =>
              t.message(1, (tt) =>
                tt.int(1, 7).message(2, (s) => {
                  s.message(1, (d) => d.int(1, 3));
                  s.message(1, (d) => d.int(1, 2));
                }),
              ),
            ),
          );
          g.message(12, (v) => v.string(1, 'y'));
        });
      })(),
      /node "deep" \(If\): this op is not supported/,
    ],
  ];
  it.each(cases)('%s', async (what, bytes, message) => {
    const outcome = await attempt(what, bytes);
    expect(outcome).toBeInstanceOf(FormatError);
    expect((outcome as Error).message).toMatch(message);
  });

  it('unsupported is a FormatError too', () => {
    expect(new UnsupportedError('x')).toBeInstanceOf(FormatError);
  });
});

afterAll(() => {
  console.log(
    `onnx fuzz: ${tally.loaded + tally.refused} loads, ${tally.refused} refused; slowest ${slowest.ms.toFixed(1)} ms (${slowest.what.slice(0, 60)})`,
  );
  expect(tally.loaded + tally.refused).toBeGreaterThan(1500);
});
