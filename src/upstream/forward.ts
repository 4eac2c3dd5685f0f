/**
 * Forwarding through http-proxy over keep-alive agents, with the upstream's failures mapped
 * onto ProxyErrors in one place.
 */
import http from 'node:http';
import https from 'node:https';
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Url } from 'node:url';
import httpProxy from 'http-proxy';
import { errnoOf, fromUpstreamError, type ProxyError } from '../errors';
import { isReplayable } from '../request/body';
import { removeHopByHop } from './hop-by-hop';
import { refuseInterim, refuseUpgrade } from './interim';
import { watchForStalls } from './stall-watch';

export interface ForwarderOptions {
  readonly upstreamTimeoutMs: number;
  /** How long an idle upstream connection is kept for reuse (UPSTREAM_KEEP_ALIVE_MS). */
  readonly keepAliveMs: number;
  readonly targetInsecure: boolean;
  readonly changeOrigin: boolean;
  /** Told each time a request is sent again because its kept-alive connection had died unused. */
  readonly onStaleConnection?: (target: URL) => void;
}

/** Where one request goes, prepared once per upstream. */
export interface ForwardTarget {
  readonly url: URL;
  /** The URL in the legacy shape http-proxy works with (it would re-parse a string per request). */
  readonly proxyTarget: Partial<Url>;
}

export interface ForwardCallbacks {
  /** The upstream request has its connection: `abandon` it if the client leaves. */
  readonly onSent: (upstreamRequest: ClientRequest) => void;
  /** The upstream answered; called before the answer is relayed (cookie learning, health). */
  readonly onResponse?: (proxyRes: IncomingMessage) => void;
  /** Nothing (or only part of an answer) came back. */
  readonly onFailure: (err: ProxyError) => void;
}

export interface Forwarder {
  /**
   * Sends the request to `target` and relays the answer. `body` is the already-read body, sent
   * as is with its Content-Length; without it the request streams through untouched. `headers`
   * are set on the upstream request over the client's. `again`: this request was sent before
   * (to another upstream), so its X-Forwarded-* values are already in place.
   *
   * A request that can be replayed (its body is held, or it has none) and that fails on a
   * kept-alive connection before a byte of answer came back is sent once more, on a new
   * connection: the upstream closed that connection without reading the request.
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer | undefined,
    headers: Readonly<Record<string, string>> | undefined,
    target: ForwardTarget,
    callbacks: ForwardCallbacks,
    again?: boolean,
  ): void;
  /**
   * The client has left before its answer was relayed: stops the upstream request, which would
   * otherwise hold an upstream connection for nobody.
   */
  abandon(upstreamRequest: ClientRequest): void;
  /** Drops the agents' idle upstream connections. */
  close(): void;
}


/** One send of a request, as the forwarder's event handlers find it again. */
interface Attempt {
  readonly callbacks: ForwardCallbacks;
  /** Set once the upstream request has its connection. */
  upstreamRequest: ClientRequest | undefined;
  /** That connection's bytes read before this request: more by the failure means an answer began. */
  readBefore: number;
}

function newAttempt(callbacks: ForwardCallbacks): Attempt {
  return { callbacks, upstreamRequest: undefined, readBefore: 0 };
}

/** The errors of a connection the peer closed: what writing onto a kept-alive socket it just closed gives. */
const CLOSED_BY_PEER = new Set(['ECONNRESET', 'EPIPE']);

/**
 * True when `attempt` failed on a reused connection that the upstream had closed before reading
 * it: reset or closed, and not a byte of answer back. A timeout (ours) or an answer begun is
 * never taken for that.
 */
function diedUnread(attempt: Attempt, err: unknown): boolean {
  const upstreamRequest = attempt.upstreamRequest;
  if (upstreamRequest === undefined || !upstreamRequest.reusedSocket) return false;
  if (!CLOSED_BY_PEER.has(errnoOf(err))) return false;
  const socket = upstreamRequest.socket;
  return socket !== null && socket !== undefined && socket.bytesRead === attempt.readBefore;
}

export function forwardTarget(url: URL): ForwardTarget {
  return {
    url,
    proxyTarget: {
      protocol: url.protocol,
      host: url.host,
      // http.request wants an IPv6 literal without its brackets.
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port,
      path: url.pathname,
    },
  };
}

/** The keep-alive agents requests go through, and the non-keep-alive ones for a resend. */
interface Agents {
  readonly http: http.Agent;
  readonly https: https.Agent;
  /** For the one resend after a kept-alive connection died: always a new connection, closed after. */
  readonly freshHttp: http.Agent;
  readonly freshHttps: https.Agent;
}

