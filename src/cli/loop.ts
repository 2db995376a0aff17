/**
 * The training loop of the command line, shared by `train` and the demo: one optimizer step at a time, so
 * that progress shows after every step, checkpoints fall on any step, and Ctrl-C stops between two steps
 * with everything consistent. The run's position is its step count alone: the epoch and the step within it
 * follow from it, which is what lets a resumed run go on exactly where it stopped.
 */
import type { RNN } from '../index.js';
import type { RunRecord } from './checkpoint.js';
import type { Progress } from './progress.js';
import type { Task, TrainSettings } from './task.js';
import { formatValue } from './chart.js';
import { formatRate } from './progress.js';

export interface LoopOptions {
  net: RNN;
  task: Task;
  settings: TrainSettings;
  /** Updated in place: the step count, the losses and the epoch summaries. */
  run: RunRecord;
  progress: Progress;
  /** Saves a checkpoint every `every` steps (not after the last one: the caller saves that). */
  checkpoint?: { every: number; save: () => void };
  /** Asked before every step; true ends the loop early (Ctrl-C). */
  stopRequested: () => boolean;
}

/** The step at which the run ends: every epoch, or fewer steps when `settings.steps` says so. */
export function totalSteps(settings: TrainSettings, task: Task): number {
  const all = settings.epochs * task.stepsPerEpoch;
  return settings.steps === null ? all : Math.min(all, settings.steps);
}

/** Trains until the run's last step or a stop request; resolves to whether it was stopped early. */
export async function trainSteps(o: LoopOptions): Promise<{ stopped: boolean }> {
  const { net, task, settings, run, progress } = o;
  const total = totalSteps(settings, task);
  const perEpoch = task.stepsPerEpoch;
  let epochStarted = performance.now();
  let epochItems = 0;
  while (run.step < total) {
    if (o.stopRequested()) return { stopped: true };
    const epoch = Math.floor(run.step / perEpoch);
    const index = run.step % perEpoch;
    if (index === 0) [epochStarted, epochItems] = [performance.now(), 0];
    const { loss, items } = task.step(net, index, epoch);
    epochItems += items;
    run.step += 1;
    // Six significant digits are plenty for a curve and keep long histories small in the checkpoint.
    run.losses.push(Number(loss.toPrecision(6)));
    if (index === perEpoch - 1) {
      const losses = run.losses.slice(run.step - perEpoch);
      const summary = { epoch: epoch + 1, loss: losses.reduce((a, b) => a + b, 0) / losses.length };
      const valLoss = task.validate(net);
      run.epochs.push(valLoss === undefined ? summary : { ...summary, valLoss });
      const seconds = (performance.now() - epochStarted) / 1000;
      progress.log(
        `epoch ${epoch + 1}/${settings.epochs}  loss ${formatValue(summary.loss)}`
          + `${valLoss === undefined ? '' : `  val ${formatValue(valLoss)}`}  (${seconds.toFixed(seconds < 1 ? 2 : 1)} s, ${formatRate(epochItems / seconds)} ${task.unit}/s)`,
      );
    }
    const last = run.epochs[run.epochs.length - 1];
    progress.step(
      {
        step: run.step,
        totalSteps: total,
        epoch: Math.min(epoch + 1, settings.epochs),
        epochs: settings.epochs,
        loss,
        valLoss: last?.valLoss,
        losses: run.losses,
      },
      items,
    );
    if (o.checkpoint && o.checkpoint.every > 0 && run.step % o.checkpoint.every === 0 && run.step < total) o.checkpoint.save();
    // Let signal handlers (Ctrl-C) and output run between steps.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { stopped: false };
}
