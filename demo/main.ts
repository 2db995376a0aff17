/**
 * The demo page: one character model, twice. The same network with the same seed trains on the same text in
 * two Web Workers, one on WebAssembly and one on plain JavaScript, so their loss curves would coincide step
 * for step; against the clock they part, and the gap is the speed-up. Every few seconds each copy writes a
 * few lines. The page itself only draws: a frame meter shows that it stays responsive while both train.
 */
import { type BackendName, type RNNOptions, type TrainProgress, WorkerRNN } from '../src/index.js';
import { LossChart, type Series } from './chart.js';
import { TEXT, VOCAB, decode, prompt, windows } from './corpus.js';

const WINDOW = 32;
const BATCH = 32;
const DATA = windows(WINDOW, 3);
const PROMPT = 'the ';
const SAMPLE_LENGTH = 180;
/** Seconds of wall time between two samples from one lane. */
const SAMPLE_EVERY = 2;

type LaneName = 'wasm' | 'js';

/** What the page knows about a lane; `window.demo` exposes it for the tests and the curious. */
interface LaneState {
  backend: BackendName | null;
  steps: number;
  /** Seconds this lane has spent training (pauses and writing excluded). */
  seconds: number;
  /** Every step's loss, in order: the two lanes' lists agree to float32 rounding. */
  losses: number[];
  loss: number | null;
  sample: string;
  samples: number;
  error: string | null;
}

interface DemoState {
  running: boolean;
  lanes: Record<LaneName, LaneState>;
  /** Main-thread frames: rate over the last second and the longest gap between two frames since the start. */
  frames: { fps: number; longestGapMs: number };
}

declare global {
  interface Window {
    demo: DemoState;
  }
}

interface Lane {
  name: LaneName;
  state: LaneState;
  series: Series;
  worker: Worker | null;
  net: WorkerRNN | null;
  /** Whether this lane's loop is running (a quick Pause and Resume must not start a second one). */
  looping: boolean;
  lastSampleAt: number;
}

const $ = <T extends HTMLElement>(selector: string) => {
  const element = document.querySelector<T>(selector);
  if (!element) throw new Error(`the demo page has no ${selector}`);
  return element;
};

const controls = {
  cell: $<HTMLSelectElement>('#cell'),
  hidden: $<HTMLSelectElement>('#hidden'),
  temperature: $<HTMLInputElement>('#temperature'),
  toggle: $<HTMLButtonElement>('#toggle'),
  reset: $<HTMLButtonElement>('#reset'),
};

const emptyLane = (): LaneState => ({
  backend: null,
  steps: 0,
  seconds: 0,
  losses: [],
  loss: null,
  sample: '',
  samples: 0,
  error: null,
});

const lanes: Record<LaneName, Lane> = {
  wasm: {
    name: 'wasm',
    state: emptyLane(),
    series: { label: 'WebAssembly', color: '#d9480f', points: [] },
    worker: null,
    net: null,
    looping: false,
    lastSampleAt: 0,
  },
  js: {
    name: 'js',
    state: emptyLane(),
    series: { label: 'JavaScript', color: '#1c7ed6', points: [] },
    worker: null,
    net: null,
    looping: false,
    lastSampleAt: 0,
  },
};

const state: DemoState = {
  running: false,
  lanes: { wasm: lanes.wasm.state, js: lanes.js.state },
  frames: { fps: 0, longestGapMs: 0 },
};
window.demo = state;

const chart = new LossChart($<HTMLCanvasElement>('#chart'), [lanes.wasm.series, lanes.js.series]);
$('#text').textContent = TEXT;
$('#vocab').textContent = `${VOCAB.length} distinct characters, ${TEXT.length} in all, ${DATA.length} windows of ${WINDOW}`;

/** Bumped by every reset: a loop from an older generation stops at its next turn. */
let generation = 0;

async function start(): Promise<void> {
  const mine = ++generation;
  for (const lane of Object.values(lanes)) {
    lane.worker?.terminate(); // stops an epoch in flight at once; its promise is abandoned with the worker
    Object.assign(lane.state, emptyLane());
    lane.series.points = [];
    lane.net = null;
    lane.looping = false;
    lane.lastSampleAt = 0;
    lane.worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  }
  render();
  chart.redraw();
  const options = {
    cell: controls.cell.value as RNNOptions['cell'],
    inputSize: VOCAB.length,
    hiddenSize: Number(controls.hidden.value),
    outputSize: VOCAB.length,
    seed: 1,
  };
  await Promise.all(
    Object.values(lanes).map(async (lane) => {
      try {
        lane.net = await WorkerRNN.create(lane.worker!, { ...options, backend: lane.name === 'wasm' ? 'wasm' : 'js' });
        lane.state.backend = lane.net.backend;
      } catch (error) {
        lane.state.error = (error as Error).message;
      }
    }),
  );
  if (mine !== generation) return;
  render();
  setRunning(true);
}

