/**
 * X-Forwarded-For, -Port, -Proto and -Host, as a direct forward and a stored webhook both carry
 * them: each appended to what the client sent (the usual comma-separated chain), Host kept as the
 * first proxy saw it.
 */
import type { IncomingMessage } from 'node:http';

/** Adds the X-Forwarded-* fields for `req` to `headers` (end-to-end headers, one string each). */
export function addForwarded(headers: Record<string, string>, req: IncomingMessage): Record<string, string> {
  const encrypted = 'encrypted' in req.socket && req.socket.encrypted === true;
  appendValue(headers, 'x-forwarded-for', req.socket.remoteAddress ?? '');
  appendValue(headers, 'x-forwarded-port', /:(\d+)$/.exec(req.headers.host ?? '')?.[1] ?? (encrypted ? '443' : '80'));
  appendValue(headers, 'x-forwarded-proto', encrypted ? 'https' : 'http');
  headers['x-forwarded-host'] ??= req.headers.host ?? '';
  return headers;
}

/** Appends to a comma-separated list header. */
function appendValue(headers: Record<string, string>, name: string, value: string): void {
  const before = headers[name];
  headers[name] = before === undefined || before === '' ? value : `${before},${value}`;
}