function createAgents(options: ForwarderOptions): Agents {
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

export function createForwarder(options: ForwarderOptions): Forwarder {
  const agents = createAgents(options);
  const allAgents = [agents.http, agents.https, agents.freshHttp, agents.freshHttps];
  // Per-request state, found again from http-proxy's events (which only pass req/res).
  const pending = new WeakMap<IncomingMessage, Attempt>();
  const proxy = httpProxy.createProxyServer({
    xfwd: true,
    changeOrigin: options.changeOrigin,
    secure: !options.targetInsecure,
  });
  listenToProxy(proxy, pending);
  const stalls = watchForStalls(allAgents, options.upstreamTimeoutMs);

  /** One send of `req` through http-proxy; `onError` gets what it failed with. */
  function send(req: IncomingMessage, res: ServerResponse, web: httpProxy.ServerOptions, attempt: Attempt, onError: (err: Error) => void): void {
    const headers = req.headers;
    const connection = removeHopByHop(headers);
    pending.set(req, attempt);
    proxy.web(req, res, web, (err) => {
      pending.delete(req);
      onError(err);
    });
    // http-proxy has copied the headers by now (synchronously); the client's own Connection
    // header is put back because it decides the client connection's keep-alive.
    if (connection !== undefined) headers.connection = connection;
  }

  return {
    forward(req, res, body, extraHeaders, target, callbacks, again = false) {
      const secure = target.url.protocol === 'https:';
      const web: httpProxy.ServerOptions = {
        target: target.proxyTarget,
        agent: secure ? agents.https : agents.http,
        // http-proxy copies them onto its copy of the request headers.
        headers: extraHeaders,
      };
      // http-proxy appends to X-Forwarded-* in req.headers on every send: once is enough.
      if (again) web.xfwd = false;
      if (body !== undefined) {
        const headers = req.headers;
        if (headers['transfer-encoding'] !== undefined) delete headers['transfer-encoding'];
        headers['content-length'] = String(body.length);
        web.buffer = bufferSource(body);
      }
      const attempt = newAttempt(callbacks);
      send(req, res, web, attempt, (err) => {
        if (diedUnread(attempt, err) && isReplayable(req, body) && !req.socket.destroyed) {
          options.onStaleConnection?.(target.url);
          const retry = { ...web, agent: secure ? agents.freshHttps : agents.freshHttp, xfwd: false };
          send(req, res, retry, newAttempt(callbacks), (retryErr) => callbacks.onFailure(fromUpstreamError(retryErr)));
          return;
        }
        callbacks.onFailure(fromUpstreamError(err));
      });
    },
    abandon(upstreamRequest) {
      if (!upstreamRequest.destroyed) upstreamRequest.destroy();
    },
    close() {
      stalls.close();
      for (const agent of allAgents) agent.destroy();
      proxy.close();
    },
  };
}

/** http-proxy's events: the upstream request has its connection; the upstream answered. */
function listenToProxy(proxy: httpProxy, pending: WeakMap<IncomingMessage, Attempt>): void {
  // Emitted once the upstream request has a connection (a tick after proxy.web()).
  proxy.on('proxyReq', (proxyReq, req, res) => {
    // The client left while the request waited for its connection.
    if (res.closed) {
      if (!res.writableFinished) proxyReq.destroy();
      return;
    }
    const attempt = pending.get(req);
    if (attempt === undefined) return;
    attempt.upstreamRequest = proxyReq;
    attempt.readBefore = proxyReq.socket?.bytesRead ?? 0;
    proxyReq.on('upgrade', refuseUpgrade);
    proxyReq.on('information', refuseInterim);
    attempt.callbacks.onSent(proxyReq);
  });

  proxy.on('proxyRes', (proxyRes, req, res) => {
    // Our connection with the client is ours to manage: without this, http-proxy would relay the
    // upstream's Connection header. (Assigned rather than deleted: deleting a property turns the
    // headers object into a slow dictionary for everything that reads it next.)
    proxyRes.headers.connection = req.headers.connection || 'keep-alive';
    if (proxyRes.headers['keep-alive'] !== undefined) delete proxyRes.headers['keep-alive'];
    // An upstream that dies mid-body must not leave the client waiting for the rest.
    proxyRes.on('close', () => {
      if (!proxyRes.complete) res.destroy();
    });
    const attempt = pending.get(req);
    pending.delete(req);
    attempt?.callbacks.onResponse?.(proxyRes);
  });

  // http-proxy only emits these when no per-call callback is given, or when the client's
  // socket is already gone (then it aborts the upstream request itself). A listener must
  // exist so that an 'error' never goes unhandled.
  proxy.on('error', () => {});
  proxy.on('econnreset', () => {});
}

/**
 * What http-proxy needs of `options.buffer`: something it can `.pipe(proxyReq)`. Writing the
 * whole body with `end` sends headers and body in one write, with no stream machinery.
 */
function bufferSource(body: Buffer): Readable {
  return {
    pipe<T extends NodeJS.WritableStream>(destination: T): T {
      destination.end(body);
      return destination;
    },
  } as unknown as Readable;
}
