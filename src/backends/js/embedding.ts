/**
 * The embedding, a table of V rows of E floats looked up by token id:
 * out[n, :] = weight[ids[n], :] (a gather); dweight[ids[n], :] += dout[n, :] for every n whose id is not
 * padding_idx (a scatter-add, in the order of n; as in PyTorch the padding row gets no gradient).
 */
import type { Kernels } from '../../backend.js';
import { at, type JsHeap } from './heap.js';

export function embeddingKernels(heap: JsHeap): Pick<Kernels, 'embedding_forward' | 'embedding_backward'> {
  return {
    embedding_forward(out, weight, ids, N, E) {
      for (let n = 0; n < N; n++) {
        const row = at(weight) + heap.i32[at(ids) + n] * E;
        heap.f32.copyWithin(at(out) + n * E, row, row + E);
      }
    },

    embedding_backward(dweight, dout, ids, N, E, padding_idx) {
      const m = heap.f32;
      for (let n = 0; n < N; n++) {
        const id = heap.i32[at(ids) + n];
        if (id === padding_idx) continue;
        for (let j = 0; j < E; j++) m[at(dweight) + id * E + j] += m[at(dout) + n * E + j];
      }
    },
  };
}
