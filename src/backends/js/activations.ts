/**
 * The nonlinearities, in double precision (the WebAssembly build's rational tanh is within 3.2e-7 of these),
 * and the gated cells' choice of them.
 */

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
