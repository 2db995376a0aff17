/**
 * Every PyTorch reference case, on every backend: forward outputs, the loss, every gradient and every
 * optimizer step. Cases come from the folders in TORCH_FIXTURES (':'-separated; default test/fixtures/torch and
 * test/fixtures/torch-training, copies of those folders of ../shared/fixtures). Nothing is skipped: a case this
 * build cannot run fails.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type OptimizerOptions, RNN } from '../src/index.js';
import { TORCH, fixtureFolders } from './fixture-folders.js';
import { BACKENDS, expectClose } from './helpers.js';

interface TorchTensor {
  shape: number[];
  data: number[];
}
interface TorchCase {
  id: string;
  module: 'RNN' | 'LSTM' | 'GRU';
  config: {
    input_size: number;
    hidden_size: number;
    num_layers: number;
    nonlinearity?: 'tanh' | 'relu';
    bias: boolean;
    bidirectional: boolean;
    batch_first: boolean;
  };
  head: { in_features: number; out_features: number };
  state_dict: Record<string, TorchTensor>;
  input: TorchTensor;
  h0: TorchTensor;
  c0?: TorchTensor;
  lengths?: { shape: number[]; data: number[] };
  expected: { output: TorchTensor; h_n: TorchTensor; c_n?: TorchTensor; y: TorchTensor };
  loss: { kind: 'mse' | 'cross_entropy'; target: TorchTensor; value: number };
  grads: { state_dict: Record<string, TorchTensor>; input: TorchTensor; h0: TorchTensor; c0?: TorchTensor };
  train?: {
    optimizer: Record<string, unknown> & { kind: string };
    clip_grad_norm?: number;
    steps: { loss: number; grad_norm: number; state_dict_after: Record<string, TorchTensor> }[];
  };
}

const folders = fixtureFolders('TORCH_FIXTURES', TORCH);
const cases: TorchCase[] = folders.flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as TorchCase),
);

/** The evidence: the largest difference seen per case, backend and kind of tensor. */
const evidence: string[] = [];

/** PyTorch's optimizer record → this library's options: the same names, camelCased (weight_decay → weightDecay). */
function optimizerOptions(o: TorchCase['train'] & {}): OptimizerOptions {
  const camel = (name: string) => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return Object.fromEntries(Object.entries(o.optimizer).map(([k, v]) => [camel(k), v])) as unknown as OptimizerOptions;
}

async function modelFor(c: TorchCase, backend: (typeof BACKENDS)[number]): Promise<RNN> {
  const net = await RNN.create({
    cell: c.module.toLowerCase() as 'rnn' | 'lstm' | 'gru',
    inputSize: c.config.input_size,
    hiddenSize: c.config.hidden_size,
    numLayers: c.config.num_layers,
    bidirectional: c.config.bidirectional,
    ...(c.config.nonlinearity && { nonlinearity: c.config.nonlinearity }),
    bias: c.config.bias,
    batchFirst: c.config.batch_first,
    outputSize: c.head.out_features,
    backend,
  });
  net.loadStateDict(c.state_dict);
  return net;
}

/** Options every call of a case shares; a case with `lengths` passes them on and fails until they are supported. */
const sequenceOptions = (c: TorchCase) => ({ h0: c.h0, ...(c.c0 && { c0: c.c0 }), ...(c.lengths && { lengths: c.lengths.data }) });

expect(cases.length, `no *.json cases in ${folders.join(', ')}`).toBeGreaterThan(0);

for (const c of cases) {
  for (const backend of BACKENDS) {
    describe(`${c.id} [${backend}]`, () => {
      const record = (what: string, maxDiff: number) => evidence.push(`${c.id} [${backend}] ${what}: maxdiff ${maxDiff.toExponential(2)}`);

      it(`forward: output, h_n${c.expected.c_n ? ', c_n' : ''}, y`, async () => {
        const net = await modelFor(c, backend);
        const r = net.unroll(c.input, sequenceOptions(c));
        expect(r.output.shape).toEqual(c.expected.output.shape);
        expect(r.hN.shape).toEqual(c.expected.h_n.shape);
        expect(r.y.shape).toEqual(c.expected.y.shape);
        record(
          'forward',
          Math.max(
            expectClose(r.output.data, c.expected.output.data, 'output'),
            expectClose(r.hN.data, c.expected.h_n.data, 'h_n'),
            expectClose(r.y.data, c.expected.y.data, 'y'),
            c.expected.c_n ? expectClose(r.cN!.data, c.expected.c_n.data, 'c_n') : 0,
          ),
        );
        expect(r.cN === undefined, 'c_n is returned exactly for LSTMs').toBe(c.expected.c_n === undefined);
        net.dispose();
      });

      it('loss and every gradient', async () => {
        const net = await modelFor(c, backend);
        const g = net.gradients(c.input, c.loss.target, { loss: c.loss.kind, ...sequenceOptions(c) });
        let maxDiff = expectClose([g.loss], [c.loss.value], 'loss');
        expect(Object.keys(g.grads).sort()).toEqual(Object.keys(c.grads.state_dict).sort());
        for (const [name, expected] of Object.entries(c.grads.state_dict)) {
          expect(g.grads[name].shape, name).toEqual(expected.shape);
          maxDiff = Math.max(maxDiff, expectClose(g.grads[name].data, expected.data, `grad ${name}`));
        }
        maxDiff = Math.max(maxDiff, expectClose(g.input!.data, c.grads.input.data, 'grad input'));
        maxDiff = Math.max(maxDiff, expectClose(g.h0.data, c.grads.h0.data, 'grad h0'));
        if (c.grads.c0) maxDiff = Math.max(maxDiff, expectClose(g.c0!.data, c.grads.c0.data, 'grad c0'));
        record('loss+grads', maxDiff);
        net.dispose();
      });

      if (c.train) {
        const train = c.train;
        it(`training: ${train.steps.length} ${train.optimizer.kind} steps`, async () => {
          const net = await modelFor(c, backend);
          let maxDiff = 0;
          train.steps.forEach((expected, s) => {
            const r = net.step(c.input, c.loss.target, {
              loss: c.loss.kind,
              optimizer: optimizerOptions(train),
              clipGradNorm: train.clip_grad_norm,
              ...sequenceOptions(c),
            });
            maxDiff = Math.max(maxDiff, expectClose([r.loss], [expected.loss], `step ${s + 1} loss`));
            maxDiff = Math.max(maxDiff, expectClose([r.gradNorm], [expected.grad_norm], `step ${s + 1} grad_norm`));
            const after = net.stateDict();
            for (const [name, tensor] of Object.entries(expected.state_dict_after)) {
              maxDiff = Math.max(maxDiff, expectClose(after[name].data, tensor.data, `step ${s + 1} ${name}`));
            }
          });
          record('training', maxDiff);
          net.dispose();
        });
      }
    });
  }
}

afterAll(() => {
  if (process.env.PARITY_EVIDENCE) console.log(evidence.join('\n'));
});
