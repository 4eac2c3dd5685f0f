/**
 * Connection-specific header fields (RFC 9110 §7.6.1), which a proxy does not forward.
 */
import type { IncomingHttpHeaders } from 'node:http';

// `expect` goes too: the client already got its 100 Continue from us.
const HOP_BY_HOP = ['keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'expect'];

/** The names the Connection header lists (connection-specific too), lower-cased. */
function namedByConnection(connection: string): string[] {
  return connection
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((name) => name !== '' && name !== 'close' && name !== 'keep-alive');
}

/**
 * Removes connection-specific fields from `headers` in place (http-proxy copies them for the
 * upstream request) and returns the Connection header removed. Only fields present are deleted:
 * a delete turns the object into a slower dictionary.
 */
export function removeHopByHop(headers: IncomingHttpHeaders): string | undefined {
  const connection = headers.connection;
  if (connection !== undefined) {
    for (const name of namedByConnection(connection)) delete headers[name];
    delete headers.connection;
  }
  for (const name of HOP_BY_HOP) if (headers[name] !== undefined) delete headers[name];
  return connection;
}

/** A copy of `headers` without connection-specific fields, each value one string. */
export function endToEndHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const dropped = new Set([...HOP_BY_HOP, 'connection', ...namedByConnection(headers.connection ?? '')]);
  const copy: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || dropped.has(name)) continue;
    copy[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return copy;
}
