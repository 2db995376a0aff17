// Builds the package into dist/: ESM and CommonJS entries, with both WebAssembly builds copied beside them.
import { readFileSync } from 'node:fs';
import typescript from '@rollup/plugin-typescript';

const WASM_BUILDS = ['simd', 'scalar'];

/**
 * In the sources the loader finds the .wasm files in build/ (`../../build/rnn-<build>.wasm` from
 * src/backends/); in the bundle they sit next to the entry. Rewrite the path and emit the files.
 */
function wasmBesideBundle() {
  return {
    name: 'wasm-beside-bundle',
    transform(code, id) {
      if (!id.endsWith('src/backends/wasm-default.ts')) return null;
      if (!code.includes('../../build/rnn-')) this.error('src/backends/wasm-default.ts no longer names ../../build/rnn-<build>.wasm');
      return { code: code.replaceAll('../../build/rnn-', './rnn-'), map: null };
    },
    generateBundle() {
      for (const build of WASM_BUILDS) {
        this.emitFile({ type: 'asset', fileName: `rnn-${build}.wasm`, source: readFileSync(`build/rnn-${build}.wasm`) });
      }
    },
  };
}

export default {
  input: 'src/index.ts',
  external: ['@assemblyscript/loader', /^node:/],
  output: [
    { file: 'dist/index.js', format: 'es', sourcemap: true },
    { file: 'dist/index.cjs', format: 'cjs', sourcemap: true },
  ],
  plugins: [
    typescript({ tsconfig: './tsconfig.json', noEmit: false, include: ['src/**/*.ts'], outDir: 'dist', declaration: false }),
    wasmBesideBundle(),
  ],
};
