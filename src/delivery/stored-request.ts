/**
 * A request turned into a Letter: the headers it would have been forwarded with (hop-by-hop
 * fields removed, X-Forwarded-* added as a direct forward adds them) and its exact body bytes.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { addForwarded } from '../upstream/forwarded';
import { endToEndHeaders } from '../upstream/hop-by-hop';
import type { Letter } from './letter';

export function letterOf(req: IncomingMessage, body: Buffer, key: string | undefined, now: number): Letter {
  const headers = endToEndHeaders(req.headers);
  // The body is sent whole, with its own Content-Length, when it is delivered.
  delete headers['transfer-encoding'];
  delete headers['content-length'];
  addForwarded(headers, req);
  return { id: randomUUID(), key, method: req.method ?? 'POST', url: req.url ?? '/', headers, body, arrivedAt: now };
}
