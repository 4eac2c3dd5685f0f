/**
 * Files shipped beside the code (package.json, .env.example), found from wherever the code runs:
 * dist/ when installed, build/src/ under the tests. Their absence is survivable: callers say so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let root: string | undefined | null = null;

/** The package's root: the nearest folder above this file holding webhook-affinity's package.json. */
function packageRoot(): string | undefined {
  if (root !== null) return root;
  root = undefined;
  for (let dir = __dirname, i = 0; i < 5; i++, dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'webhook-affinity') {
      root = dir;
      break;
    }
  }
  return root;
}

/** A shipped file's text, or undefined when it is not there. */
export function packageFile(name: string): string | undefined {
  const dir = packageRoot();
  if (dir === undefined) return undefined;
  try {
    return readFileSync(join(dir, name), 'utf8');
  } catch {
    return undefined;
  }
}

export function packageVersion(): string {
  const text = packageFile('package.json');
  return text === undefined ? 'unknown' : ((JSON.parse(text) as { version?: string }).version ?? 'unknown');
}
