/**
 * FORWARD_ENGINE=undici (the default): requests go out through undici, Node's own HTTP/1.1
 * client, one connection pool per upstream origin, each request dispatched with a handler that
 * hands the answer's head and body straight to the caller (no stream per answer). Why undici:
 * docs/performance.md (it costs about half the CPU of Node's http client per request).
 *
 * What undici decides differently from Node's client, and what is done about it:
 * - a kept-alive connection the upstream closed before reading our request fails it
 *   ("other side closed", or a reset): it is sent once more on a new connection when the
 *   connection had carried answers before and not a byte of this one came (resendable below);
 * - an unasked 101 is "bad upgrade": reported as the interim answer it is;
 * - UPSTREAM_TIMEOUT_MS is undici's connect, headers and body timeouts (time without progress,
 *   as the Node engine's sweep measures it; a slow upload is not timed by it).
 */
import type { Socket } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import { Pool, buildConnector, type Dispatcher } from 'undici';
import { errnoOf, fromUpstreamError, unexpectedInterim, upstreamTimeout, type ProxyError } from '../../errors';
import { isStreamed, upstreamPath, type AnswerReader, type ForwardTarget, type Outgoing, type SendCallbacks, type Sender, type SenderOptions } from '../sender';

/** Set on a connection's error: how many bytes it had read when it failed (undici's own errors carry it as `socket.bytesRead`). */
const READ_BEFORE_ERROR = Symbol('bytesReadBeforeError');

const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
/** A connection the peer closed or reset: what a kept-alive connection closed as we wrote gives. */
const CLOSED_BY_PEER = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

export function createUndiciSender(options: SenderOptions): Sender {
  const connect = countingConnector(options);
  const keptAlive = new Map<string, Pool>();
  const fresh = new Map<string, Pool>();
  const poolFor = (pools: Map<string, Pool>, origin: string): Pool => {
    let pool = pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, {
        connect,
        // Never kept longer than UPSTREAM_KEEP_ALIVE_MS, and shorter when the upstream's
        // `Keep-Alive: timeout=N` says so (less undici's margin of a second or two).
        keepAliveTimeout: options.keepAliveMs,
        keepAliveMaxTimeout: options.keepAliveMs,
        headersTimeout: options.upstreamTimeoutMs,
        bodyTimeout: options.upstreamTimeoutMs,
      });
      pools.set(origin, pool);
    }
    return pool;
  };

  function send(target: ForwardTarget, outgoing: Outgoing, callbacks: SendCallbacks, again = false): void {
    const { url } = target;
    const exchange = new Exchange(callbacks, options.upstreamTimeoutMs, (err) => {
      if (again || !resendable(outgoing, err)) return false;
      options.onStaleConnection?.(url);
      send(target, outgoing, callbacks, true);
      return true;
    });
    callbacks.onSent?.(exchange);
    if (exchange.aborted) return;
    const { body } = outgoing;
    const request: Dispatcher.DispatchOptions = {
      method: outgoing.method,
      path: upstreamPath(target, outgoing),
      headers: headersFor(outgoing, options.changeOrigin ? url.host : undefined),
      body: body === undefined ? null : body,
      // The one resend goes on a connection of its own, closed after its answer.
      reset: again,
    };
    try {
      poolFor(again ? fresh : keptAlive, url.origin).dispatch(request, exchange);
    } catch (err) {
      exchange.onResponseError(undefined, err as Error);
    }
  }

  return {
    send,
    close() {
      for (const pool of [...keptAlive.values(), ...fresh.values()]) void pool.destroy().catch(() => {});
      keptAlive.clear();
      fresh.clear();
    },
  };
}

/**
 * One request and its answer, as undici's dispatch handler: the head and body go to the caller's
 * reader as they come; the caller can abort it (UpstreamCall).
 */
class Exchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private reader: AnswerReader | undefined;
  /** A byte of the answer came: the request was read, and is never sent again. */
  answerBegan = false;
  aborted = false;

  constructor(
    private readonly callbacks: SendCallbacks,
    private readonly timeoutMs: number,
    /** Sends the request again after `err` if it may be; says whether it did. */
    private readonly resend: (err: Error) => boolean,
  ) {}

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.controller?.abort(new Error('the client left'));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.aborted) controller.abort(new Error('the client left'));
  }

  onResponseStarted(): void {
    this.answerBegan = true;
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders, statusText?: string): void {
    if (status < 200) {
      // 103 Early Hints is skipped (a webhook's answer has no use for it); anything else interim fails it.
      if (status !== 103) controller.abort(unexpectedInterim(status));
      return;
    }
    // Node's client always gives Set-Cookie as a list; readers rely on it.
    const setCookie = headers['set-cookie'];
    if (typeof setCookie === 'string') headers['set-cookie'] = [setCookie];
    this.reader = this.callbacks.onAnswer({ status, statusText: statusText ?? '', headers }, () => controller.resume());
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.reader !== undefined && !this.reader.data(chunk)) controller.pause();
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.reader?.end(hasAny(trailers) ? trailers : undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    const failure = this.failureOf(err);
    if (this.reader !== undefined) this.reader.cut(failure);
    else if (this.answerBegan || this.aborted || !this.resend(err)) this.callbacks.onFailure(failure);
  }

  private failureOf(err: Error): ProxyError {
    const code = errnoOf(err);
    if (TIMEOUTS.has(code)) return upstreamTimeout(this.timeoutMs);
    // undici's word for an upgrade nobody asked for.
    if (code === 'UND_ERR_SOCKET' && err.message === 'bad upgrade') return unexpectedInterim(101);
    if (code === 'UND_ERR_SOCKET') return fromUpstreamError(Object.assign(new Error(err.message, { cause: err }), { code: 'ECONNRESET' }));
    return fromUpstreamError(err);
  }
}

/**
 * True when `err` says the request died on a kept-alive connection the upstream had closed
 * unread: closed or reset, the connection had carried an earlier answer (it was reused), and
 * the request holds its body (it can be sent again). Whether a byte of this answer came is the
 * Exchange's to check.
 */
function resendable(outgoing: Outgoing, err: Error): boolean {
  if (isStreamed(outgoing.body) || !CLOSED_BY_PEER.has(errnoOf(err))) return false;
  return bytesReadBefore(err) > 0;
}

function bytesReadBefore(err: Error): number {
  const tagged = (err as { [READ_BEFORE_ERROR]?: number })[READ_BEFORE_ERROR];
  if (tagged !== undefined) return tagged;
  const info = (err as { socket?: { bytesRead?: unknown } }).socket;
  return typeof info?.bytesRead === 'number' ? info.bytesRead : 0;
}

/**
 * undici's connector (TLS per TARGET_INSECURE, connect timeout UPSTREAM_TIMEOUT_MS) that tags a
 * connection's errors with the bytes it had read: a reset carries no such record of its own.
 */
function countingConnector(options: SenderOptions): buildConnector.connector {
  const connect = buildConnector({ rejectUnauthorized: !options.targetInsecure, timeout: options.upstreamTimeoutMs });
  return (connectOptions, callback) => {
    connect(connectOptions, (err, socket) => {
      if (err === null && socket) tagErrors(socket);
      (callback as (err: Error | null, socket: Socket | null) => void)(err, socket);
    });
  };
}

function tagErrors(socket: Socket): void {
  socket.prependListener('error', (err: Error & { [READ_BEFORE_ERROR]?: number }) => {
    err[READ_BEFORE_ERROR] ??= socket.bytesRead;
  });
}

/** The request's headers as undici takes them: Host per CHANGE_ORIGIN, no Transfer-Encoding (undici frames the body itself). */
function headersFor(outgoing: Outgoing, host: string | undefined): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const name in outgoing.headers) {
    const value = outgoing.headers[name];
    if (value === undefined || name === 'transfer-encoding') continue;
    headers[name] = typeof value === 'number' ? String(value) : value;
  }
  if (host !== undefined) headers.host = host;
  return headers;
}

function hasAny(headers: IncomingHttpHeaders | undefined): headers is IncomingHttpHeaders {
  if (headers === undefined) return false;
  for (const _ in headers) return true;
  return false;
}
