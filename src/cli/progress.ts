/**
 * The live view of a training run. On a terminal it redraws, in place and at most ten times a second, a
 * braille chart of the loss so far above a progress bar with the epoch, step, loss, speed and time left;
 * permanent lines (epoch summaries, messages) scroll above it. Written to a pipe or a file it prints a plain
 * status line every few seconds instead, so logs stay readable.
 */
import { brailleChart, formatValue } from './chart.js';

export interface ProgressStatus {
  step: number;
  totalSteps: number;
  epoch: number;
  epochs: number;
  loss: number;
  valLoss?: number;
  /** Every step's loss so far, for the chart. */
  losses: readonly number[];
}

/** Where the live view goes: a stream that may be a terminal (process.stderr). */
export interface StatusStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const REDRAW_MS = 100;
const LOG_EVERY_MS = 5000;
/** The speed is averaged over this much recent time, so it follows changes without flickering. */
const RATE_WINDOW_MS = 5000;
const CHART_ROWS = 6;

export class Progress {
  private linesOnScreen = 0;
  private lastDraw = -Infinity;
  private readonly samples: { time: number; step: number; items: number }[] = [];
  private items = 0;
  private status: ProgressStatus | null = null;

  /**
   * @param stream where the live view goes (a terminal gets redraws, anything else status lines)
   * @param print writes one permanent line (without its newline)
   * @param unit what `items` counts, e.g. 'tok' or 'seq', shown as tok/s or seq/s
   */
  constructor(
    private readonly stream: StatusStream,
    private readonly print: (line: string) => void,
    private readonly unit: string,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Records one finished step that processed `items` tokens or sequences, and redraws when it is time. */
  step(status: ProgressStatus, items: number): void {
    const time = this.now();
    if (this.samples.length === 0) {
      this.samples.push({ time, step: status.step - 1, items: 0 });
      // A log's first status line waits for a speed worth reporting; a terminal shows the bar at once.
      if (!this.stream.isTTY) this.lastDraw = time;
    }
    this.items += items;
    this.samples.push({ time, step: status.step, items: this.items });
    while (this.samples.length > 2 && time - this.samples[1].time > RATE_WINDOW_MS) this.samples.shift();
    this.status = status;
    const interval = this.stream.isTTY ? REDRAW_MS : LOG_EVERY_MS;
    if (time - this.lastDraw >= interval || status.step === status.totalSteps) this.draw(time);
  }

  /** Prints a permanent line; on a terminal, above the live view, which is redrawn below it. */
  log(line: string): void {
    this.clear();
    this.print(line);
    if (this.stream.isTTY && this.status) this.draw(this.now());
  }

  /** Leaves the last view on screen and moves below it. */
  finish(): void {
    if (!this.status) return;
    if (this.stream.isTTY) {
      this.draw(this.now());
      this.stream.write('\n');
      this.linesOnScreen = 0;
    } else {
      if (this.lastDraw < this.samples[this.samples.length - 1].time) this.draw(this.now());
      // The chart a terminal would have shown all along, once, for the log.
      for (const line of brailleChart(this.status.losses, 60, CHART_ROWS)) this.print(`  ${line}`);
    }
  }

  /** Steps per second and items per second over the recent window. */
  private rates(): { steps: number; items: number } {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const seconds = (last.time - first.time) / 1000;
    if (!(seconds > 0)) return { steps: 0, items: 0 };
    return { steps: (last.step - first.step) / seconds, items: (last.items - first.items) / seconds };
  }

  private statusLine(width: number): string {
    const s = this.status!;
    const { steps, items } = this.rates();
    const eta = steps > 0 ? formatDuration((s.totalSteps - s.step) / steps) : '?';
    const fields = [
      `step ${s.step}/${s.totalSteps}`,
      `loss ${formatValue(s.loss)}`,
      ...(s.valLoss === undefined ? [] : [`val ${formatValue(s.valLoss)}`]),
      `${formatRate(items)} ${this.unit}/s`,
      `ETA ${eta}`,
    ];
    const epoch = `epoch ${s.epoch}/${s.epochs}`;
    const percent = `${Math.floor((100 * s.step) / s.totalSteps)}%`.padStart(4);
    if (!this.stream.isTTY) return [epoch, ...fields].join('  ');
    const tail = ` ${percent} │ ${fields.join(' │ ')}`;
    const barWidth = Math.max(10, Math.min(30, width - epoch.length - tail.length - 2));
    const filled = Math.round((barWidth * s.step) / s.totalSteps);
    return `${epoch} ${'━'.repeat(filled)}${'─'.repeat(barWidth - filled)}${tail}`.slice(0, width);
  }

  private draw(time: number): void {
    this.lastDraw = time;
    if (!this.stream.isTTY) {
      this.print(this.statusLine(Infinity));
      return;
    }
    const width = Math.max(40, (this.stream.columns ?? 80) - 1);
    const chart = this.status!.losses.length >= 2 ? brailleChart(this.status!.losses, Math.min(60, width - 12), CHART_ROWS) : [];
    const lines = [...chart.map((line) => `  ${line}`), this.statusLine(width)];
    this.clear();
    // The cursor waits at the start of the last line, where the terminal's echo of ^C cannot wrap a line.
    this.stream.write(`${lines.join('\n')}\r`);
    this.linesOnScreen = lines.length;
  }

  /** Moves to the first line of the live view and erases it and everything below. */
  private clear(): void {
    if (!this.stream.isTTY || this.linesOnScreen === 0) return;
    this.stream.write(`${this.linesOnScreen > 1 ? `\x1b[${this.linesOnScreen - 1}A` : ''}\r\x1b[J`);
    this.linesOnScreen = 0;
  }
}

/** 3.2k, 41.5k, 1.2M: a speed at a glance. */
export function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)}M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k`;
  return perSecond.toFixed(perSecond >= 10 ? 0 : 1);
}

/** m:ss, or h:mm:ss past an hour. */
function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const mmss = `${h ? String(m).padStart(2, '0') : m}:${String(r).padStart(2, '0')}`;
  return h ? `${h}:${mmss}` : mmss;
}
