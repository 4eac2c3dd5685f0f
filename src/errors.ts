/**
 * Errors that end a request, each with a stable code and the status it answers.
 * Every error response is the same small JSON shape: {"status", "error", "message"}.
 */
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';

export type ProxyErrorCode =
  | 'BODY_TOO_LARGE'
  | 'CLIENT_ABORTED'
  | 'UPSTREAM_UNREACHABLE'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_FAILED'
  | 'SIGNATURE_REJECTED'
  | 'INTERNAL';

export class ProxyError extends Error {
  constructor(
    readonly code: ProxyErrorCode,
    /** HTTP status answered; 499 means the client is gone and nothing is answered. */
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProxyError';
  }
}

export const bodyTooLarge = (limit: number) =>
  new ProxyError('BODY_TOO_LARGE', 413, `request body is larger than ${limit} bytes`);

export const clientAborted = () => new ProxyError('CLIENT_ABORTED', 499, 'client closed the connection');

export const signatureRejected = (header: string) =>
  new ProxyError('SIGNATURE_REJECTED', 401, `missing or invalid ${header}`);

export const internalError = () => new ProxyError('INTERNAL', 500, 'internal proxy error');

export const upstreamTimeout = (ms: number) =>
  new ProxyError('UPSTREAM_TIMEOUT', 504, `upstream did not answer within ${ms} ms`);

// Connection-level failures towards the upstream: nothing useful came back → 502.
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
]);

/** Maps whatever the upstream request failed with onto a ProxyError. */
export function fromUpstreamError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'UNKNOWN';
  if (UNREACHABLE.has(code)) {
    return new ProxyError('UPSTREAM_UNREACHABLE', 502, `upstream unreachable (${code})`, { cause: err });
  }
  return new ProxyError('UPSTREAM_FAILED', 502, `upstream request failed (${code})`, { cause: err });
}

/** Writes the JSON error body; closes the connection when the request body was not read. */
export function sendError(res: ServerResponse, err: ProxyError, closeConnection = false): void {
  if (res.headersSent || res.destroyed) {
    // Half an answer is worse than none: cut it so the client sees a failure.
    res.destroy();
    return;
  }
  const body = JSON.stringify({ status: err.status, error: STATUS_CODES[err.status] ?? 'Error', message: err.message });
  res.statusCode = err.status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  if (closeConnection) {
    // Unread request bytes may follow on this socket: do not parse them as a next request.
    res.setHeader('connection', 'close');
    res.shouldKeepAlive = false;
  }
  res.end(body);
}
