/**
 * A line chart in the terminal, drawn with braille characters: each character cell holds 2 × 4 dots, so a
 * 60 × 8 cell chart has 120 × 32 points, enough to see a loss curve fall and flatten.
 */

/** Braille dot bits by [row][column] inside one character cell (Unicode U+2800 block). */
const DOTS = [
  [0x01, 0x08],
  [0x02, 0x10],
  [0x04, 0x20],
  [0x40, 0x80],
];

/** Means of `values` over `count` equal buckets (fewer when there are fewer values). */
export function downsample(values: readonly number[], count: number): number[] {
  if (values.length <= count) return [...values];
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const from = Math.floor((i * values.length) / count);
    const to = Math.floor(((i + 1) * values.length) / count);
    let sum = 0;
    for (let j = from; j < to; j++) sum += values[j];
    out.push(sum / (to - from));
  }
  return out;
}

/** Three significant digits, without exponent for everyday magnitudes. */
export function formatValue(v: number): string {
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1e5 || abs < 1e-3) return v.toExponential(2);
  return Number(v.toPrecision(3)).toString();
}

/**
 * The chart's lines: `height` rows of `width` braille cells, the largest value's label on the top row and the
 * smallest on the bottom one. An empty series gives no lines.
 */
export function brailleChart(series: readonly number[], width: number, height: number): string[] {
  const finite = series.filter(Number.isFinite);
  if (finite.length === 0) return [];
  const means = downsample(finite, width * 2);
  // Fewer values than dot columns are stretched over the whole width, linearly between neighbours.
  const points = Array.from({ length: width * 2 }, (_, px) => {
    const at = means.length === 1 ? 0 : (px * (means.length - 1)) / (width * 2 - 1);
    const i = Math.min(Math.floor(at), means.length - 2);
    return i < 0 ? means[0] : means[i] + (means[i + 1] - means[i]) * (at - i);
  });
  const max = Math.max(...points);
  const min = Math.min(...points);
  const rows = height * 4;
  const y = (v: number) => (max === min ? rows - 1 : Math.round(((max - v) / (max - min)) * (rows - 1)));
  const cells = Array.from({ length: height }, () => new Array<number>(width).fill(0));
  const dot = (px: number, py: number) => {
    cells[Math.floor(py / 4)][Math.floor(px / 2)] |= DOTS[py % 4][px % 2];
  };
  points.forEach((v, px) => {
    // Join each point to the previous one with a vertical run, so steep drops stay a connected line.
    const here = y(v);
    const before = px === 0 ? here : y(points[px - 1]);
    for (let py = Math.min(here, before); py <= Math.max(here, before); py++) dot(px, py);
  });
  const top = formatValue(max);
  const bottom = formatValue(min);
  const labelWidth = Math.max(top.length, bottom.length);
  return cells.map((row, r) => {
    const label = r === 0 ? top : r === height - 1 ? bottom : '';
    return `${label.padStart(labelWidth)} ┤${String.fromCharCode(...row.map((bits) => 0x2800 + bits))}`;
  });
}
