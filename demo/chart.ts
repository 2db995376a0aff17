/** A small canvas line chart: loss against training time, one line per lane, redrawn on demand. */

export interface Series {
  label: string;
  color: string;
  /** [seconds, loss] pairs, in time order. */
  points: [number, number][];
}

export class LossChart {
  private readonly context: CanvasRenderingContext2D;
  private pending = false;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly series: Series[],
  ) {
    const context = canvas.getContext('2d');
    if (!context) throw new Error('this browser gives the loss chart no 2D canvas');
    this.context = context;
    new ResizeObserver(() => this.redraw()).observe(canvas);
  }

  /** Redraws at the next frame; many points arriving within one frame cost one drawing. */
  redraw(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  private draw(): void {
    const { canvas, context: g } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);

    const all = this.series.flatMap((s) => s.points);
    const left = 44;
    const bottom = height - 26;
    const plotWidth = width - left - 12;
    const plotHeight = bottom - 12;
    const tMax = niceCeiling(Math.max(10, ...all.map(([t]) => t)));
    const lossMax = Math.ceil(Math.max(1, ...all.map(([, loss]) => loss)));
    const x = (t: number) => left + (t / tMax) * plotWidth;
    const y = (loss: number) => bottom - (loss / lossMax) * plotHeight;

    g.font = '12px system-ui, sans-serif';
    g.lineWidth = 1;
    g.strokeStyle = '#e3e1da';
    g.fillStyle = '#77736a';
    for (let loss = 0; loss <= lossMax; loss++) {
      g.beginPath();
      g.moveTo(left, y(loss));
      g.lineTo(left + plotWidth, y(loss));
      g.stroke();
      g.textAlign = 'right';
      g.fillText(String(loss), left - 6, y(loss) + 4);
    }
    g.textAlign = 'center';
    for (let i = 0; i <= 5; i++) g.fillText(`${Math.round((tMax * i) / 5)} s`, x((tMax * i) / 5), bottom + 18);

    g.lineWidth = 2;
    g.lineJoin = 'round';
    for (const s of this.series) {
      if (s.points.length < 2) continue;
      g.strokeStyle = s.color;
      g.beginPath();
      s.points.forEach(([t, loss], i) => (i ? g.lineTo(x(t), y(loss)) : g.moveTo(x(t), y(loss))));
      g.stroke();
    }
  }
}

/** The next of 10, 20, 50, 100, 200, … at or above v (seconds on the time axis). */
function niceCeiling(v: number): number {
  const power = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].find((m) => m * power >= v) ?? 10) * power;
}
