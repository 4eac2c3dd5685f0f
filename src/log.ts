/**
 * Logging through `debug` namespaces (DEBUG=webhook-affinity:*), plus `logError` for what an
 * operator must always see. Actor ids identify people: only `keyTag` of them is ever logged.
 */
import { createHash } from 'node:crypto';
import createDebug from 'debug';

export const log = {
  config: createDebug('webhook-affinity:config'),
  proxy: createDebug('webhook-affinity:proxy'),
  cookie: createDebug('webhook-affinity:cookie'),
  store: createDebug('webhook-affinity:store'),
  server: createDebug('webhook-affinity:server'),
  pool: createDebug('webhook-affinity:pool'),
};

/** A short, stable, non-reversible tag for an affinity key, safe to print. */
export function keyTag(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 10);
}

/** A request path without its query, which may hold secrets: safe to print. */
export function pathOnly(url: string | undefined): string {
  const u = url ?? '';
  const q = u.indexOf('?');
  return q === -1 ? u : u.slice(0, q);
}

// `%k` prints a key as its tag, `%p` a URL as its path. debug applies formatters only when the
// namespace is enabled, so the hashing costs nothing on the hot path by default.
createDebug.formatters.k = (key: string) => keyTag(key);
createDebug.formatters.p = (url: string | undefined) => pathOnly(url);

/** Always printed on stderr, whatever DEBUG says: one line, no bodies, no raw keys. */
export function logError(message: string): void {
  process.stderr.write(`webhook-affinity: ${message}\n`);
}
