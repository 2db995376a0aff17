/**
 * What bench/browser.ts (Node) and bench/browser-worker.ts (a worker of a page in Chromium) say to each other:
 * the page hands the worker a request and passes back its messages.
 */
import type { Outcome } from '../src/cli/bench/harness.js';
import type { BackendChoice } from '../src/index.js';

/** This library as the browser entry loads it: each SIMD build on one thread and on two. */
export const CONTENDERS: readonly { name: string; backend: BackendChoice; threads: number }[] = [
  { name: 'SIMD', backend: 'wasm-simd', threads: 1 },
  { name: 'relaxed', backend: 'wasm-relaxed', threads: 1 },
  { name: 'SIMD 2 threads', backend: 'wasm-simd', threads: 2 },
  { name: 'relaxed 2 threads', backend: 'wasm-relaxed', threads: 2 },
];

export interface BenchRequest {
  /** Workload ids, from src/cli/bench/workloads.ts. */
  ids: string[];
  /** Milliseconds per contender and workload. */
  timeMs: number;
}

export interface BenchResponse {
  userAgent: string;
  /** navigator.hardwareConcurrency. */
  cores: number;
  crossOriginIsolated: boolean;
  /** The smallest step of performance.now() in the worker, in ms (5 µs in an isolated page of Chromium, 100 µs otherwise). */
  clockResolutionMs: number;
  /** Outcomes by workload id, then by contender name: per call, in ms. */
  results: [string, [string, Outcome][]][];
  /** Calls of each workload that one timed sample makes, so that a sample lasts many ticks of the clock. */
  callsPerSample: Record<string, number>;
  /** Threads each contender's model ran on, by workload id: 1 + the workers that started while it was made. */
  threads: Record<string, Record<string, number>>;
}

export type WorkerMessage = { progress: string } | { done: BenchResponse } | { failed: string };
