/**
 * What the benchmark measures: the named workloads of the README's table (float32, one thread, time-major,
 * input projection included) or a grid of sizes from the command line, each with the same seeded weights and
 * data for every contender.
 */
import { RNN } from '../../index.js';

export type Cell = 'rnn' | 'lstm' | 'gru';
export type Job = 'forward' | 'train' | 'cell';
export type Nonlinearity = 'tanh' | 'relu';

export interface Workload {
  /** W0…W7, S1, R1 for the named workloads; cell, sizes and job for the others, e.g. 'GRU H=256 B=1 train'. */
  id: string;
  cell: Cell;
  /** The RNN cell's activation (LSTM and GRU ignore it). */
  nonlinearity: Nonlinearity;
  I: number;
  H: number;
  T: number;
  B: number;
  /** forward: unroll; train: one step (forward, MSE at every step, BPTT, update); cell: one streaming step. */
  job: Job;
  /** A Linear(H→1) head (the training workloads). */
  head: boolean;
  optimizer?: 'sgd' | 'adam';
  /** What the tables say in their first column. */
  title: string;
}

const GATES: Record<Cell, number> = { rnn: 1, lstm: 4, gru: 3 };

const named = (w: Omit<Workload, 'nonlinearity' | 'head'> & Partial<Workload>): Workload => ({ nonlinearity: 'tanh', head: false, ...w });

export const WORKLOADS: readonly Workload[] = [
  named({ id: 'W0', cell: 'rnn', I: 8, H: 32, T: 100, B: 1, job: 'forward', title: 'RNN tanh I=8 H=32 T=100 B=1, forward' }),
  named({ id: 'W1', cell: 'rnn', I: 64, H: 256, T: 100, B: 1, job: 'forward', title: 'RNN tanh I=64 H=256 T=100 B=1, forward' }),
  named({ id: 'W2', cell: 'rnn', I: 64, H: 1024, T: 100, B: 1, job: 'forward', title: 'RNN tanh I=64 H=1024 T=100 B=1, forward' }),
  named({ id: 'W3', cell: 'lstm', I: 64, H: 256, T: 100, B: 1, job: 'forward', title: 'LSTM I=64 H=256 T=100 B=1, forward' }),
  named({ id: 'W4', cell: 'gru', I: 64, H: 256, T: 100, B: 1, job: 'forward', title: 'GRU I=64 H=256 T=100 B=1, forward' }),
  named({ id: 'W5', cell: 'rnn', I: 64, H: 256, T: 100, B: 32, job: 'forward', title: 'RNN tanh I=64 H=256 T=100 B=32, forward' }),
  named({
    id: 'W6',
    cell: 'rnn',
    I: 64,
    H: 256,
    T: 50,
    B: 32,
    job: 'train',
    head: true,
    optimizer: 'sgd',
    title: 'RNN tanh + Linear(256→1) T=50 B=32, train step (SGD)',
  }),
  named({
    id: 'W7',
    cell: 'lstm',
    I: 64,
    H: 256,
    T: 50,
    B: 32,
    job: 'train',
    head: true,
    optimizer: 'adam',
    title: 'LSTM + Linear(256→1) T=50 B=32, train step (Adam)',
  }),
  named({ id: 'S1', cell: 'rnn', I: 64, H: 256, T: 1, B: 1, job: 'cell', title: 'RNN tanh I=64 H=256, one `cell` step' }),
  // brain.js's recurrent networks compute ReLU RNNs only (its LSTM and GRU are other networks than PyTorch's),
  // so this is the one workload it can run as the same work.
  named({
    id: 'R1',
    cell: 'rnn',
    nonlinearity: 'relu',
    I: 64,
    H: 256,
    T: 100,
    B: 1,
    job: 'forward',
    title: 'RNN ReLU I=64 H=256 T=100 B=1, forward',
  }),
];

export const isNamed = (w: Workload) => WORKLOADS.some((n) => n.id === w.id);

/** A workload of chosen sizes, named by them; training steps have a Linear(H→1) head and SGD, like W6. */
export function sizedWorkload(size: Pick<Workload, 'cell' | 'nonlinearity' | 'I' | 'H' | 'T' | 'B' | 'job'>): Workload {
  const { cell, nonlinearity, I, H, T, B, job } = size;
  const name = cell === 'rnn' ? `RNN ${nonlinearity}` : cell.toUpperCase();
  const what = job === 'forward' ? 'forward' : job === 'train' ? 'train step (SGD)' : 'one `cell` step';
  const title = `${name}${job === 'train' ? ` + Linear(${H}→1)` : ''} I=${I} H=${H}${job === 'cell' ? '' : ` T=${T}`} B=${B}, ${what}`;
  return {
    ...size,
    T: job === 'cell' ? 1 : T,
    head: job === 'train',
    ...(job === 'train' && { optimizer: 'sgd' as const }),
    id: `${name} H=${H} B=${B} ${job}`,
    title,
  };
}

/**
 * FLOPs of the forward pass, 2·T·B·(I·H + H·H)·G (G gates); a training step counts three times that (forward,
 * and the two products of each backward product).
 */
export function flops(w: Workload): number {
  const forward = 2 * w.T * w.B * (w.I * w.H + w.H * w.H) * GATES[w.cell];
  return w.job === 'train' ? 3 * forward : forward;
}

/** The learning rates of the training workloads: small, so that repeated steps stay near the checked start. */
export const LEARNING_RATE = { sgd: 1e-3, adam: 1e-4 } as const;

export interface WorkloadData {
  /** PyTorch's names and layouts (`rnn.weight_ih_l0`, …, `head.weight`, `head.bias`), from a seeded model. */
  weights: Record<string, Float32Array>;
  /** Their shapes. */
  shapes: Record<string, readonly number[]>;
  /** [T, B, I], uniform in [-1, 1). */
  x: Float32Array;
  /** [T, B, 1], uniform in [-1, 1): the MSE target at every step (training workloads). */
  target: Float32Array;
}

/** Uniform in [-1, 1) from a linear congruential generator: the same numbers on every machine. */
export function seeded(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** Weights as PyTorch initialises them (a seeded model's `stateDict`), and seeded input and target. */
export async function workloadData(w: Workload): Promise<WorkloadData> {
  const net = await RNN.create({
    cell: w.cell,
    ...(w.cell === 'rnn' && { nonlinearity: w.nonlinearity }),
    inputSize: w.I,
    hiddenSize: w.H,
    outputSize: w.head ? 1 : 0,
    seed: 7,
    backend: 'js',
  });
  const dict = Object.entries(net.stateDict());
  net.dispose();
  return {
    weights: Object.fromEntries(dict.map(([name, t]) => [name, t.data])),
    shapes: Object.fromEntries(dict.map(([name, t]) => [name, t.shape])),
    x: seeded(w.T * w.B * w.I, 11),
    target: seeded(w.T * w.B, 13),
  };
}
