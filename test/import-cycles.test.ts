/**
 * No import circle in src/, type imports included. At run time a module that imports, through
 * any chain, one that imports it back sees half-initialised exports depending on which is loaded
 * first; through types, a circle means two layers that cannot be read (or moved) apart. Shared
 * pieces live in core/ (the clock, JSON, the mode names), types sit with the lower layer
 * (config/types.ts imports no reader; a delivery record is the letter's), and platforms/ sits
 * above signature/.
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

/** The relative modules a file imports or re-exports from, type-only ones included. */
function importsOf(file: string, text: string): string[] {
  return [...text.matchAll(/^(?:import|export)\s+(?:type\s+)?[^'";]*?\s*from\s+'(\.[^']+)'/gm)].map((m) => normalize(join(dirname(file), `${m[1]}.ts`)));
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
  it('src/ has no import circle, type imports included', () => {
    const graph = new Map(sourceFiles(SRC).map((file) => [file, importsOf(file, readFileSync(file, 'utf8'))]));
    assert.ok(graph.size > 100, 'the sources were found');
    const found = circles(graph).map((chain) => chain.map((f) => relative(SRC, f)).join(' → '));
    assert.deepEqual(found, []);
  });

  it('finds a circle when there is one, through a type import or a re-export too', () => {
    const graph = new Map([
      ['/a.ts', importsOf('/a.ts', "import { b } from './b';\n")],
      ['/b.ts', importsOf('/b.ts', "import type {\n  C,\n} from './c';\n")],
      ['/c.ts', importsOf('/c.ts', "export type { A } from './a';\n")],
      ['/d.ts', importsOf('/d.ts', "import { a } from './a';\n")],
    ]);
    assert.deepEqual(circles(graph), [['/a.ts', '/b.ts', '/c.ts', '/a.ts']]);
  });
});
