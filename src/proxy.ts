/**
 * createAffinityProxy(config, deps): the request pipeline and the server that runs it.
 *
 *   sanitize → read body (bounded) → find the key → add affinity → forward → learn from answer
 */
import http from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config';
import { cookieAffinity } from './affinity/cookie';
import { headerAffinity } from './affinity/header';
import type { AffinityStrategy, KeyedExchange } from './affinity/strategy';
import { ProxyError, sendError } from './errors';
import { keyTag, log, logError } from './log';
import { isJsonPost, readBody } from './request/body';
import { keyFromBody } from './request/key';
import { MemoryStore } from './store/memory';
import type { AffinityStore, Clock } from './store/store';
import { createForwarder } from './upstream/forward';
import { answerClientError } from './client-error';

export interface ProxyDeps {
  /** Where learned cookies live (default: a MemoryStore bounded by AFFINITY_MAX_ENTRIES). */
  readonly store?: AffinityStore;
  /** Time source for cookie expiry (default Date.now). */
  readonly clock?: Clock;
}

export interface AffinityProxy {
  readonly server: Server;
  readonly store: AffinityStore;
  /** Listens on config.port/config.host; resolves with the bound address. */
  listen(): Promise<AddressInfo>;
  /**
   * Graceful stop: refuse new connections, let in-flight requests finish for up to
   * config.shutdownTimeoutMs, then cut what is left. Idempotent.
   */
  close(): Promise<void>;
}

export function createAffinityProxy(config: Config, deps: ProxyDeps = {}): AffinityProxy {
  const clock = deps.clock ?? Date.now;
  const store = deps.store ?? new MemoryStore({ maxEntries: config.affinityMaxEntries, clock });
  const strategies = strategiesFor(config, store, clock);
  const sanitizers = strategies.flatMap((s) => (s.sanitize ? [s.sanitize] : []));
  const learners = strategies.filter((s) => s.learn !== undefined);
  // The exchange of each request still waiting for its answer, for the strategies that learn.
  const exchanges = new WeakMap<IncomingMessage, KeyedExchange>();

  const forwarder = createForwarder({
    target: config.target,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    targetInsecure: config.targetInsecure,
    changeOrigin: config.changeOrigin,
    onResponse: learners.length === 0 ? undefined : learnFromResponse,
  });

  const server = http.createServer(
    {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      // Node only checks the two timeouts above this often (30 s by default).
      connectionsCheckingInterval: Math.min(1000, config.headersTimeoutMs),
    },
    onRequest,
  );
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  server.on('clientError', answerClientError);

  let shuttingDown = false;

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (shuttingDown) res.once('finish', () => server.closeIdleConnections());
    try {
      for (const sanitize of sanitizers) sanitize(req.headers);
      if (!isJsonPost(req)) {
        forward(req, res, undefined);
        return;
      }
      readBody(req, config.maxBodyBytes).then(
        (body) => onBody(req, res, body),
        (err: ProxyError) => onBodyError(req, res, err),
      );
    } catch (err) {
      internalError(res, err);
    }
  }

  function onBody(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    try {
      const { outcome, key } = keyFromBody(body, config);
      if (key === undefined) {
        log.proxy('%s %s: %s, forwarded without affinity', req.method, pathOf(req), outcome);
        forward(req, res, body);
        return;
      }
      log.proxy('%s %s: key %s', req.method, pathOf(req), keyTag(key));
      const exchange: KeyedExchange = { req, key };
      if (learners.length > 0) exchanges.set(req, exchange);
      const pending = applyAll(exchange);
      if (pending === undefined) forward(req, res, body);
      else pending.then(() => forward(req, res, body)).catch((err: unknown) => internalError(res, err));
    } catch (err) {
      internalError(res, err);
    }
  }

  /** Runs every strategy's apply; returns a promise only when one of them is asynchronous. */
  function applyAll(exchange: KeyedExchange): Promise<void> | undefined {
    let chain: Promise<void> | undefined;
    for (const strategy of strategies) {
      if (chain !== undefined) chain = chain.then(() => strategy.apply(exchange));
      else {
        const result = strategy.apply(exchange);
        if (result !== undefined) chain = result;
      }
    }
    return chain;
  }

  function forward(req: IncomingMessage, res: ServerResponse, body: Buffer | undefined): void {
    // The client may have left while we read the store.
    if (req.socket.destroyed) return;
    forwarder.forward(req, res, body, (err) => {
      exchanges.delete(req);
      if (res.destroyed || req.socket.destroyed) {
        log.proxy('%s %s: 499 client gone (%s)', req.method, pathOf(req), err.message);
        return;
      }
      logError(`${req.method} ${pathOf(req)}: ${err.status} ${err.message}`);
      sendError(res, err);
    });
  }

  function learnFromResponse(req: IncomingMessage, proxyRes: IncomingMessage): void {
    const exchange = exchanges.get(req);
    if (exchange === undefined) return;
    exchanges.delete(req);
    for (const strategy of learners) strategy.learn!(exchange, proxyRes);
  }

  function onBodyError(req: IncomingMessage, res: ServerResponse, err: ProxyError): void {
    if (err.code === 'CLIENT_ABORTED') {
      log.proxy('%s %s: 499 client left while sending the body', req.method, pathOf(req));
      return;
    }
    logError(`${req.method} ${pathOf(req)}: ${err.status} ${err.message}`);
    // The rest of the body is not read: the connection cannot carry another request.
    sendError(res, err, true);
  }

  function internalError(res: ServerResponse, err: unknown): void {
    logError(`internal error: ${(err as Error)?.stack ?? String(err)}`);
    sendError(res, new ProxyError('UPSTREAM_FAILED', 500, 'internal proxy error'), true);
  }

  let closing: Promise<void> | undefined;

  return {
    server,
    store,
    listen() {
      return new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close() {
      closing ??= shutdown();
      return closing;
    },
  };

  async function shutdown(): Promise<void> {
    shuttingDown = true;
    const closed = new Promise<void>((resolve) => {
      if (!server.listening) resolve();
      else server.close(() => resolve());
    });
    // Idle keep-alive connections would hold the server open for their whole timeout.
    server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), config.shutdownTimeoutMs);
      timer.unref();
    });
    if ((await Promise.race([closed, deadline])) === 'timeout') {
      logError(`shutdown: requests still in flight after ${config.shutdownTimeoutMs} ms, closing their connections`);
      server.closeAllConnections();
      await closed;
    }
    clearTimeout(timer);
    forwarder.close();
    await store.close();
  }
}

function strategiesFor(config: Config, store: AffinityStore, clock: Clock): AffinityStrategy[] {
  const header = () => headerAffinity(config.affinityHeader);
  const cookie = () => cookieAffinity({ store, names: config.affinityCookies, ttlMs: config.affinityTtlMs, clock });
  switch (config.mode) {
    case 'header':
      return [header()];
    case 'cookie':
      return [cookie()];
    case 'both':
      return [header(), cookie()];
  }
}

/** The request path without its query, which may hold secrets: safe to log. */
function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
