/**
 * Errors that end a request, each with a stable code and the status it answers.
 * Every error response is the same small JSON shape: {"status", "error", "message"}.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';

export type ProxyErrorCode =
  | 'BODY_TOO_LARGE'
  | 'CLIENT_ABORTED'
  | 'UPSTREAM_UNREACHABLE'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_FAILED'
  | 'SIGNATURE_REJECTED'
  | 'NO_UPSTREAM'
  | 'BUFFERS_FULL'
  | 'INTERNAL';

export class ProxyError extends Error {
  constructor(
    readonly code: ProxyErrorCode,
    /** HTTP status answered; 499 means the client is gone and nothing is answered. */
    readonly status: number,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options);
    this.name = 'ProxyError';
    this.headers = options?.headers;
  }

  /** Extra response headers (Retry-After on a 503). */
  readonly headers: Record<string, string> | undefined;
}

export const bodyTooLarge = (limit: number) =>
  new ProxyError('BODY_TOO_LARGE', 413, `request body is larger than ${limit} bytes`);

export const clientAborted = () => new ProxyError('CLIENT_ABORTED', 499, 'client closed the connection');

export const signatureRejected = (header: string) =>
  new ProxyError('SIGNATURE_REJECTED', 401, `missing or invalid ${header}`);

export const noUpstream = (retryAfterSeconds: number) =>
  new ProxyError('NO_UPSTREAM', 503, 'no upstream is available', { headers: { 'retry-after': String(retryAfterSeconds) } });

export const tooManyBufferedBytes = () =>
  new ProxyError('BUFFERS_FULL', 503, 'too many request bodies are being received at once; retry shortly', { headers: { 'retry-after': '1' } });

export const unexpectedInterim = (status: number) =>
  new ProxyError('UPSTREAM_FAILED', 502, `upstream answered ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd() + ' instead of a final answer');

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

// Failures that happen before a connection exists: the upstream cannot have seen the request,
// so it may be sent elsewhere.
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** True when the upstream cannot have received the request: safe to try another one. */
export function neverReachedUpstream(err: ProxyError): boolean {
  return err.code === 'UPSTREAM_UNREACHABLE' && NOT_CONNECTED.has((err.cause as NodeJS.ErrnoException | undefined)?.code ?? '');
}

/** Maps whatever the upstream request failed with onto a ProxyError. */
export function fromUpstreamError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'UNKNOWN';
  if (UNREACHABLE.has(code)) {
    return new ProxyError('UPSTREAM_UNREACHABLE', 502, `upstream unreachable (${code})`, { cause: err });
  }
  return new ProxyError('UPSTREAM_FAILED', 502, `upstream request failed (${code})`, { cause: err });
}

/** How long a connection closed after an error answer goes on reading (and dropping) the request. */
const LINGER_MS = 2000;

/**
 * A lingering close (as Apache and nginx do): once the answer is written, Node would close the
 * socket at once, and closing with request bytes still arriving makes the kernel reset the
 * connection, which can discard the answer before the client reads it (seen for ~1 in 10
 * refused clients of 3 000 sending bodies at once). Instead: send FIN, keep reading and dropping
 * what the client sends, and close when it does or after LINGER_MS.
 */
function closeLingering(socket: Socket): void {
  socket.destroySoon = function lingeringClose(this: Socket): void {
    this.end();
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once('end', () => this.destroy());
    this.once('close', () => clearTimeout(timer));
  };
}

/** Writes the JSON error body; closes the connection when the request body was not read. */
export function sendError(res: ServerResponse, err: ProxyError, closeConnection = false): void {
  if (res.headersSent || res.destroyed) {
    // Half an answer is worse than none: cut it so the client sees a failure.
    res.destroy();
    return;
  }
  const body = JSON.stringify({ status: err.status, error: STATUS_CODES[err.status] ?? 'Error', message: err.message });
  // An upstream answer whose head was taken in but not yet sent (it broke right after) left its
  // status text and headers (Set-Cookie, ...) on the response: none of them belong to this one.
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.statusCode = err.status;
  res.statusMessage = STATUS_CODES[err.status] ?? 'Error';
  for (const [name, value] of Object.entries(err.headers ?? {})) res.setHeader(name, value);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  if (closeConnection) {
    // Unread request bytes may follow on this socket: do not parse them as a next request.
    res.setHeader('connection', 'close');
    res.shouldKeepAlive = false;
    if (res.socket !== null) closeLingering(res.socket);
  }
  res.end(body);
}
