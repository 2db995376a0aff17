/**
 * The nonlinearities, in double precision (the WebAssembly build's rational tanh is within 3.2e-7 of these),
 * the gated cells' choice of them, and the activation layers' kernels.
 */
import type { Kernels } from '../../backend.js';
import { at, type JsHeap } from './heap.js';

/** a < 0 ? 0 : a, so that a NaN stays NaN (as in PyTorch and the WebAssembly builds). */
// biome-ignore lint/complexity/useMathMinMax: Math.max(a, 0) would be the same but for NaN, which must stay NaN
export const relu = (a: number): number => (a < 0 ? 0 : a);
const sigmoid = (a: number): number => 1 / (1 + Math.exp(-a));

// The gated cells' gate function by kind (Keras's recurrent_activation): 0 σ, 1 the hard sigmoid
// clip(0.2·a + 0.5, 0, 1) (tf.keras 2, tfjs, ONNX), 2 clip(a/6 + 0.5, 0, 1) (Keras 3, PyTorch's nn.Hardsigmoid);
// and their squashing function: tanh, or relu. Gradients from the output y, times the incoming g.

const slope = (kind: number): number => (kind === 1 ? 0.2 : 1 / 6);

/** Clipped to [0, 1] as the WebAssembly builds clip, so that a NaN stays NaN. */
const clip01 = (y: number): number => (y > 1 ? 1 : relu(y));

export const gateFn = (a: number, kind: number): number => (kind === 0 ? sigmoid(a) : clip01(slope(kind) * a + 0.5));
export const gateGrad = (g: number, y: number, kind: number): number =>
  kind === 0 ? g * y * (1 - y) : y > 0 && y < 1 ? g * slope(kind) : 0;
export const squash = (a: number, useRelu: number): number => (useRelu ? relu(a) : Math.tanh(a));
export const squashGrad = (g: number, y: number, useRelu: number): number => (useRelu ? (y > 0 ? g : 0) : g * (1 - y * y));

/** Element-wise kinds of the activation layer: 0 linear, 1 relu, 2 tanh, 3 σ. */
const unit = (a: number, kind: number): number => (kind === 1 ? relu(a) : kind === 2 ? Math.tanh(a) : kind === 3 ? sigmoid(a) : a);
const unitGrad = (g: number, y: number, kind: number): number =>
  kind === 1 ? (y > 0 ? g : 0) : kind === 2 ? g * (1 - y * y) : kind === 3 ? g * y * (1 - y) : g;

export function activationKernels(heap: JsHeap): Pick<Kernels, 'activation_forward' | 'activation_backward'> {
  return {
    activation_forward(y, z, rows, width, kind) {
      const m = heap.f32;
      if (kind !== 4) {
        for (let i = 0; i < rows * width; i++) m[at(y) + i] = unit(m[at(z) + i], kind);
        return;
      }
      for (let r = 0; r < rows; r++) {
        const [yr, zr] = [at(y) + r * width, at(z) + r * width];
        let max = -Infinity; // exp(z - max) cannot overflow; a NaN row comes out all NaN
        for (let j = 0; j < width; j++) if (m[zr + j] > max) max = m[zr + j];
        let sum = 0;
        for (let j = 0; j < width; j++) sum += Math.exp(m[zr + j] - max);
        for (let j = 0; j < width; j++) m[yr + j] = Math.exp(m[zr + j] - max) / sum;
      }
    },

    activation_backward(dz, dy, y, rows, width, kind) {
      const m = heap.f32;
      if (kind !== 4) {
        for (let i = 0; i < rows * width; i++) m[at(dz) + i] = unitGrad(m[at(dy) + i], m[at(y) + i], kind);
        return;
      }
      // Through the softmax's Jacobian diag(y) - y yᵀ, row by row.
      for (let r = 0; r < rows; r++) {
        const row = r * width;
        let s = 0;
        for (let j = 0; j < width; j++) s += m[at(dy) + row + j] * m[at(y) + row + j];
        for (let j = 0; j < width; j++) m[at(dz) + row + j] = m[at(y) + row + j] * (m[at(dy) + row + j] - s);
      }
    },
  };
}
