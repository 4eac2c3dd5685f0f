/**
 * Errors with a stable code: the ProxyErrors that end a request (each with the status it
 * answers), the StartupErrors that stop the process, and the upstream failures mapped onto them.
 */
import { STATUS_CODES } from 'node:http';

export type ProxyErrorCode =
  | 'BODY_TOO_LARGE'
  | 'CLIENT_ABORTED'
  | 'UPSTREAM_UNREACHABLE'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_FAILED'
  | 'SIGNATURE_REJECTED'
  | 'SIGNING_KEYS_UNAVAILABLE'
  | 'NO_UPSTREAM'
  | 'BUFFERS_FULL'
  | 'STORE_UNAVAILABLE'
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

export const bodyTooLarge = (limit: number) => new ProxyError('BODY_TOO_LARGE', 413, `request body is larger than ${limit} bytes`);

export const clientAborted = () => new ProxyError('CLIENT_ABORTED', 499, 'client closed the connection');

/** A 401 that says what was wrong (`bad signature`, `token expired`, ...) and which header it was in. */
export const signatureRejected = (header: string, reasonText: string) => new ProxyError('SIGNATURE_REJECTED', 401, `${reasonText} (${header})`);

/** The platform's keys could not be fetched: nothing can be verified, so nothing is let through. */
export const signingKeysUnavailable = () => new ProxyError('SIGNING_KEYS_UNAVAILABLE', 503, 'the signing keys cannot be fetched; retry shortly', { headers: { 'retry-after': '5' } });

export const noUpstream = (retryAfterSeconds: number) => new ProxyError('NO_UPSTREAM', 503, 'no upstream is available', { headers: { 'retry-after': String(retryAfterSeconds) } });

export const tooManyBufferedBytes = () => new ProxyError('BUFFERS_FULL', 503, 'too many request bodies are being received at once; retry shortly', { headers: { 'retry-after': '1' } });

export const unexpectedInterim = (status: number) =>
  new ProxyError('UPSTREAM_FAILED', 502, `upstream answered ${[status, STATUS_CODES[status]].filter((part) => part !== undefined).join(' ')} instead of a final answer`);

/** QUEUE_WHEN_STORE_DOWN refuses: the platform sends the webhook again later, in order, once the mailbox can take it. */
export const mailboxUnavailable = () => new ProxyError('STORE_UNAVAILABLE', 503, 'the delivery mailbox cannot store webhooks now; send it again shortly', { headers: { 'retry-after': '5' } });

export const internalError = () => new ProxyError('INTERNAL', 500, 'internal proxy error');

export const upstreamTimeout = (ms: number) => new ProxyError('UPSTREAM_TIMEOUT', 504, `upstream did not answer within ${ms} ms`);

// Connection-level failures towards the upstream: nothing useful came back → 502.
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE']);

// Failures that happen before a connection exists: the upstream cannot have seen the request,
// so it may be sent elsewhere.
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** True when the upstream cannot have received the request: safe to try another one. */
export function neverReachedUpstream(err: ProxyError): boolean {
  return err.code === 'UPSTREAM_UNREACHABLE' && NOT_CONNECTED.has(errnoOf(err.cause));
}

/** Maps whatever the upstream request failed with onto a ProxyError. */
export function fromUpstreamError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  const code = errnoOf(err) || 'UNKNOWN';
  if (UNREACHABLE.has(code)) {
    return new ProxyError('UPSTREAM_UNREACHABLE', 502, `upstream unreachable (${code})`, { cause: err });
  }
  return new ProxyError('UPSTREAM_FAILED', 502, `upstream request failed (${code})`, { cause: err });
}

/** What start-up failed at: the process exits 1 with the message (server.ts). */
export type StartupErrorCode = 'PROXY_LISTEN' | 'ADMIN_LISTEN';

export class StartupError extends Error {
  constructor(
    readonly code: StartupErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StartupError';
  }
}

/** The message of anything thrown, for a log line. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The stack of anything thrown (its message when it has none), for an internal-error line. */
export function stackOf(err: unknown): string {
  return (err instanceof Error ? err.stack : undefined) ?? messageOf(err);
}

/** A system error's code (ECONNRESET, ...), or '' when it has none. */
export function errnoOf(err: unknown): string {
  if (typeof err !== 'object' || err === null || !('code' in err)) return '';
  return typeof err.code === 'string' ? err.code : '';
}
