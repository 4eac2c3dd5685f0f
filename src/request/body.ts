/**
 * Bounded request body reader: the whole body as one Buffer, exactly the bytes received.
 */
import type { IncomingMessage } from 'node:http';
import { bodyTooLarge, clientAborted } from '../errors';

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

/**
 * Reads the body, refusing (BODY_TOO_LARGE) a declared Content-Length over `limit` before
 * reading a byte, and a chunked body as soon as it grows past `limit`. Rejects with
 * CLIENT_ABORTED when the client goes away first.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(bodyTooLarge(limit));

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;

    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        // Stop pulling bytes off the wire; the 413 closes the connection.
        req.pause();
        reject(bodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onGone = (): void => {
      cleanup();
      reject(clientAborted());
    };
    function cleanup(): void {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      req.off('close', onGone);
    }

    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onGone);
    req.on('close', onGone);
  });
}
