/**
 * `npm run bench`: unroll and one training step, pure JS vs WASM scalar vs WASM SIMD, measured in one run
 * with tinybench, reported as medians with ratios side by side (a Markdown table, ready for the README).
 *
 *   npm run bench                      RNN: hidden 32, 128, 256, 512; LSTM, GRU: hidden 128, 256; batch 1, 32
 *   npm run bench -- --cells lstm --hidden 128 --batch 1
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { Bench } from 'tinybench';
import { RNN, type BackendChoice, type Tensor } from '../src/index.js';

const { values: args } = parseArgs({
  options: {
    cells: { type: 'string', default: 'rnn,lstm,gru' },
    hidden: { type: 'string' },
    batch: { type: 'string', default: '1,32' },
    input: { type: 'string', default: '32' },
    steps: { type: 'string', default: '32' },
    time: { type: 'string', default: '300' },
  },
});
const list = (s: string) => s.split(',').map(Number);
const I = Number(args.input);
const T = Number(args.steps);
const BACKENDS: BackendChoice[] = ['js', 'wasm-scalar', 'wasm-simd'];

type Cell = 'rnn' | 'lstm' | 'gru';
const GATES: Record<Cell, number> = { rnn: 1, lstm: 4, gru: 3 };
const DEFAULT_HIDDEN: Record<Cell, string> = { rnn: '32,128,256,512', lstm: '128,256', gru: '128,256' };

interface Row { cell: Cell; job: string; H: number; B: number; flops: number; medians: Record<string, number> }

function randomTensor(shape: number[], seed: number): Tensor {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let s = seed;
  for (let i = 0; i < data.length; i++) data[i] = ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  return { data, shape };
}

async function measure(cell: Cell, H: number, B: number): Promise<Row[]> {
  const input = randomTensor([T, B, I], 1);
  const target = randomTensor([T, B, 1], 2);
  const bench = new Bench({ time: Number(args.time), iterations: 5, warmupIterations: 2, warmupTime: 50 });
  const models: RNN[] = [];
  for (const backend of BACKENDS) {
    const net = await RNN.create({ cell, inputSize: I, hiddenSize: H, outputSize: 1, seed: 1, backend });
    models.push(net);
    bench.add(`unroll ${backend}`, () => {
      net.unroll(input);
    });
    bench.add(`train step ${backend}`, () => {
      net.step(input, target, { optimizer: { kind: 'sgd', lr: 1e-4 } });
    });
  }
  await bench.run();
  models.forEach((m) => m.dispose());
  const median = (name: string) => {
    const task = bench.getTask(name);
    const result = task?.result;
    if (!result || !('latency' in result)) throw new Error(`benchmark ${name} did not complete`);
    return result.latency.p50;
  };
  // Multiply-adds of the recurrence and input projection: 2·T·B·(I·H + H·H)·gates FLOPs forward; BPTT about twice that.
  const forwardFlops = 2 * T * B * (I * H + H * H) * GATES[cell];
  return ['unroll', 'train step'].map((job) => ({
    cell, job, H, B,
    flops: job === 'unroll' ? forwardFlops : 3 * forwardFlops,
    medians: Object.fromEntries(BACKENDS.map((b) => [b, median(`${job} ${b}`)])),
  }));
}

const ms = (v: number) => (v < 1 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(0));
const rows: Row[] = [];
for (const cell of args.cells.split(',') as Cell[]) {
  if (!(cell in GATES)) throw new Error(`unknown cell '${cell}' (rnn, lstm, gru)`);
  for (const H of list(args.hidden ?? DEFAULT_HIDDEN[cell])) {
    for (const B of list(args.batch)) {
      process.stderr.write(`measuring ${cell} H=${H} B=${B}…\n`);
      rows.push(...(await measure(cell, H, B)));
    }
  }
}

console.log(`\nrnn-wasm benchmark — cell + Linear(H→1) head, I=${I}, T=${T}; medians in ms; ratio = JS median / backend median`);
console.log(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, 1 thread\n`);
console.log('| cell | job | H | B | JS ms | scalar ms | SIMD ms | scalar vs JS | SIMD vs JS | SIMD vs scalar | SIMD GFLOP/s |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const { js, 'wasm-scalar': scalar, 'wasm-simd': simd } = r.medians;
  console.log(`| ${r.cell.toUpperCase()} | ${r.job} | ${r.H} | ${r.B} | ${ms(js)} | ${ms(scalar)} | ${ms(simd)} | ${(js / scalar).toFixed(1)}× | ` +
    `${(js / simd).toFixed(1)}× | ${(scalar / simd).toFixed(1)}× | ${(r.flops / simd / 1e6).toFixed(1)} |`);
}
