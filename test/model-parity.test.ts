/**
 * Text models as PyTorch users write them (nn.Embedding → RNN/LSTM/GRU → nn.Linear, under the author's module
 * names), on every backend: the forward through `loadStateDict`, the loss and every gradient, every optimizer
 * step of a trajectory, the same forward through `RNN.fromSafetensors` with no names given, the
 * `toSafetensors` round trip, and greedy generation word for word. Cases come from the folders in MODEL_FIXTURES
 * (':'-separated, resolved against the repository root; default test/fixtures/models-shared, a copy of
 * ../shared/fixtures/models, and test/fixtures/models, this repository's own). A folder that is missing or holds
 * no case is an error; nothing is skipped.
 * PARITY_EVIDENCE=1 prints the largest difference per case, backend and kind.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as lib from '../src/index.js';
import { type OptimizerOptions, RNN, type RNNOptions, type SafetensorsOptions, type Tensor } from '../src/index.js';
import { MODELS, fixtureFolders } from './fixture-folders.js';
import { BACKENDS, expectClose } from './helpers.js';

interface JsonTensor {
  shape: number[];
  data: number[];
}
interface ModelCase {
  id: string;
  modules: {
    embedding: { name: string; num_embeddings: number; embedding_dim: number; padding_idx: number | null };
    rnn: {
      name: string;
      module: 'RNN' | 'LSTM' | 'GRU';
      input_size: number;
      hidden_size: number;
      num_layers: number;
      nonlinearity: 'tanh' | 'relu' | null;
      bidirectional: boolean;
      batch_first: boolean;
    };
    head: { name: string; in_features: number; out_features: number; on: 'steps' | 'final'; tied_to: string | null };
  };
  state_dict: Record<string, JsonTensor>;
  safetensors_keys: string[];
  input_ids: JsonTensor;
  lengths: number[] | null;
  expected: { logits: JsonTensor; log_probs: JsonTensor; output: JsonTensor; h_n: JsonTensor; c_n: JsonTensor | null };
  loss: { kind: 'cross_entropy'; target: JsonTensor; value: number };
  grads: Record<string, JsonTensor>;
  train?: {
    optimizer: Record<string, unknown> & { kind: string; lr: number };
    clip_grad_norm: number | null;
    steps: { loss: number; grad_norm: number; state_dict_after: Record<string, JsonTensor> }[];
  };
  generate?: { prompt: JsonTensor | number[]; steps: number; expected: JsonTensor | number[] };
}

// ---- the API this suite is written against, where src/ does not declare it yet (narrow, local casts) ----------

/** RNN.create's options for a model over token ids: an embedding in front, a head on steps or on final states. */
type TextModelOptions = Omit<RNNOptions, 'inputSize'> & {
  embedding: { numEmbeddings: number; embeddingDim: number; paddingIdx?: number };
  headOn: 'steps' | 'final';
  tieWeights: boolean;
  names: { embedding: string; core: string; head: string };
};
/** RNN.fromSafetensors' options: what the tensors cannot tell. */
type TextSafetensorsOptions = SafetensorsOptions & { headOn: 'steps' | 'final'; paddingIdx?: number };
const { logSoftmax } = lib as unknown as { logSoftmax(t: Tensor): Tensor };

// ---- the cases -----------------------------------------------------------------------------------------------

const folders = fixtureFolders('MODEL_FIXTURES', MODELS);
const cases: { c: ModelCase; dir: string }[] = folders.flatMap((dir) => {
  if (!existsSync(dir)) throw new Error(`MODEL_FIXTURES: the folder ${dir} does not exist`);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  if (files.length === 0) throw new Error(`MODEL_FIXTURES: the folder ${dir} holds no *.json case`);
  return files.map((f) => ({ c: JSON.parse(readFileSync(join(dir, f), 'utf8')) as ModelCase, dir }));
});
const ids = cases.map(({ c }) => c.id);
const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
if (repeated.length > 0) throw new Error(`MODEL_FIXTURES: case ids found twice: ${repeated.join(', ')}`);

