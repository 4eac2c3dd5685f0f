/**
 * A request turned into a Letter: the headers it would have been forwarded with (hop-by-hop
 * fields removed, X-Forwarded-* added as a direct forward adds them) and its exact body bytes.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { endToEndHeaders } from '../upstream/hop-by-hop';
import type { Letter } from './letter';

export function letterOf(req: IncomingMessage, body: Buffer, key: string | undefined, now: number): Letter {
  const headers = endToEndHeaders(req.headers);
  // The body is sent whole, with its own Content-Length, when it is delivered.
  delete headers['transfer-encoding'];
  delete headers['content-length'];
  const encrypted = 'encrypted' in req.socket && req.socket.encrypted === true;
  appendValue(headers, 'x-forwarded-for', req.socket.remoteAddress ?? '');
  appendValue(headers, 'x-forwarded-port', /:(\d+)$/.exec(req.headers.host ?? '')?.[1] ?? (encrypted ? '443' : '80'));
  appendValue(headers, 'x-forwarded-proto', encrypted ? 'https' : 'http');
  headers['x-forwarded-host'] ??= req.headers.host ?? '';
  return { id: randomUUID(), key, method: req.method ?? 'POST', url: req.url ?? '/', headers, body, arrivedAt: now };
}

/** Appends to a comma-separated list header, as http-proxy's xfwd does. */
function appendValue(headers: Record<string, string>, name: string, value: string): void {
  const before = headers[name];
  headers[name] = before === undefined || before === '' ? value : `${before},${value}`;
}
