/**
 * How fast this machine's first two cores are, alone and both busy at once: on a shared cloud machine one vCPU
 * can run at two thirds of the other's speed for minutes (its physical core's other half busy with another
 * tenant, steal time zero), which caps what two threads can reach however well the work is split. The ceiling
 * is what two threads, each on its core while both are busy, do at best against one thread on the faster core
 * alone: the two-thread targets (issue 15) are read against it. A recurrence split by hidden units (W1, W3, W4)
 * meets at every step, so the time a cache line takes between the two cores caps it instead: on the same host
 * that has measured 0.20 µs a round trip in some hours and 0.88–2.1 µs in others, against a 3.7 µs step of W1 on
 * one thread. And the clock, with the flops a cycle that W5 then does on one thread, says how much a build with
 * fused multiply-adds can add (FP_PEAK).
 */
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { WORKLOADS, flops } from '../src/cli/bench/workloads.js';

const run = promisify(execFile);

/** The workload the probes run: a batch, split by columns, so that it stands for the cores' speed alone. */
const W5 = WORKLOADS.find((w) => w.id === 'W5')!;

export interface CoreSpeeds {
  /** W5's median ms on cpu 0 and cpu 1, each alone. */
  alone: [number, number];
  /** The same with both probes running at once. */
  together: [number, number];
  /** Two threads over one, at best, on these cores now. */
  ceiling: number;
  /** µs for a cache line to go from cpu 0 to cpu 1 and back (bench/core-latency.mjs). */
  roundTrip: number;
  /** cpu 0's clock in GHz (bench/core-clock.mjs). */
  ghz: number;
  /** W5's single-precision flops a cycle on the faster core alone, at cpu 0's clock. */
  flopsPerCycle: number;
}

/**
 * Flops a cycle of 128-bit vectors on a core with two multiply (or FMA) pipes and two add pipes, as AMD's Zen 3,
 * 4 and 5 have: two multiplies and two adds of four lanes, or two fused multiply-adds, a cycle. Separate
 * multiplies and adds reach it too, so a fused multiply-add gains at most FP_PEAK / flopsPerCycle there.
 */
export const FP_PEAK = 16;

/** What a script of bench/ printed as JSON, run in a Node process pinned to `cpus` (taskset's list). */
async function pinned<T>(script: string, cpus: string, args: string[] = []): Promise<T> {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const { stdout } = await run('taskset', ['-c', cpus, process.execPath, path, ...args]);
  return JSON.parse(stdout) as T;
}

/** One probe of the built package (dist/index.js, at `entry`) pinned to `cpu`. */
async function probe(entry: URL, cpu: number, ms: number): Promise<number> {
  const sizes = [W5.I, W5.H, W5.T, W5.B].map(String);
  return (await pinned<{ ms: number }>('core-speed.mjs', String(cpu), [entry.href, String(ms), ...sizes])).ms;
}

/** cpu 0's clock in GHz. */
async function clock(): Promise<number> {
  return (await pinned<{ ghz: number }>('core-clock.mjs', '0')).ghz;
}

/** The median µs of a round trip between two threads on cpus 0 and 1. */
async function roundTrip(): Promise<number> {
  return (await pinned<{ us: number }>('core-latency.mjs', '0,1')).us;
}

/**
 * Round trips above this (µs) mean cores far apart: on the host of these runs the two vCPUs go from 0.20 µs to
 * 0.88–2.1 and back, each state lasting minutes to hours, and the machines measured 0.12.
 */
export const FAR_ROUND_TRIP = 0.5;

/**
 * The cores' state around a workload, from the round trips (µs) just before and just after its rounds: near or
 * far apart, or changed during them. Undefined where either was not measured.
 */
export function coresState(before?: number, after?: number): string | undefined {
  if (before === undefined || after === undefined) return undefined;
  const [farBefore, farAfter] = [before > FAR_ROUND_TRIP, after > FAR_ROUND_TRIP];
  const state = farBefore !== farAfter ? 'changed' : farBefore ? 'far' : 'near';
  return `${state}: ${before.toPrecision(2)} → ${after.toPrecision(2)} µs`;
}

/** Why the cores cannot be probed here, or undefined where they can. */
function unprobed(): string | undefined {
  if (process.platform !== 'linux') return 'pinning to a core needs Linux (taskset)';
  if (availableParallelism() < 2) return 'one core';
  return undefined;
}

/** The round trip between cpus 0 and 1 now, in µs, or undefined where it cannot be measured. */
export async function roundTripNow(): Promise<number | undefined> {
  if (unprobed()) return undefined;
  return roundTrip().catch(() => undefined);
}

/** The cores' speeds, or why they were not measured (no taskset, one core, no build). */
export async function coreSpeeds(entry: URL, ms = 1000): Promise<CoreSpeeds | string> {
  const why = unprobed();
  if (why) return why;
  try {
    const alone: [number, number] = [await probe(entry, 0, ms), await probe(entry, 1, ms)];
    const together = (await Promise.all([probe(entry, 0, ms), probe(entry, 1, ms)])) as [number, number];
    const ceiling = (1 / together[0] + 1 / together[1]) * Math.min(...alone);
    const ghz = await clock();
    const flopsPerCycle = flops(W5) / (Math.min(...alone) * 1e6 * ghz);
    return { alone, together, ceiling, roundTrip: await roundTrip(), ghz, flopsPerCycle };
  } catch (error) {
    return `the probe failed: ${(error as Error).message.split('\n')[0]}`;
  }
}