/** The evidence: the largest difference seen per case, backend and kind. */
const evidence: string[] = [];

type Backend = (typeof BACKENDS)[number];

function createOptions(c: ModelCase, backend: Backend): TextModelOptions {
  const { embedding: e, rnn: r, head: h } = c.modules;
  return {
    cell: r.module.toLowerCase() as 'rnn' | 'lstm' | 'gru',
    hiddenSize: r.hidden_size,
    numLayers: r.num_layers,
    bidirectional: r.bidirectional,
    ...(r.nonlinearity && { nonlinearity: r.nonlinearity }),
    bias: `${r.name}.bias_ih_l0` in c.state_dict,
    batchFirst: r.batch_first,
    embedding: {
      numEmbeddings: e.num_embeddings,
      embeddingDim: e.embedding_dim,
      ...(e.padding_idx !== null && { paddingIdx: e.padding_idx }),
    },
    outputSize: h.out_features,
    headOn: h.on,
    tieWeights: h.tied_to !== null,
    names: { embedding: e.name, core: r.name, head: h.name },
    backend,
  };
}

async function modelFor(c: ModelCase, backend: Backend): Promise<RNN> {
  const net = await RNN.create(createOptions(c, backend) as unknown as RNNOptions);
  net.loadStateDict(c.state_dict);
  return net;
}

/** What the weights cannot tell, from the case; no names: the parts are found by their structure. */
function safetensorsOptions(c: ModelCase, backend: Backend): TextSafetensorsOptions {
  const { embedding: e, rnn: r, head: h } = c.modules;
  return {
    headOn: h.on,
    ...(r.nonlinearity && { nonlinearity: r.nonlinearity }),
    batchFirst: r.batch_first,
    ...(e.padding_idx !== null && { paddingIdx: e.padding_idx }),
    backend,
  };
}

const idTensor = (t: JsonTensor) => ({ data: Int32Array.from(t.data), shape: t.shape });

/** Options every call over the case's batch shares: its lengths, when it has them. */
const sequenceOptions = (c: ModelCase) => (c.lengths ? { lengths: c.lengths } : {});

/** PyTorch's optimizer record → this library's options: the same names, camelCased; the rest PyTorch's defaults. */
function optimizerOptions(o: Record<string, unknown>): OptimizerOptions {
  const camel = (name: string) => name.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [camel(k), v])) as unknown as OptimizerOptions;
}

/** Every step at or past a sequence's length, in the case's layout: [T, B, F] or [B, T, F]. */
function paddedRows(c: ModelCase, T: number, B: number): number[] {
  const rows: number[] = [];
  if (!c.lengths) return rows;
  for (let b = 0; b < B; b++) {
    for (let t = c.lengths[b]; t < T; t++) rows.push(c.modules.rnn.batch_first ? b * T + t : t * B + b);
  }
  return rows;
}

/** The forward of a case's batch, every tensor PyTorch gave, from a model however it was made. */
function checkForward(net: RNN, c: ModelCase): number {
  const { expected } = c;
  const r = net.unroll(idTensor(c.input_ids), sequenceOptions(c));
  expect(r.y.shape, 'logits shape').toEqual(expected.logits.shape);
  expect(r.output.shape, 'output shape').toEqual(expected.output.shape);
  expect(r.hN.shape, 'h_n shape').toEqual(expected.h_n.shape);
  const logProbs = logSoftmax(r.y);
  expect(logProbs.shape, 'log_probs shape').toEqual(expected.log_probs.shape);
  expect(r.cN === undefined, 'c_n is returned exactly for LSTMs').toBe(expected.c_n === null);
  const maxDiff = Math.max(
    expectClose(r.y.data, expected.logits.data, 'logits'),
    expectClose(logProbs.data, expected.log_probs.data, 'log_probs'),
    expectClose(r.output.data, expected.output.data, 'output'),
    expectClose(r.hN.data, expected.h_n.data, 'h_n'),
    expected.c_n ? expectClose(r.cN!.data, expected.c_n.data, 'c_n') : 0,
  );
  // PyTorch's padded steps are zeros exactly (pad_packed_sequence), not merely small.
  const [d0, d1, F] = expected.output.shape;
  const [T, B] = c.modules.rnn.batch_first ? [d1, d0] : [d0, d1];
  for (const row of paddedRows(c, T, B)) {
    expectZeros(r.output.data.subarray(row * F, (row + 1) * F), `output at padded row ${row}`);
  }
  return maxDiff;
}

