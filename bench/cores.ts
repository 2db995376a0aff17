/**
 * How fast this machine's first two cores are, alone and both busy at once: on a shared cloud machine one vCPU
 * can run at two thirds of the other's speed for minutes (its physical core's other half busy with another
 * tenant, steal time zero), which caps what two threads can reach however well the work is split. The ceiling
 * is what two threads, each on its core while both are busy, do at best against one thread on the faster core
 * alone: the two-thread targets (issue 15) are read against it.
 */
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { WORKLOADS } from '../src/cli/bench/workloads.js';

const run = promisify(execFile);

export interface CoreSpeeds {
  /** W5's median ms on cpu 0 and cpu 1, each alone. */
  alone: [number, number];
  /** The same with both probes running at once. */
  together: [number, number];
  /** Two threads over one, at best, on these cores now. */
  ceiling: number;
}

/** One probe of the built package (dist/index.js, at `entry`) pinned to `cpu`. */
async function probe(entry: URL, cpu: number, ms: number): Promise<number> {
  const script = fileURLToPath(new URL('core-speed.mjs', import.meta.url));
  const { I, H, T, B } = WORKLOADS.find((w) => w.id === 'W5')!;
  const sizes = [I, H, T, B].map(String);
  const { stdout } = await run('taskset', ['-c', String(cpu), process.execPath, script, entry.href, String(ms), ...sizes]);
  return (JSON.parse(stdout) as { ms: number }).ms;
}

/** The cores' speeds, or why they were not measured (no taskset, one core, no build). */
export async function coreSpeeds(entry: URL, ms = 1000): Promise<CoreSpeeds | string> {
  if (process.platform !== 'linux') return 'pinning to a core needs Linux (taskset)';
  if (availableParallelism() < 2) return 'one core';
  try {
    const alone: [number, number] = [await probe(entry, 0, ms), await probe(entry, 1, ms)];
    const together = (await Promise.all([probe(entry, 0, ms), probe(entry, 1, ms)])) as [number, number];
    const ceiling = (1 / together[0] + 1 / together[1]) * Math.min(...alone);
    return { alone, together, ceiling };
  } catch (error) {
    return `the probe failed: ${(error as Error).message.split('\n')[0]}`;
  }
}
