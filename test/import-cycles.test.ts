/**
 * No runtime import circle in src/: a module that imports, through any chain, one that imports
 * it back sees half-initialised exports depending on which is loaded first. Type-only imports
 * (`import type`, or braces of `type` names only) vanish from the compiled code and are not
 * counted here (issue #25 asks for those too; 23 files still circle through types).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const SRC = join(__dirname, '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The relative modules a file imports at run time. */
function runtimeImports(file: string, text: string): string[] {
  const imports: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?([^'";]*?)\s*from\s+'(\.[^']+)'/gm)) {
    if (m[1] !== undefined) continue;
    const braces = /\{([^}]*)\}/.exec(m[2] ?? '');
    const outside = (m[2] ?? '').replace(/\{[^}]*\}/, '').replace(/,/g, '').trim();
    const names = (braces?.[1] ?? '').split(',').map((n) => n.trim()).filter((n) => n !== '');
    if (braces !== null && outside === '' && names.length > 0 && names.every((n) => n.startsWith('type '))) continue;
    imports.push(normalize(join(dirname(file), `${m[3]}.ts`)));
  }
  return imports;
}

/** Every circle of `graph`, each as the chain that closes it. */
function circles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const chain: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    chain.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'open') found.push([...chain.slice(chain.indexOf(next)), next]);
      else if (state.get(next) === undefined) visit(next);
    }
    chain.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (state.get(node) === undefined) visit(node);
  return found;
}

describe('import structure', () => {
  it('src/ has no runtime import circle', () => {
    const graph = new Map(sourceFiles(SRC).map((file) => [file, runtimeImports(file, readFileSync(file, 'utf8'))]));
    assert.ok(graph.size > 100, 'the sources were found');
    const found = circles(graph).map((chain) => chain.map((f) => relative(SRC, f)).join(' → '));
    assert.deepEqual(found, []);
  });

  it('finds a circle when there is one, and leaves type-only imports out', () => {
    const graph = new Map([
      ['/a.ts', runtimeImports('/a.ts', "import { b } from './b';\n")],
      ['/b.ts', runtimeImports('/b.ts', "import { type A } from './a';\nimport type { C } from './c';\nexport { c } from './c';\n")],
      ['/c.ts', runtimeImports('/c.ts', "import { a } from './a';\n")],
    ]);
    assert.deepEqual(circles(graph), [['/a.ts', '/b.ts', '/c.ts', '/a.ts']]);
  });
});
