/**
 * Forwarding through http-proxy over keep-alive agents, with the upstream's failures mapped
 * onto ProxyErrors in one place.
 */
import http from 'node:http';
import https from 'node:https';
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Url } from 'node:url';
import httpProxy from 'http-proxy';
import { fromUpstreamError, type ProxyError } from '../errors';
import { watchForStalls } from './stall-watch';

export interface ForwarderOptions {
  readonly upstreamTimeoutMs: number;
  readonly targetInsecure: boolean;
  readonly changeOrigin: boolean;
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
   * are set on the upstream request over the client's.
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer | undefined,
    headers: Readonly<Record<string, string>> | undefined,
    target: ForwardTarget,
    callbacks: ForwardCallbacks,
  ): void;
  /**
   * The client has left before its answer was relayed: stops the upstream request, which would
   * otherwise hold an upstream connection for nobody.
   */
  abandon(upstreamRequest: ClientRequest): void;
  /** Drops the agents' idle upstream connections. */
  close(): void;
}

// RFC 9110 §7.6.1: connection-specific fields are not forwarded by a proxy. `expect` goes too:
// the client already got its 100 Continue from us.
const HOP_BY_HOP = ['keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'expect'];

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

export function createForwarder(options: ForwarderOptions): Forwarder {
  const agentOptions = {
    keepAlive: true,
    // Drop idle sockets before a typical upstream does (Node's server default is 5 s) so a
    // request is not written onto a socket the upstream is closing. Node also honours the
    // upstream's `Keep-Alive: timeout=N` hint when it is shorter.
    timeout: 4000,
    maxFreeSockets: 256,
    scheduling: 'lifo' as const,
  };
  const httpAgent = new http.Agent(agentOptions);
  const httpsAgent = new https.Agent({ ...agentOptions, rejectUnauthorized: !options.targetInsecure });
  // Per-request callbacks, found again from http-proxy's events (which only pass req/res).
  const pending = new WeakMap<IncomingMessage, ForwardCallbacks>();

  const proxy = httpProxy.createProxyServer({
    xfwd: true,
    changeOrigin: options.changeOrigin,
    secure: !options.targetInsecure,
  });

  const stalls = watchForStalls([httpAgent, httpsAgent], options.upstreamTimeoutMs);
  // Emitted once the upstream request has a connection (a tick after proxy.web()).
  proxy.on('proxyReq', (proxyReq, req, res) => {
    // The client left while the request waited for its connection.
    if (res.closed) {
      if (!res.writableFinished) proxyReq.destroy();
      return;
    }
    pending.get(req)?.onSent(proxyReq);
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
    const callbacks = pending.get(req);
    pending.delete(req);
    callbacks?.onResponse?.(proxyRes);
  });

  // http-proxy only emits these when no per-call callback is given, or when the client's
  // socket is already gone (then it aborts the upstream request itself). A listener must
  // exist so that an 'error' never goes unhandled.
  proxy.on('error', () => {});
  proxy.on('econnreset', () => {});

  return {
    forward(req, res, body, extraHeaders, target, callbacks) {
      const headers = req.headers;
      const connection = removeHopByHop(headers);
      const web: httpProxy.ServerOptions = {
        target: target.proxyTarget,
        agent: target.url.protocol === 'https:' ? httpsAgent : httpAgent,
        // http-proxy copies them onto its copy of the request headers.
        headers: extraHeaders,
      };
      if (body !== undefined) {
        if (headers['transfer-encoding'] !== undefined) delete headers['transfer-encoding'];
        headers['content-length'] = String(body.length);
        web.buffer = bufferSource(body);
      }
      pending.set(req, callbacks);

      proxy.web(req, res, web, (err) => {
        pending.delete(req);
        callbacks.onFailure(fromUpstreamError(err));
      });

      // http-proxy has copied the headers by now (synchronously); the client's own Connection
      // header is put back because it decides the client connection's keep-alive.
      if (connection !== undefined) headers.connection = connection;
    },
    abandon(upstreamRequest) {
      if (!upstreamRequest.destroyed) upstreamRequest.destroy();
    },
    close() {
      stalls.close();
      httpAgent.destroy();
      httpsAgent.destroy();
      proxy.close();
    },
  };
}

/**
 * Removes connection-specific fields (RFC 9110 §7.6.1) from the request headers, which
 * http-proxy copies for the upstream request, and returns the Connection header removed. Only
 * fields present are deleted: a delete turns the object into a slower dictionary.
 */
function removeHopByHop(headers: IncomingHttpHeaders): string | undefined {
  const connection = headers.connection;
  if (connection !== undefined) {
    // The names a Connection header lists are connection-specific too.
    for (const token of connection.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '' && name !== 'close' && name !== 'keep-alive') delete headers[name];
    }
    delete headers.connection;
  }
  for (const name of HOP_BY_HOP) if (headers[name] !== undefined) delete headers[name];
  return connection;
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
