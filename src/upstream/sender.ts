/**
 * The one upstream sender: every request that leaves the proxy — a direct forward and a mailbox
 * delivery alike — goes out through it. What a sender promises is here; how it keeps the promise
 * is an engine's (engines/: undici, the default, and Node's own http client), chosen by
 * FORWARD_ENGINE. Every engine joins the target's path, rewrites Host (CHANGE_ORIGIN), sends the
 * body, refuses interim answers other than 100 and 103 and unasked upgrades, sends once more on a
 * fresh connection when a kept-alive one turns out to have been closed unread, and times out
 * stalled exchanges (UPSTREAM_TIMEOUT_MS). What is done with the answer is the caller's.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { ProxyError } from '../errors';

export interface SenderOptions {
  readonly upstreamTimeoutMs: number;
  /** How long an idle upstream connection is kept for reuse (UPSTREAM_KEEP_ALIVE_MS). */
  readonly keepAliveMs: number;
  readonly targetInsecure: boolean;
  readonly changeOrigin: boolean;
  /** Told each time a request is sent again because its kept-alive connection had died unused. */
  readonly onStaleConnection?: (target: URL) => void;
}

/** Where requests go: an upstream's URL (its path is a prefix of every request's path). */
export interface ForwardTarget {
  readonly url: URL;
}

/** One upstream a request may be sent to. */
export interface Candidate {
  /** A stable identity, for logs and metrics: the upstream's URL. */
  readonly id: string;
  readonly target: ForwardTarget;
}

/** One request to send, the same whoever sends it. */
export interface Outgoing {
  readonly method: string;
  /** Path and query as received (absolute-form is cut to its path): joined to the target's path. */
  readonly url: string;
  /** End-to-end headers, X-Forwarded-* included; Content-Length set for a held body. */
  readonly headers: OutgoingHttpHeaders;
  /** A held body (sent in one write, and again on a fresh connection if need be), a stream sent once as framed, or none. */
  readonly body: Buffer | Readable | undefined;
}

/** An answer's status line and header fields, before its body. */
export interface AnswerHead {
  readonly status: number;
  readonly statusText: string;
  /** Lower-case names; Set-Cookie always a list, other repeated fields a list or joined. */
  readonly headers: IncomingHttpHeaders;
}

/** Takes an answer's body as it comes. */
export interface AnswerReader {
  /** A chunk of the body; false asks for no more until the `resume` given with the head is called. */
  data(chunk: Buffer): boolean;
  /** The body came whole (with its trailer fields, if it had some). */
  end(trailers: IncomingHttpHeaders | undefined): void;
  /** The body broke off: the upstream closed, reset or stalled mid-answer, or sent what is not HTTP. */
  cut(err: ProxyError): void;
}

/** A request on its way: `abort` it when nobody waits for its answer any more (it holds a connection). */
export interface UpstreamCall {
  abort(): void;
}

export interface SendCallbacks {
  /** The request is under way. */
  readonly onSent?: (call: UpstreamCall) => void;
  /** The upstream answered: its head; the body goes to the reader returned. */
  readonly onAnswer: (head: AnswerHead, resume: () => void) => AnswerReader;
  /** Nothing came back (never after onAnswer: a broken body goes to the reader's `cut`). */
  readonly onFailure: (err: ProxyError) => void;
}

export interface Sender {
  send(target: ForwardTarget, outgoing: Outgoing, callbacks: SendCallbacks): void;
  /** Drops the engine's connections. */
  close(): void;
}

export function forwardTarget(url: URL): ForwardTarget {
  return { url };
}

/** The request's path on the target: the target's path as a prefix, absolute-form cut to its path. */
export function upstreamPath(target: ForwardTarget, outgoing: Outgoing): string {
  return joinPath(target.url.pathname, pathOf(outgoing.url));
}

/** A request target in absolute-form (`http://host/path`) as its path and query; others as they are. */
function pathOf(url: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url;
  try {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  } catch {
    return url;
  }
}

/**
 * The target's path as a prefix of the request's path and query, repeated slashes in the path
 * collapsed (`//hook` → `/hook`; the query is left as it is), as the proxy has always joined them.
 */
function joinPath(prefix: string, url: string): string {
  const joined = prefix === '' || prefix === '/' ? url : prefix.replace(/\/+$/, '') + (url.startsWith('/') ? url : `/${url}`);
  const query = joined.indexOf('?');
  const path = query === -1 ? joined : joined.slice(0, query);
  return path.includes('//') ? path.replace(/\/{2,}/g, '/') + joined.slice(path.length) : joined;
}

/** Whether the body is streamed (sent once as it comes, so never sent again) rather than held. */
export function isStreamed(body: Outgoing['body']): body is Readable {
  return body !== undefined && !Buffer.isBuffer(body);
}

/** A reader for an answer whose body nobody wants: it is read and let go. */
export const DISCARD: AnswerReader = { data: () => true, end: () => {}, cut: () => {} };
