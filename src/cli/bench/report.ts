/**
 * The benchmark's tables, in Markdown so that a run can go straight into the README: medians per workload and
 * contender, then ratios of medians to the SIMD build with its GFLOP/s. A contender that did not run a
 * workload gets '–' and a note saying why.
 */
import type { Outcome, Stats } from './harness.js';
import { type Workload, flops, isNamed } from './workloads.js';

/** Outcomes by workload id, then by contender name. */
export type Results = Map<string, Map<string, Outcome>>;

export const REFERENCE = 'SIMD';
/** The relaxed-SIMD build: compared the other way round, as how many times faster than the SIMD build it is. */
export const RELAXED = 'relaxed';

export const fmt = (ms: number) => (ms < 0.1 ? ms.toFixed(4) : ms < 1 ? ms.toFixed(3) : ms < 100 ? ms.toFixed(2) : ms.toFixed(0));
export const ratio = (r: number) => `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;

export function median(results: Results, id: string, name: string): number | undefined {
  const s = results.get(id)?.get(name);
  return typeof s === 'object' ? s.median : undefined;
}

/** Medians (± half the interquartile range) of every contender on every workload, and why any are missing. */
export function mediansTable(workloads: readonly Workload[], names: readonly string[], results: Results): string {
  const lines = [`| workload | ${names.join(' | ')} |`, `|---|${names.map(() => '---:').join('|')}|`];
  // Why a cell is empty, once per contender and reason: "brain.js, W0, W6: …".
  const notes = new Map<string, string[]>();
  for (const w of workloads) {
    const cells = names.map((n) => {
      const s = results.get(w.id)?.get(n);
      if (typeof s === 'object') return `${fmt(s.median)} ±${fmt(s.spread)}`;
      if (s) notes.set(`${n}\n${s}`, [...(notes.get(`${n}\n${s}`) ?? []), w.id]);
      return '–';
    });
    lines.push(`| ${isNamed(w) ? `${w.id} ${w.title}` : w.title} | ${cells.join(' | ')} |`);
  }
  const why = [...notes].map(([key, ids]) => {
    const [name, reason] = key.split('\n');
    return `- ${name}, ${ids.join(', ')}: ${reason}`;
  });
  return `${lines.join('\n')}\n${why.length ? `\n${why.join('\n')}\n` : ''}`;
}

/**
 * How many times faster the SIMD build is than each contender (theirs / ours), or, for native code and the
 * relaxed build, how far from it (ours / theirs: SIMD / relaxed is the relaxed build's speed-up); with the SIMD
 * build's GFLOP/s.
 */
export function ratiosTable(
  workloads: readonly Workload[],
  names: readonly string[],
  results: Results,
  isNative: (name: string) => boolean = () => false,
): string {
  const others = names.filter((n) => n !== REFERENCE);
  const inverse = (n: string) => n === RELAXED || isNative(n);
  const lines = [
    `| workload | SIMD ms | GFLOP/s | ${others.map((n) => (inverse(n) ? `SIMD / ${n}` : `${n} / SIMD`)).join(' | ')} |`,
    `|---|---:|---:|${others.map(() => '---:').join('|')}|`,
  ];
  for (const w of workloads) {
    const ms = median(results, w.id, REFERENCE);
    if (ms === undefined) continue;
    const cells = others.map((n) => {
      const m = median(results, w.id, n);
      return m === undefined ? '–' : ratio(inverse(n) ? ms / m : m / ms);
    });
    const gflops = w.job === 'cell' ? '' : (flops(w) / ms / 1e6).toFixed(1);
    lines.push(`| ${w.id} | ${fmt(ms)} | ${gflops} | ${cells.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Every number of a run, for tools (`--json`). */
export function resultsJson(workloads: readonly Workload[], results: Results, extra: object = {}): string {
  const outcome = (o: Outcome) => (typeof o === 'string' ? { skipped: o } : (o satisfies Stats));
  return JSON.stringify(
    {
      date: new Date().toISOString(),
      ...extra,
      workloads: workloads.map((w) => ({
        ...w,
        flops: flops(w),
        results: Object.fromEntries([...(results.get(w.id) ?? [])].map(([name, o]) => [name, outcome(o)])),
      })),
    },
    null,
    2,
  );
}
