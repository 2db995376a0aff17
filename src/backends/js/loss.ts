/**
 * Losses over the head's output y [T, B, C], returning the loss and writing its gradient. A row (t, b) enters
 * the loss when it is a valid step of column b (t < len_b), or with `last` only at the column's last valid
 * step; every other row gets a zero gradient.
 */
import type { Kernels } from '../../backend.js';
import { at, type JsHeap } from './heap.js';
import { columnLength } from './sequence.js';

/** Whether row (t, b) enters a loss: a valid step, or with `last` only the column's last valid step. */
function counts(heap: JsHeap, lengths: number, t: number, b: number, T: number, last: number): boolean {
  const len = columnLength(heap, lengths, b, T);
  return last ? t === len - 1 : t < len;
}

function countedRows(heap: JsHeap, lengths: number, T: number, B: number, last: number): number {
  let n = 0;
  for (let b = 0; b < B; b++) n += last ? 1 : columnLength(heap, lengths, b, T);
  return n;
}

export function lossKernels(heap: JsHeap): Pick<Kernels, 'mse_loss' | 'cross_entropy_loss'> {
  return {
    mse_loss(dy, y, target, lengths, T, B, C, last) {
      const m = heap.f32;
      const count = countedRows(heap, lengths, T, B, last) * C;
      let loss = 0;
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          const row = (t * B + b) * C;
          const counted = counts(heap, lengths, t, b, T, last);
          for (let c = 0; c < C; c++) {
            const e = counted ? m[at(y) + row + c] - m[at(target) + row + c] : 0;
            loss += e * e;
            m[at(dy) + row + c] = (2 * e) / count;
          }
        }
      }
      return loss / count;
    },

    cross_entropy_loss(dlogits, logits, targets, lengths, T, B, C, last) {
      const m = heap.f32;
      const count = countedRows(heap, lengths, T, B, last);
      let loss = 0;
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          const n = t * B + b;
          const row = at(logits) + n * C;
          const drow = at(dlogits) + n * C;
          if (!counts(heap, lengths, t, b, T, last)) {
            m.fill(0, drow, drow + C);
            continue;
          }
          const target = heap.i32[at(targets) + n];
          let max = -Infinity; // subtract the max so exp cannot overflow
          for (let c = 0; c < C; c++) max = Math.max(max, m[row + c]);
          let sum = 0;
          for (let c = 0; c < C; c++) sum += Math.exp(m[row + c] - max);
          loss += max + Math.log(sum) - m[row + target];
          for (let c = 0; c < C; c++) m[drow + c] = (Math.exp(m[row + c] - max) / sum - (c === target ? 1 : 0)) / count;
        }
      }
      return loss / count;
    },
  };
}
