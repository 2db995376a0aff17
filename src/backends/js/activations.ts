/** The nonlinearities, in double precision (the WebAssembly build's rational tanh is within 3.2e-7 of these). */

/** a < 0 ? 0 : a, so that a NaN stays NaN (as in PyTorch and the WebAssembly builds). */
// biome-ignore lint/complexity/useMathMinMax: Math.max(a, 0) would be the same but for NaN, which must stay NaN
export const relu = (a: number): number => (a < 0 ? 0 : a);
export const sigmoid = (a: number): number => 1 / (1 + Math.exp(-a));
