/**
 * Memory stays flat under long use: 100,000 `unroll` calls, and 1,000 models made (by `create` and by every
 * loader) and disposed, leave WebAssembly memory and the JS heap where they were. The bounds are generous,
 * and still a fraction of what the smallest leak would cost: one result kept per call is tens of megabytes of
 * heap, one instance kept per model 64 MB of WebAssembly memory. A disposed model refuses every call.
 */
import { describe, expect, it } from 'vitest';
import { DisposedError, RNN, type RNNOptions, type Tensor } from '../src/index.js';
import { collectGarbage } from './gc.js';
import { randomArray } from './helpers.js';

const MB = 2 ** 20;
const options: RNNOptions = { cell: 'lstm', inputSize: 3, hiddenSize: 8, outputSize: 2, seed: 1 };
const input: Tensor = { data: randomArray(2 * 2 * 3, 1), shape: [2, 2, 3] };

describe('memory', () => {
  it('100,000 unroll calls leave WebAssembly memory and the JS heap flat', async () => {
    const net = await RNN.create(options);
    for (let i = 0; i < 1000; i++) net.unroll(input); // warm-up: the workspace is laid out, the code optimised
    const before = collectGarbage();
    for (let i = 0; i < 100_000; i++) net.unroll(input);
    const after = collectGarbage();
    // WebAssembly memory counts as external memory in Node (a model's instance: 64 KB and up).
    expect((after.external - before.external) / MB, 'external (WebAssembly) MB').toBeLessThan(1);
    expect((after.arrayBuffers - before.arrayBuffers) / MB, 'ArrayBuffer MB').toBeLessThan(1);
    expect((after.heapUsed - before.heapUsed) / MB, 'heap MB').toBeLessThan(8);
    net.dispose();
  }, 60_000);

  it('1,000 models created, loaded and disposed are all collected', async () => {
    const source = await RNN.create(options);
    source.step(input, { data: randomArray(2 * 2 * 2, 2), shape: [2, 2, 2] }, { optimizer: { kind: 'adam', lr: 0.01 } });
    const files = { checkpoint: source.save(), weights: source.toSafetensors(), json: JSON.stringify(source) };
    const makers = [
      () => RNN.create(options),
      () => RNN.load(files.checkpoint),
      () => RNN.fromSafetensors(files.weights),
      () => RNN.fromJSON(files.json),
    ];
    let collected = 0;
    const registry = new FinalizationRegistry<number>(() => collected++);
    const cycle = async (i: number, track: boolean) => {
      const net = await makers[i % makers.length]();
      net.unroll(input);
      if (track) registry.register(net, i);
      net.dispose();
    };
    for (let i = 0; i < 40; i++) await cycle(i, false);
    const before = collectGarbage();
    for (let i = 0; i < 1000; i++) await cycle(i, true);
    const after = collectGarbage();
    expect((after.external - before.external) / MB, 'external (WebAssembly) MB').toBeLessThan(16);
    expect((after.heapUsed - before.heapUsed) / MB, 'heap MB').toBeLessThan(8);
    // Finalizers run after a collection, from the event loop.
    for (let i = 0; i < 50 && collected < 1000; i++) {
      collectGarbage();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(collected).toBeGreaterThanOrEqual(990);
  }, 60_000);

  it('a disposed model refuses every call with DisposedError', async () => {
    const net = await RNN.create(options);
    const target: Tensor = { data: new Float32Array(2 * 2 * 2), shape: [2, 2, 2] };
    net.step(input, target);
    const snapshot = net.optimizerState();
    const dict = net.stateDict();
    net.dispose();
    const calls: [string, () => unknown][] = [
      ['backend', () => net.backend],
      ['unroll', () => net.unroll(input)],
      ['cell', () => net.cell([[0, 0, 0]])],
      ['generate', () => net.generate(input, { steps: 1 })],
      ['gradients', () => net.gradients(input, target)],
      ['evaluate', () => net.evaluate(input, target)],
      ['step', () => net.step(input, target)],
      ['stateDict', () => net.stateDict()],
      ['loadStateDict', () => net.loadStateDict(dict)],
      ['optimizerState', () => net.optimizerState()],
      ['loadOptimizerState', () => net.loadOptimizerState(snapshot)],
      ['resetOptimizer', () => net.resetOptimizer()],
      ['toSafetensors', () => net.toSafetensors()],
      ['save', () => net.save()],
      ['toJSON', () => net.toJSON()],
      ['JSON.stringify', () => JSON.stringify(net)],
    ];
    for (const [name, call] of calls) expect(call, name).toThrow(DisposedError);
    await expect(net.train([{ input: [[0, 0, 0]], target: [0, 0] }])).rejects.toThrow(DisposedError);
  });
});

describe('dispose', () => {
  it("frees a model's memory after cell() calls even while the object stays referenced", async () => {
    const kept: RNN[] = [];
    const before = collectGarbage();
    for (const backend of ['js', 'wasm'] as const) {
      const net = await RNN.create({ cell: 'gru', inputSize: 4, hiddenSize: 1500, outputSize: 4, backend });
      const state = net.cell([[1, 2, 3, 4]]);
      net.cell([[1, 2, 3, 4]], state);
      net.unroll([[[1, 2, 3, 4]]]);
      net.dispose();
      kept.push(net); // referenced on purpose: dispose alone must drop the heap and every view of it
    }
    const after = collectGarbage();
    // Each model holds ~80 MB (weights, packed copies, gradients); nothing of it may stay.
    expect((after.external + after.arrayBuffers - before.external - before.arrayBuffers) / MB, 'MB kept after dispose').toBeLessThan(16);
    expect(kept.every((net) => net.disposed)).toBe(true);
  }, 60_000);
});
