/**
 * Charts as standalone SVG files, written by hand (no plotting dependency): a line chart for loss curves
 * and a horizontal bar chart on a log scale for benchmark timings. Both open in any browser or image viewer.
 */
import { formatValue } from './chart.js';

interface LineSeries {
  name: string;
  /** [x, y] in data units, in increasing x. */
  points: readonly (readonly [number, number])[];
  color: string;
  strokeWidth?: number;
  /** Mark every point with a dot (for sparse series such as one value per epoch). */
  dots?: boolean;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
}

interface BarGroup {
  label: string;
  /** One bar per entry of the chart's `bars`, in the same order. */
  values: readonly number[];
}

export interface BarChart {
  title: string;
  /** The unit of the values, shown on the axis, e.g. 'ms'. */
  unit: string;
  bars: readonly { name: string; color: string }[];
  groups: readonly BarGroup[];
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';

const escapeXml = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const fixed = (v: number) => Number(v.toFixed(1)).toString();

/** About `count` round tick values (1, 2 or 5 × 10^k apart) covering [min, max]. */
function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

export function lineChartSvg(chart: LineChart): string {
  const [W, H] = [760, 400];
  const m = { left: 70, right: 24, top: 44, bottom: 52 };
  const all = chart.series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  const pad = (Math.max(...ys) - Math.min(...ys)) * 0.05 || Math.abs(ys[0]) * 0.05 || 1;
  const [y0, y1] = [Math.min(...ys) - pad, Math.max(...ys) + pad];
  const px = (x: number) => m.left + ((x - x0) / (x1 - x0)) * (W - m.left - m.right);
  const py = (y: number) => H - m.bottom - ((y - y0) / (y1 - y0)) * (H - m.top - m.bottom);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT} font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="600">${escapeXml(chart.title)}</text>`,
  ];
  for (const t of niceTicks(y0, y1)) {
    out.push(
      `<line x1="${m.left}" x2="${W - m.right}" y1="${fixed(py(t))}" y2="${fixed(py(t))}" stroke="#e5e5e5"/>`,
      `<text x="${m.left - 8}" y="${fixed(py(t) + 4)}" text-anchor="end" fill="#555">${formatValue(t)}</text>`,
    );
  }
  for (const t of niceTicks(x0, x1, 8).filter((t) => Number.isInteger(t))) {
    out.push(
      `<line x1="${fixed(px(t))}" x2="${fixed(px(t))}" y1="${H - m.bottom}" y2="${H - m.bottom + 5}" stroke="#555"/>`,
      `<text x="${fixed(px(t))}" y="${H - m.bottom + 19}" text-anchor="middle" fill="#555">${t}</text>`,
    );
  }
  out.push(
    `<line x1="${m.left}" x2="${W - m.right}" y1="${H - m.bottom}" y2="${H - m.bottom}" stroke="#555"/>`,
    `<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${H - m.bottom}" stroke="#555"/>`,
    `<text x="${(m.left + W - m.right) / 2}" y="${H - 12}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`,
    `<text transform="translate(18 ${(m.top + H - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`,
  );
  chart.series.forEach((s, i) => {
    const path = s.points.map(([x, y]) => `${fixed(px(x))},${fixed(py(y))}`).join(' ');
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="${s.strokeWidth ?? 1.5}" stroke-linejoin="round" points="${path}"/>`);
    if (s.dots) for (const [x, y] of s.points) out.push(`<circle cx="${fixed(px(x))}" cy="${fixed(py(y))}" r="3" fill="${s.color}"/>`);
    const ly = m.top + 6 + i * 18;
    out.push(
      `<line x1="${W - m.right - 150}" x2="${W - m.right - 128}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="3"/>`,
      `<text x="${W - m.right - 122}" y="${ly + 4}">${escapeXml(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export function barChartSvg(chart: BarChart): string {
  const W = 760;
  // The legend, wrapped onto as many rows as the names need; the bars start below it.
  const legend: { x: number; y: number }[] = [];
  const left = 170; // room for the group labels
  let [lx, ly] = [left, 36];
  for (const bar of chart.bars) {
    const width = 34 + 7 * bar.name.length;
    if (lx + width > W && lx > left) [lx, ly] = [left, ly + 16];
    legend.push({ x: lx, y: ly });
    lx += width;
  }
  const m = { left, right: 90, top: ly + 28, bottom: 48 };
  const barHeight = 12;
  const groupHeight = chart.bars.length * barHeight + 14;
  const H = m.top + chart.groups.length * groupHeight + m.bottom;
  const values = chart.groups.flatMap((g) => g.values).filter((v) => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const px = (v: number) => m.left + ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo) || 1)) * (W - m.left - m.right);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT} font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="600">${escapeXml(chart.title)}</text>`,
  ];
  chart.bars.forEach((bar, i) => {
    const { x, y } = legend[i];
    out.push(
      `<rect x="${x}" y="${y}" width="14" height="10" fill="${bar.color}"/>`,
      `<text x="${x + 20}" y="${y + 9}">${escapeXml(bar.name)}</text>`,
    );
  });
  for (let decade = lo; decade <= hi * 1.0001; decade *= 10) {
    out.push(
      `<line x1="${fixed(px(decade))}" x2="${fixed(px(decade))}" y1="${m.top - 6}" y2="${H - m.bottom}" stroke="#e5e5e5"/>`,
      `<text x="${fixed(px(decade))}" y="${H - m.bottom + 18}" text-anchor="middle" fill="#555">${formatValue(decade)} ${escapeXml(chart.unit)}</text>`,
    );
  }
  chart.groups.forEach((group, g) => {
    const top = m.top + g * groupHeight;
    out.push(
      `<text x="${m.left - 8}" y="${top + (chart.bars.length * barHeight) / 2 + 4}" text-anchor="end">${escapeXml(group.label)}</text>`,
    );
    group.values.forEach((v, i) => {
      if (!(v > 0)) return; // not measured: no bar
      const y = top + i * barHeight;
      out.push(
        `<rect x="${m.left}" y="${y}" width="${fixed(Math.max(1, px(v) - m.left))}" height="${barHeight - 2}" fill="${chart.bars[i].color}"/>`,
        `<text x="${fixed(px(v) + 4)}" y="${y + barHeight - 3}" font-size="10" fill="#333">${formatValue(v)}</text>`,
      );
    });
  });
  out.push(
    `<text x="${(m.left + W - m.right) / 2}" y="${H - 12}" text-anchor="middle">${escapeXml(`${chart.unit} per call (log scale; shorter is faster)`)}</text>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}
