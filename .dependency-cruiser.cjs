// dependency-cruiser: the import rules of src/ (`npm run lint` runs `depcruise src`).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycle in src/, `import type` included: a cycle means two modules are one concern.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'io-and-backends-below-the-model',
      comment: 'src/io/ (codecs) and src/backends/ sit below the model: they take plain data, never the RNN class.',
      severity: 'error',
      from: { path: '^src/(io|backends)/' },
      to: { path: '^src/model\\.ts$' },
    },
    {
      name: 'cli-through-the-public-entry',
      comment: 'The CLI is a client of the library like any program: from outside src/cli/ it imports only src/index.ts.',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/', pathNot: '^src/(cli/|index\\.ts$)' },
    },
    {
      name: 'no-orphans',
      comment: 'A module in src/ that nothing imports and that imports nothing is dead, or an entry that belongs in package.json.',
      severity: 'error',
      from: { orphan: true, path: '^src/' },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Count `import type` edges too: a type-only cycle still ties the modules together.
    tsPreCompilationDeps: true,
    // Resolve as tsc does (NodeNext), so that './x.js' finds x.ts.
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
