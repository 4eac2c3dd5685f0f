/**
 * Variables that are almost ours: `AFINITY_MODE`, `UPSTREAM`, `WEBHOOK_SECRETS` are ignored by
 * the proxy and start it in a configuration nobody asked for. Each environment name within a
 * small edit distance of one of ours (and not ours) gets a warning naming the one it probably
 * meant. Short names need a closer match, so HOME is not taken for HOST.
 */
import type { Env } from './env-reader';

export function nearMissWarnings(env: Env, known: readonly string[]): string[] {
  const ours = new Set(known);
  const warnings: string[] = [];
  for (const name of Object.keys(env)) {
    if (ours.has(name) || !/^[A-Z][A-Z0-9_]*$/.test(name)) continue;
    const meant = closest(name, known);
    if (meant !== undefined) warnings.push(`${name} is not a webhook-affinity variable and is ignored; did you mean ${meant}?`);
  }
  return warnings;
}

/** The known name nearest to `name`, when it is near enough to be a typo of it. */
function closest(name: string, known: readonly string[]): string | undefined {
  const allowed = name.length <= 6 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = allowed + 1;
  for (const candidate of known) {
    if (Math.abs(candidate.length - name.length) > allowed) continue;
    const d = editDistance(name, candidate, bestDistance);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Levenshtein distance (insert, delete, replace), given up once it exceeds `limit`. */
export function editDistance(a: string, b: string, limit = Infinity): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
      row.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > limit) return rowMin;
    previous = row;
  }
  return previous[b.length]!;
}
