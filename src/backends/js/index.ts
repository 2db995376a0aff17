/**
 * The pure-JS backend: the readable reference for every kernel, and the baseline the benchmarks compare
 * against. Same pointers and sizes as the WebAssembly build (see `backend.ts`), and one file per file of
 * assembly/, with the same kernel names and parameters: each kernel turns byte offsets into Float32Array
 * indices once and then loops plainly. Sums run in double precision and round to float32 when stored.
 */
import type { KernelInstance, Kernels } from '../../backend.js';
import { activationKernels } from './activations.js';
import { embeddingKernels } from './embedding.js';
import { gruKernels } from './gru.js';
import { JsHeap } from './heap.js';
import { linearKernels } from './linear.js';
import { lossKernels } from './loss.js';
import { lstmKernels } from './lstm.js';
import { mergeKernels } from './merge.js';
import { optimKernels } from './optim.js';
import { packedKernels } from './packed.js';
import { rnnKernels } from './rnn.js';
import { sequenceKernels } from './sequence.js';
import { vectorKernels } from './vector.js';

/** A fresh heap with the reference kernels bound to it. */
export function createJsInstance(): KernelInstance {
  const heap = new JsHeap();
  return {
    backend: 'js',
    kernels: jsKernels(heap),
    get buffer() {
      return heap.buffer;
    },
    base: 16, // never 0: a pointer of 0 means "absent" (no bias) in the kernel ABI
    reserve: (bytes) => heap.reserve(bytes),
  };
}

/** The kernel table: every file's kernels over one heap, in the order of assembly/index.ts. */
function jsKernels(heap: JsHeap): Kernels {
  return {
    ...rnnKernels(heap),
    ...lstmKernels(heap),
    ...gruKernels(heap),
    ...linearKernels(heap),
    ...embeddingKernels(heap),
    ...vectorKernels(heap),
    ...activationKernels(heap),
    ...mergeKernels(heap),
    ...sequenceKernels(heap),
    ...packedKernels(heap),
    ...lossKernels(heap),
    ...optimKernels(heap),
  };
}
