/**
 * The benchmark's verdicts on the issues' targets, as a Markdown table, and the targets both runs share: the
 * relaxed build's (issue 15), which `npm run bench` checks in Node and `npm run bench -- --browser` in Chromium.
 */
import { RELAXED, REFERENCE, type Results, median, ratio } from '../src/cli/bench/report.js';

export interface Verdict {
  target: string;
  value: string;
  /** null where the target could not be measured. */
  met: boolean | null;
  /** For a target on threads: the state the cores were in around its workload (bench.ts). */
  cores?: string;
}

/** The relaxed build's speed-up over the SIMD build (SIMD / relaxed) that each workload must reach. */
const RELAXED_TARGETS: { workloads: string[]; bound: number; text: string }[] = [
  { workloads: ['W5', 'W6', 'W7'], bound: 1.25, text: '≥ 1.25× faster with the relaxed build' },
  { workloads: ['W0', 'S1'], bound: 1, text: 'no slower with the relaxed build' },
];

/** The relaxed build's targets, on the workloads of `results` that they name. */
export function relaxedVerdicts(results: Results): Verdict[] {
  const out: Verdict[] = [];
  for (const t of RELAXED_TARGETS) {
    for (const id of t.workloads.filter((x) => results.has(x))) {
      const [ms, relaxed] = [median(results, id, REFERENCE), median(results, id, RELAXED)];
      const target = `${id} ${t.text} (SIMD / relaxed)`;
      if (ms === undefined || relaxed === undefined) out.push({ target, value: 'not measured', met: null });
      else out.push({ target, value: ratio(ms / relaxed), met: ms / relaxed >= t.bound });
    }
  }
  return out;
}

/** The verdicts as a Markdown table, with a column for the cores' state where any verdict has one. */
export function verdictsTable(verdicts: readonly Verdict[]): string {
  const withCores = verdicts.some((v) => v.cores !== undefined);
  const rows = verdicts.map(
    (v) => `| ${v.target} | ${v.value} | ${v.met === null ? '–' : v.met ? 'yes' : 'no'} |${withCores ? ` ${v.cores ?? ''} |` : ''}`,
  );
  const head = withCores
    ? ['| target | measured | met | cores |', '|---|---:|:---:|---|']
    : ['| target | measured | met |', '|---|---:|:---:|'];
  return [...head, ...rows].join('\n');
}
