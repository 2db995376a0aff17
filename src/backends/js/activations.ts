/** The nonlinearities, in double precision (the WebAssembly build's rational tanh is within 3.2e-7 of these). */

export const relu = (a: number): number => (a > 0 ? a : 0);
export const sigmoid = (a: number): number => 1 / (1 + Math.exp(-a));
