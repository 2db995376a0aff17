/**
 * The kernel ABI is written once, as `Kernels` in src/backend.ts; this checks the three places that implement
 * it against that text. For the WebAssembly builds, asc writes each export's signature into build/rnn-*.d.ts
 * (`"bindings": "raw"` in asconfig.json, during `npm run build:wasm`), with the AssemblyScript parameter names
 * and the file each export comes from; for the JS reference, src/backends/js/*.ts is read as source. All of
 * them are parsed with the TypeScript compiler, and compared by parameter names and order, and by whether the
 * kernel returns a value. Each JS kernel must also live in the file named like its assembly/ file.
 */
import { readFileSync, readdirSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { createJsInstance } from '../src/backends/js/index.js';

interface Signature {
  params: string[];
  /** Whether it returns a value (known for the interface and the exports). */
  returns?: boolean;
  /** Where it is defined: assembly/<file> for an export, the source file for a JS kernel. */
  file?: string;
}

const root = new URL('..', import.meta.url);
const parse = (path: string) => ts.createSourceFile(path, readFileSync(new URL(path, root), 'utf8'), ts.ScriptTarget.Latest, true);

/** Parameter names as written; a leading underscore only marks one that this implementation does not read. */
const names = (params: ts.NodeArray<ts.ParameterDeclaration>) => params.map((p) => p.name.getText().replace(/^_/, ''));

const returnsValue = (type: ts.TypeNode | undefined) => type !== undefined && type.kind !== ts.SyntaxKind.VoidKeyword;

function kernelsInterface(): Map<string, Signature> {
  const source = parse('src/backend.ts');
  const kernels = source.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === 'Kernels');
  if (!kernels) throw new Error('src/backend.ts declares no interface Kernels');
  const out = new Map<string, Signature>();
  for (const member of kernels.members) {
    if (!ts.isMethodSignature(member)) throw new Error(`Kernels member ${member.name?.getText()} is not a method`);
    out.set(member.name.getText(), { params: names(member.parameters), returns: returnsValue(member.type) });
  }
  return out;
}

/** The module's own functions, not kernels: where the heap starts, and how an instance joins a team of threads. */
const MODULE_FUNCTIONS = ['heap_base', 'scratch_size', 'team_join'];

/**
 * The exports that asc declared for a build, in its namespace __AdaptedExports (beside it, the bindings'
 * own `instantiate`); `memory` and MODULE_FUNCTIONS are the module's, not kernels.
 */
function wasmExports(build: string): Map<string, Signature> {
  const source = parse(`build/rnn-${build}.d.ts`);
  const namespace = source.statements.find(
    (s): s is ts.ModuleDeclaration => ts.isModuleDeclaration(s) && s.name.text === '__AdaptedExports',
  );
  if (!namespace?.body || !ts.isModuleBlock(namespace.body))
    throw new Error(`build/rnn-${build}.d.ts declares no namespace __AdaptedExports`);
  const out = new Map<string, Signature>();
  for (const node of namespace.body.statements) {
    if (!ts.isFunctionDeclaration(node) || !node.name || MODULE_FUNCTIONS.includes(node.name.text)) continue;
    // asc's doc comment names the export's origin: assembly/<file>/<name>.
    const doc = source.text.slice(node.getFullStart(), node.getStart());
    out.set(node.name.text, { params: names(node.parameters), returns: returnsValue(node.type), file: /(assembly\/\w+)\//.exec(doc)?.[1] });
  }
  return out;
}

/**
 * The JS reference's kernels: in src/backends/js/, the methods and arrow properties of each object literal
 * that a function declared to return (a Pick of) Kernels returns.
 */
function jsKernels(): Map<string, Signature> {
  const out = new Map<string, Signature>();
  for (const file of readdirSync(new URL('src/backends/js/', root)).filter((f) => f.endsWith('.ts'))) {
    const source = parse(`src/backends/js/${file}`);
    let table = false;
    const visit = (node: ts.Node) => {
      if (ts.isFunctionDeclaration(node)) table = /\bKernels\b/.test(node.type?.getText() ?? '');
      if (table && ts.isReturnStatement(node) && node.expression && ts.isObjectLiteralExpression(node.expression)) {
        for (const p of node.expression.properties) {
          const fn = ts.isMethodDeclaration(p)
            ? p
            : ts.isPropertyAssignment(p) && (ts.isArrowFunction(p.initializer) || ts.isFunctionExpression(p.initializer))
              ? p.initializer
              : undefined;
          if (!fn || !p.name) continue;
          if (out.has(p.name.getText())) throw new Error(`two JS kernels named ${p.name.getText()}`);
          out.set(p.name.getText(), { params: names(fn.parameters), file: `src/backends/js/${file}` });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return out;
}

const abi = kernelsInterface();

describe('the kernel ABI (Kernels in src/backend.ts)', () => {
  it('is an interface of kernels, each with named parameters', () => {
    expect(abi.size).toBeGreaterThan(20);
    for (const [name, s] of abi) expect(s.params.length, name).toBeGreaterThan(0);
  });

  describe.each(['relaxed', 'simd', 'scalar', 'simd-threads', 'relaxed-threads'])('the %s build', (build) => {
    const exported = wasmExports(build);

    it('declares exactly what the .wasm exports', () => {
      const bytes = readFileSync(new URL(`build/rnn-${build}.wasm`, root));
      const actual = WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((e) => e.name);
      expect([...exported.keys(), ...MODULE_FUNCTIONS, 'memory'].sort()).toEqual(actual.sort());
    });

    it('exports every kernel of Kernels, and nothing else', () => {
      expect([...exported.keys()].sort()).toEqual([...abi.keys()].sort());
    });

    it.each([...abi.keys()])('%s: the same parameters in the same order, and a result exactly when Kernels has one', (name) => {
      const s = exported.get(name);
      expect(s, `${name} is not exported`).toBeDefined();
      expect(s!.params, name).toEqual(abi.get(name)!.params);
      expect(s!.returns, `${name} returns`).toBe(abi.get(name)!.returns);
    });
  });

  describe('the JS reference', () => {
    const js = jsKernels();
    const exported = wasmExports('scalar');

    it('binds every kernel of Kernels, and nothing else, into its table', () => {
      expect(Object.keys(createJsInstance().kernels).sort()).toEqual([...abi.keys()].sort());
      expect([...js.keys()].sort()).toEqual([...abi.keys()].sort());
    });

    it.each([...abi.keys()])('%s: the same parameters in the same order, in the twin of its assembly/ file', (name) => {
      const s = js.get(name);
      expect(s, `${name} has no JS kernel`).toBeDefined();
      expect(s!.params, name).toEqual(abi.get(name)!.params);
      const twin = exported.get(name)?.file?.replace(/^assembly\//, 'src/backends/js/');
      expect(s!.file, name).toBe(`${twin}.ts`);
    });
  });
});
