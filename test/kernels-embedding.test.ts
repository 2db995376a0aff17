/**
 * The embedding kernels: each WebAssembly build against the JS reference (agree(): every buffer compared),
 * then every backend against the exact answer. A gather copies floats, and the scatter-add adds each row of
 * dout in the order of n with one float32 rounding per addition in every backend, so SIMD, scalar and JS
 * all give exactly the float32 sums computed here. E straddles multiples of 4 (the vector path and its tail),
 * ids repeat (N > V), and padding_idx is an id that occurs, one that does not, or -1.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { KernelInstance } from '../src/backend.js';
import { createJsInstance } from '../src/backends/js/index.js';
import { createWasmInstance } from '../src/backends/wasm.js';
import type { WasmBuild } from '../src/options.js';
import { agree, float, pick, rng } from './kernel-harness.js';

interface EmbeddingCase {
  seed: number;
  N: number;
  V: number;
  E: number;
  ids: number[];
  padding_idx: number;
}

const cases: EmbeddingCase[] = Array.from({ length: 24 }, (_, i) => {
  const r = rng(5000 + i);
  const [N, V, E] = [pick(r, [1, 2, 6, 13]), pick(r, [1, 3, 5]), pick(r, [1, 3, 4, 7, 8, 13, 16])];
  const ids = Array.from({ length: N }, () => Math.floor(r() * V));
  ids[N - 1] = ids[0]; // at least one id twice when N > 1
  // An id that occurs, one that may not, and none.
  const padding_idx = [ids[Math.floor(N / 2)], V - 1, -1][i % 3];
  return { seed: 5100 + i, N, V, E, ids, padding_idx };
});

const name = '$N ids of $V rows, E=$E, padding_idx=$padding_idx';

describe.each(['relaxed', 'simd', 'scalar'] as const)('wasm-%s embedding kernels agree with js', (build: WasmBuild) => {
  let wasm: KernelInstance;
  beforeAll(async () => {
    wasm = await createWasmInstance(build, {});
  });

  it.each(cases)(`embedding_forward ${name}`, ({ seed, N, V, E, ids }) => {
    agree(wasm, seed, { out: float(N * E), weight: float(V * E), ids: { n: N, int: ids } }, (k, p) =>
      k.embedding_forward(p.out, p.weight, p.ids, N, E),
    );
  });

  it.each(cases)(`embedding_backward ${name}`, ({ seed, N, V, E, ids, padding_idx }) => {
    agree(wasm, seed, { dweight: float(V * E), dout: float(N * E), ids: { n: N, int: ids } }, (k, p) =>
      k.embedding_backward(p.dweight, p.dout, p.ids, N, E, padding_idx),
    );
  });
});

const BACKENDS = {
  js: async () => createJsInstance(),
  'wasm-relaxed': () => createWasmInstance('relaxed', {}),
  'wasm-simd': () => createWasmInstance('simd', {}),
  'wasm-scalar': () => createWasmInstance('scalar', {}),
};

describe.each(Object.keys(BACKENDS) as (keyof typeof BACKENDS)[])('%s embedding kernels', (backend) => {
  let instance: KernelInstance;
  beforeAll(async () => {
    instance = await BACKENDS[backend]();
  });

  /** Floats in [-1, 1) from the seed, rounded to float32. */
  const floats = (n: number, seed: number) => {
    const r = rng(seed);
    return Float32Array.from({ length: n }, () => r() * 2 - 1);
  };

  /** Places the arrays one after another past the base, each 4 bytes past a 16-byte line (unaligned vectors). */
  function place(arrays: (Float32Array | Int32Array)[]): number[] {
    let end = Math.ceil(instance.base / 16) * 16;
    const at = arrays.map((a) => {
      const ptr = Math.ceil(end / 16) * 16 + 4;
      end = ptr + a.byteLength;
      return ptr;
    });
    instance.reserve(end);
    arrays.forEach((a, i) => new Uint8Array(instance.buffer, at[i], a.byteLength).set(new Uint8Array(a.buffer)));
    return at;
  }

  it.each(cases)(`embedding_forward ${name}: out[n] is exactly weight[ids[n]]`, ({ seed, N, V, E, ids }) => {
    const weight = floats(V * E, seed);
    const [out, w, id] = place([new Float32Array(N * E).fill(NaN), weight, Int32Array.from(ids)]);
    instance.kernels.embedding_forward(out, w, id, N, E);
    const expected = ids.flatMap((row) => Array.from(weight.subarray(row * E, row * E + E)));
    expect(Array.from(new Float32Array(instance.buffer, out, N * E))).toEqual(expected);
    expect(Array.from(new Float32Array(instance.buffer, w, V * E)), 'weight is only read').toEqual(Array.from(weight));
  });

  it.each(cases)(
    `embedding_backward ${name}: each row sums its ids' gradients, the padding row none`,
    ({ seed, N, V, E, ids, padding_idx }) => {
      const dweight = floats(V * E, seed); // accumulates: starts from earlier gradients
      const dout = floats(N * E, seed + 1);
      const [dw, d, id] = place([dweight, dout, Int32Array.from(ids)]);
      instance.kernels.embedding_backward(dw, d, id, N, E, padding_idx);
      const expected = dweight.slice();
      ids.forEach((row, n) => {
        if (row === padding_idx) return;
        for (let j = 0; j < E; j++) expected[row * E + j] = Math.fround(expected[row * E + j] + dout[n * E + j]);
      });
      expect(Array.from(new Float32Array(instance.buffer, dw, V * E))).toEqual(Array.from(expected));
      if (padding_idx >= 0) {
        expect(Array.from(new Float32Array(instance.buffer, dw + 4 * padding_idx * E, E)), 'the padding row').toEqual(
          Array.from(dweight.subarray(padding_idx * E, padding_idx * E + E)),
        );
      }
    },
  );
});
