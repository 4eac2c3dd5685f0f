/**
 * The one upstream sender: every request that leaves the proxy — a direct forward and a mailbox
 * delivery alike — goes out here, over one set of keep-alive agents. It joins the target's path,
 * rewrites Host (CHANGE_ORIGIN), sends the body, refuses interim answers and upgrades, sends once
 * more on a fresh connection when a kept-alive one turns out to have been closed unread, and times
 * out stalled connections (UPSTREAM_TIMEOUT_MS). What is done with the answer is the caller's.
 */
import http from 'node:http';
import https from 'node:https';
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { errnoOf, fromUpstreamError, type ProxyError } from '../errors';
import { refuseInterim, refuseUpgrade } from './interim';
import { watchForStalls } from './stall-watch';

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

export interface SendCallbacks {
  /** The upstream request exists: `abandon` it if whoever waits for the answer leaves. */
  readonly onSent?: (request: ClientRequest) => void;
  /** The upstream answered: status and headers; the body is the caller's to read. */
  readonly onAnswer: (answer: IncomingMessage) => void;
  /** Nothing came back, or the answer broke (then possibly after onAnswer). */
  readonly onFailure: (err: ProxyError) => void;
}

export interface Sender {
  send(target: ForwardTarget, outgoing: Outgoing, callbacks: SendCallbacks): void;
  /** Stops a request whose answer nobody waits for any more (it would hold a connection). */
  abandon(request: ClientRequest): void;
  /** Drops the agents' connections. */
  close(): void;
}

export function forwardTarget(url: URL): ForwardTarget {
  return { url };
}

/** The errors of a connection the peer closed: what writing onto a kept-alive socket it just closed gives. */
const CLOSED_BY_PEER = new Set(['ECONNRESET', 'EPIPE']);

export function createSender(options: SenderOptions): Sender {
  const agents = createAgents(options);
  const allAgents = [agents.http, agents.https, agents.freshHttp, agents.freshHttps];
  const stalls = watchForStalls(allAgents, options.upstreamTimeoutMs);

  function send(target: ForwardTarget, outgoing: Outgoing, callbacks: SendCallbacks, fresh = false): void {
    const { url } = target;
    const secure = url.protocol === 'https:';
    const agent = fresh ? (secure ? agents.freshHttps : agents.freshHttp) : secure ? agents.https : agents.http;
    const headers = options.changeOrigin ? { ...outgoing.headers, host: url.host } : outgoing.headers;
    const request = (secure ? https : http).request({
      protocol: url.protocol,
      // http.request wants an IPv6 literal without its brackets.
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port,
      method: outgoing.method,
      path: joinPath(url.pathname, pathOf(outgoing.url)),
      headers,
      agent,
    });
    let answered = false;
    // The connection's bytes read before this request: more by the failure means an answer began.
    let readBefore = 0;
    request.once('socket', (socket) => (readBefore = socket.bytesRead));
    request.on('upgrade', refuseUpgrade);
    request.on('information', refuseInterim);
    request.on('response', (answer) => {
      answered = true;
      callbacks.onAnswer(answer);
    });
    request.on('error', (err) => {
      // After an answer too: an upstream that breaks right after its head (a 204 followed by
      // body bytes) fails the exchange while the caller may still answer for it.
      if (!answered && !fresh && !isStream(outgoing.body) && diedUnread(request, readBefore, err)) {
        options.onStaleConnection?.(url);
        send(target, outgoing, callbacks, true);
        return;
      }
      callbacks.onFailure(fromUpstreamError(err));
    });
    callbacks.onSent?.(request);
    const { body } = outgoing;
    if (isStream(body)) {
      body.pipe(request);
      // A client that leaves mid-body: the upstream request is abandoned by its owner.
    } else request.end(body);
  }

  return {
    send,
    abandon(request) {
      if (!request.destroyed) request.destroy();
    },
    close() {
      stalls.close();
      for (const agent of allAgents) agent.destroy();
    },
  };
}

function isStream(body: Outgoing['body']): body is Readable {
  return body !== undefined && !Buffer.isBuffer(body);
}

/**
 * True when `request` failed on a reused connection that the upstream had closed before reading
 * it: reset or closed, and not a byte of answer back. A timeout (ours) or an answer begun is
 * never taken for that.
 */
function diedUnread(request: ClientRequest, readBefore: number, err: unknown): boolean {
  if (!request.reusedSocket || !CLOSED_BY_PEER.has(errnoOf(err))) return false;
  const socket = request.socket;
  return socket !== null && socket !== undefined && socket.bytesRead === readBefore;
}

/** The keep-alive agents requests go through, and the non-keep-alive ones for a resend. */
interface Agents {
  readonly http: http.Agent;
  readonly https: https.Agent;
  /** For the one resend after a kept-alive connection died: always a new connection, closed after. */
  readonly freshHttp: http.Agent;
  readonly freshHttps: https.Agent;
}

function createAgents(options: SenderOptions): Agents {
  const keepAlive = {
    keepAlive: true,
    // Drop idle sockets before a typical upstream does (Node's server default is 5 s) so a
    // request is not written onto a socket the upstream is closing. Node also honours the
    // upstream's `Keep-Alive: timeout=N` hint when it is shorter.
    timeout: options.keepAliveMs,
    maxFreeSockets: 256,
    scheduling: 'lifo' as const,
  };
  const rejectUnauthorized = !options.targetInsecure;
  return {
    http: new http.Agent(keepAlive),
    https: new https.Agent({ ...keepAlive, rejectUnauthorized }),
    freshHttp: new http.Agent({ keepAlive: false }),
    freshHttps: new https.Agent({ keepAlive: false, rejectUnauthorized }),
  };
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
export function joinPath(prefix: string, url: string): string {
  const joined = prefix === '' || prefix === '/' ? url : prefix.replace(/\/+$/, '') + (url.startsWith('/') ? url : `/${url}`);
  const query = joined.indexOf('?');
  const path = query === -1 ? joined : joined.slice(0, query);
  return path.includes('//') ? path.replace(/\/{2,}/g, '/') + joined.slice(path.length) : joined;
}