/** Every value exactly zero (either sign), failing at the first that is not. */
function expectZeros(values: Float32Array, name: string): void {
  const i = values.findIndex((v) => v !== 0);
  if (i >= 0) expect.fail(`${name}[${i}] = ${values[i]}, expected exactly 0`);
}

/** The tensors of a .safetensors file by name, F32 only (all these files hold). */
function readSafetensors(bytes: Uint8Array): Map<string, { dtype: string; shape: number[]; data: Float32Array }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const tensors = new Map<string, { dtype: string; shape: number[]; data: Float32Array }>();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    expect(t.dtype, `${name}: dtype`).toBe('F32');
    const [begin, end] = t.data_offsets;
    const copy = new Uint8Array(bytes.subarray(8 + headerLength + begin, 8 + headerLength + end)); // a copy, aligned
    tensors.set(name, { dtype: t.dtype, shape: t.shape, data: new Float32Array(copy.buffer, 0, (end - begin) / 4) });
  }
  return tensors;
}

expect(cases.length, `no *.json cases in ${folders.join(', ')}`).toBeGreaterThan(0);

for (const { c, dir } of cases) {
  const file = join(dir, `${c.id}.safetensors`);
  for (const backend of BACKENDS) {
    describe(`${c.id} [${backend}]`, () => {
      const record = (what: string, maxDiff: number) => evidence.push(`${c.id} [${backend}] ${what}: maxdiff ${maxDiff.toExponential(2)}`);
      const tensors = `logits, log_probs, output, h_n${c.expected.c_n ? ', c_n' : ''}`;

      it(`${c.id}: forward through loadStateDict (${tensors})`, async () => {
        const net = await modelFor(c, backend);
        try {
          record('forward', checkForward(net, c));
        } finally {
          net.dispose();
        }
      });

      it(`${c.id}: loss and every gradient (${Object.keys(c.grads).length} tensors)`, async () => {
        const net = await modelFor(c, backend);
        try {
          const g = net.gradients(idTensor(c.input_ids), c.loss.target, { loss: c.loss.kind, ...sequenceOptions(c) });
          let maxDiff = expectClose([g.loss], [c.loss.value], 'loss');
          expect(Object.keys(g.grads).sort(), 'gradients under every state_dict name').toEqual(Object.keys(c.grads).sort());
          for (const [name, expected] of Object.entries(c.grads)) {
            expect(g.grads[name].shape, name).toEqual(expected.shape);
            maxDiff = Math.max(maxDiff, expectClose(g.grads[name].data, expected.data, `grad ${name}`));
          }
          // nn.Embedding's padding row gets no gradient at all (with a tied head, the head's share only): zeros exactly.
          const { name: embedding, padding_idx: pad, embedding_dim: E } = c.modules.embedding;
          if (pad !== null && c.grads[`${embedding}.weight`].data.slice(pad * E, (pad + 1) * E).every((v) => v === 0)) {
            expectZeros(
              g.grads[`${embedding}.weight`].data.subarray(pad * E, (pad + 1) * E),
              `grad ${embedding}.weight padding row ${pad}`,
            );
          }
          record('loss+grads', maxDiff);
        } finally {
          net.dispose();
        }
      });

      if (c.train) {
        const train = c.train;
        const clip = train.clip_grad_norm === null ? '' : `, clip_grad_norm ${train.clip_grad_norm}`;
        it(`${c.id}: training, ${train.steps.length} ${train.optimizer.kind} steps (lr ${train.optimizer.lr}${clip})`, async () => {
          const net = await modelFor(c, backend);
          try {
            let maxDiff = 0;
            train.steps.forEach((expected, s) => {
              const r = net.step(idTensor(c.input_ids), c.loss.target, {
                loss: c.loss.kind,
                optimizer: optimizerOptions(train.optimizer),
                ...(train.clip_grad_norm !== null && { clipGradNorm: train.clip_grad_norm }),
                ...sequenceOptions(c),
              });
              maxDiff = Math.max(maxDiff, expectClose([r.loss], [expected.loss], `step ${s + 1} loss`));
              maxDiff = Math.max(maxDiff, expectClose([r.gradNorm], [expected.grad_norm], `step ${s + 1} grad_norm`));
              const after = net.stateDict();
              expect(Object.keys(after).sort(), `step ${s + 1}: stateDict names`).toEqual(Object.keys(expected.state_dict_after).sort());
              for (const [name, tensor] of Object.entries(expected.state_dict_after)) {
                expect(after[name].shape, `step ${s + 1} ${name}`).toEqual(tensor.shape);
                maxDiff = Math.max(maxDiff, expectClose(after[name].data, tensor.data, `step ${s + 1} ${name}`));
              }
            });
            record('training', maxDiff);
          } finally {
            net.dispose();
          }
        });
      }

      it(`${c.id}: forward through RNN.fromSafetensors with no names (${tensors})`, async () => {
        const net = await RNN.fromSafetensors(readFileSync(file), safetensorsOptions(c, backend));
        try {
          record('fromSafetensors forward', checkForward(net, c));
        } finally {
          net.dispose();
        }
      });

      it(`${c.id}: toSafetensors writes the file's tensors back, name for name`, async () => {
        const bytes = readFileSync(file);
        const original = readSafetensors(bytes);
        expect([...original.keys()].sort(), 'the fixture: safetensors_keys').toEqual([...c.safetensors_keys].sort());
        for (const [name, t] of original) {
          expectClose(t.data, c.state_dict[name].data, `the fixture: ${name} in the file and in the state_dict`, 0, 0);
        }
        const net = await RNN.fromSafetensors(bytes, safetensorsOptions(c, backend));
        try {
          const written = readSafetensors(net.toSafetensors());
          expect([...written.keys()].sort(), 'tensor names').toEqual([...original.keys()].sort());
          let maxDiff = 0;
          for (const [name, t] of original) {
            const w = written.get(name)!;
            expect(w.shape, name).toEqual(t.shape);
            maxDiff = Math.max(maxDiff, expectClose(w.data, t.data, name, 0, 0));
          }
          record('safetensors round trip', maxDiff);
        } finally {
          net.dispose();
        }
      });

      if (c.generate) {
        // The prompt and the continuation as tensors, or as plain id lists of one sequence ([T] and [steps]).
        const asTensor = (t: JsonTensor | number[], batchFirst: boolean): JsonTensor =>
          Array.isArray(t) ? { shape: batchFirst ? [1, t.length] : [t.length, 1], data: t } : t;
        const bf = c.modules.rnn.batch_first;
        const gen = { ...c.generate, prompt: asTensor(c.generate.prompt, bf), expected: asTensor(c.generate.expected, bf) };
        it(`${c.id}: greedy generation, ${gen.steps} ids after a prompt of shape [${gen.prompt.shape.join(', ')}]`, async () => {
          const net = await modelFor(c, backend);
          try {
            const g = net.generate(idTensor(gen.prompt), { steps: gen.steps, temperature: 0 });
            expect(g.ids, 'generate returns ids').toBeDefined();
            expect(g.ids!.shape).toEqual(gen.expected.shape);
            expect(Array.from(g.ids!.data), "PyTorch's greedy ids").toEqual(gen.expected.data);
            evidence.push(`${c.id} [${backend}] generate: ${gen.expected.data.length} ids equal`);
          } finally {
            net.dispose();
          }
        });
      }
    });
  }
}

afterAll(() => {
  if (process.env.PARITY_EVIDENCE) console.log(evidence.join('\n'));
});
