/**
 * Bounded request body reader: the whole body as one Buffer, exactly the bytes received.
 */
import type { IncomingMessage } from 'node:http';
import { bodyTooLarge, clientAborted, tooManyBufferedBytes, type ProxyError } from '../errors';
import type { BodyBudget, BudgetHolder } from './body-budget';

/**
 * True for the requests whose body we read to find a key: POSTs declared as JSON
 * (application/json, application/*+json) or not declared at all. Everything else streams through.
 */
export function isJsonPost(req: IncomingMessage): boolean {
  if (req.method !== 'POST') return false;
  const type = req.headers['content-type'];
  if (type === undefined || type === '') return true;
  const semi = type.indexOf(';');
  const media = (semi === -1 ? type : type.slice(0, semi)).trim().toLowerCase();
  return media === 'application/json' || (media.startsWith('application/') && media.endsWith('+json'));
}

/** True for form-encoded POSTs (Slack's slash commands and interactivity). */
export function isFormPost(req: IncomingMessage): boolean {
  return req.method === 'POST' && (req.headers['content-type'] ?? '').trim().toLowerCase().startsWith('application/x-www-form-urlencoded');
}

/** Called once with the whole body, or with why there is none. */
export type BodyCallback = (...result: [err: ProxyError, body: undefined] | [err: undefined, body: Buffer]) => void;

/**
 * Reads the body, refusing (BODY_TOO_LARGE) a declared Content-Length over `limit` before
 * reading a byte, and a chunked body as soon as it grows past `limit`. Every byte read is charged
 * to `budget` and counted on `holder` (the caller gives `holder.charged` back when the request
 * is done): a declared body that cannot fit in what is left is refused (BUFFERS_FULL) before a
 * byte of it is read, any other at the chunk that does not fit. CLIENT_ABORTED when the client
 * goes away first. A callback, not a promise: this runs for every webhook.
 */
export function readBody(req: IncomingMessage, limit: number, budget: BodyBudget, holder: BudgetHolder, done: BodyCallback): void {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    const length = Number(declared);
    const refusal = length > limit ? bodyTooLarge(limit) : budget.fits(length) ? undefined : tooManyBufferedBytes();
    if (refusal !== undefined) {
      // Read and drop what the client is still sending until the answer has closed the
      // connection: closing with unread bytes makes the kernel reset the connection, and a client
      // that is still writing may never read the answer.
      req.resume();
      done(refusal, undefined);
      return;
    }
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;

  req.on('data', (chunk: Buffer) => {
    if (settled) return;
    size += chunk.length;
    const overLimit = size > limit;
    if (overLimit || !budget.tryCharge(chunk.length)) {
      settled = true;
      // The rest is read and dropped (not held) until the error answer has closed the connection.
      done(overLimit ? bodyTooLarge(limit) : tooManyBufferedBytes(), undefined);
      return;
    }
    holder.charged += chunk.length;
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (settled) return;
    settled = true;
    done(undefined, chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, size));
  });
  // 'close' comes after 'end' for a complete body; before it, the client has gone. (Node emits
  // 'error' on an aborted request only to its listeners, so none is needed.)
  req.on('close', () => {
    if (settled) return;
    settled = true;
    done(clientAborted(), undefined);
  });
}

/** A compressed body is not decompressed to find a key: that would be a zip-bomb door. */
export function isEncoded(req: IncomingMessage): boolean {
  const encoding = req.headers['content-encoding'];
  return encoding !== undefined && encoding.trim().toLowerCase() !== 'identity';
}

/** Whether the request can be sent again: its body is held (`body`), or it framed none. */
export function isReplayable(req: IncomingMessage, body: Buffer | undefined): boolean {
  return body !== undefined || !hadBody(req);
}

/** Whether the request framed a body at all (a GET read for its signature usually did not). */
export function hadBody(req: IncomingMessage): boolean {
  return req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
}