function setRunning(running: boolean): void {
  state.running = running;
  controls.toggle.textContent = running ? 'Pause' : 'Resume';
  if (running) for (const lane of Object.values(lanes)) void train(lane, generation);
}

/** One lane's loop: an epoch at a time, a few lines of writing every SAMPLE_EVERY seconds. */
async function train(lane: Lane, mine: number): Promise<void> {
  const net = lane.net;
  if (!net || lane.looping) return;
  lane.looping = true;
  try {
    while (state.running && mine === generation) {
      const before = lane.state.seconds;
      const started = performance.now();
      await net.train(DATA, {
        epochs: 1,
        batchSize: BATCH,
        loss: 'cross_entropy',
        optimizer: { kind: 'adam', lr: 0.01 },
        clipGradNorm: 5,
        onProgress: (p) => mine === generation && progress(lane, p, before + (performance.now() - started) / 1000),
      });
      if (mine !== generation) return;
      lane.state.seconds = before + (performance.now() - started) / 1000;
      if (performance.now() / 1000 - lane.lastSampleAt >= SAMPLE_EVERY) await write(lane, net, mine);
    }
  } catch (error) {
    if (mine === generation) lane.state.error = (error as Error).message;
    render();
  } finally {
    if (mine === generation) lane.looping = false;
  }
}

function progress(lane: Lane, p: TrainProgress, seconds: number): void {
  const s = lane.state;
  s.steps++;
  s.seconds = seconds;
  s.loss = p.loss;
  s.losses.push(p.loss);
  lane.series.points.push([seconds, p.loss]);
  chart.redraw();
  render();
}

async function write(lane: Lane, net: WorkerRNN, mine: number): Promise<void> {
  lane.lastSampleAt = performance.now() / 1000;
  const { ids } = await net.generate(prompt(PROMPT), {
    steps: SAMPLE_LENGTH,
    sample: true,
    temperature: Number(controls.temperature.value),
    seed: lane.state.samples + 1,
  });
  if (mine !== generation || !ids) return;
  lane.state.sample = PROMPT + decode(ids.data);
  lane.state.samples++;
  render();
}

const BACKEND_NAMES: Record<BackendName, string> = {
  'wasm-relaxed': 'WebAssembly relaxed SIMD',
  'wasm-simd': 'WebAssembly SIMD',
  'wasm-scalar': 'WebAssembly (no SIMD here)',
  js: 'JavaScript',
};

let renderPending = false;
function render(): void {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => {
    renderPending = false;
    for (const lane of Object.values(lanes)) {
      const s = lane.state;
      const root = $(`#lane-${lane.name}`);
      const field = (name: string) => root.querySelector<HTMLElement>(`[data-field="${name}"]`)!;
      field('backend').textContent = s.backend ? BACKEND_NAMES[s.backend] : 'starting…';
      root.dataset.backend = s.backend ?? '';
      field('steps').textContent = String(s.steps);
      field('rate').textContent = s.seconds > 0 ? (s.steps / s.seconds).toFixed(1) : '–';
      field('loss').textContent = s.loss === null ? '–' : s.loss.toFixed(3);
      field('sample').textContent = s.error ? `error: ${s.error}` : s.sample || 'it will write here after its first epoch…';
      root.classList.toggle('failed', s.error !== null);
    }
    const [w, j] = [lanes.wasm.state, lanes.js.state];
    const ready = w.seconds > 1 && j.seconds > 1 && w.steps > 0 && j.steps > 0;
    const note =
      w.backend === 'js'
        ? 'WebAssembly is not available in this browser, so both lanes run the JavaScript kernels.'
        : ready
          ? `${BACKEND_NAMES[w.backend!]} trains ${(w.steps / w.seconds / (j.steps / j.seconds)).toFixed(1)}× as many steps per second as plain JavaScript on this machine.`
          : 'Measuring…';
    $('#speedup').textContent = note;
  });
}

// The frame meter: requestAnimationFrame only fires when the main thread is free to paint.
let frames = 0;
let lastFrame = performance.now();
let windowStart = lastFrame;
function frame(now: number): void {
  frames++;
  state.frames.longestGapMs = Math.max(state.frames.longestGapMs, Math.round(now - lastFrame));
  lastFrame = now;
  if (now - windowStart >= 1000) {
    state.frames.fps = Math.round((frames * 1000) / (now - windowStart));
    frames = 0;
    windowStart = now;
    $('#fps').textContent = `${state.frames.fps} fps`;
    $('#gap').textContent = `${state.frames.longestGapMs} ms`;
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

controls.toggle.addEventListener('click', () => setRunning(!state.running));
controls.reset.addEventListener('click', () => void start());
controls.cell.addEventListener('change', () => void start());
controls.hidden.addEventListener('change', () => void start());
controls.temperature.addEventListener('input', () => {
  $('#temperature-value').textContent = Number(controls.temperature.value).toFixed(2);
});

void start();
