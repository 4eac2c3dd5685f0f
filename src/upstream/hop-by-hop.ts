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
