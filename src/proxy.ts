/**
 * createAffinityProxy(config, deps): the request pipeline and the server that runs it.
 *
 *   sanitize → read body (bounded) → verify signature → find the key → add affinity → forward
 *   → learn from the answer → report the outcome
 */
import type { ClientRequest, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config';
import { strategiesFor } from './affinity/strategies';
import type { KeyedExchange } from './affinity/strategy';
import { internalError, neverReachedUpstream, noUpstream, ProxyError, sendError, signatureRejected } from './errors';
import { log, logError, pathOnly } from './log';
import type { ProxyObserver } from './observer';
import type { RequestOutcome } from './outcomes';
import { hadBody, isEncoded, isJsonPost, isReplayable, readBody } from './request/body';
import { BodyBudget } from './request/body-budget';
import { keyFromBody } from './request/key';
import { inCheckPhase } from './check-phase';
import { createListener, drain } from './listener';
import { signatureVerifier } from './request/signature';
import { createStore } from './store/create';
import type { AffinityStore, Clock } from './store/store';
import { throttled } from './throttle';
import { createForwarder, forwardTarget, type ForwardTarget } from './upstream/forward';
import { poolFromConfig, type PoolMember, type UpstreamPool } from './upstream/pool';

export interface ProxyDeps {
  /** Where learned cookies live (default: as STORE says; none in header and hash modes). */
  readonly store?: AffinityStore;
  /** Time source for cookie expiry (default Date.now). */
  readonly clock?: Clock;
  /** Told how requests end, how upstreams and the store behave (metrics, access log, tests). */
  readonly observer?: ProxyObserver;
}

export interface AffinityProxy {
  readonly server: Server;
  /** Cookie and both modes: where learned cookies live. */
  readonly store: AffinityStore | undefined;
  /** Hash mode: the upstreams and their health. */
  readonly pool: UpstreamPool | undefined;
  /** False once close() has begun: readiness turns 503 before the listener closes. */
  readonly accepting: boolean;
  /** Request body bytes held in memory now, across every request (bounded by MAX_BUFFERED_BYTES). */
  readonly bufferedBytes: number;
  /** Listens on config.port/config.host; resolves with the bound address. */
  listen(): Promise<AddressInfo>;
  /**
   * Graceful stop: refuse new connections, let in-flight requests finish for up to
   * config.shutdownTimeoutMs, then cut what is left. Idempotent.
   */
  close(): Promise<void>;
}

/** One request in the pipeline. */
interface Flight {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  outcome: RequestOutcome;
  /** Set when the request has a key. */
  exchange?: KeyedExchange;
  /** The upstream chosen last (for the record). */
  upstream?: string;
  /** Body bytes read, when the body was read. */
  bytesIn?: number;
  /** The request sent upstream last, until the client's response closes. */
  upstreamRequest?: ClientRequest;
  /** When the request arrived (performance.now()), and the socket's bytes written before it. */
  readonly started: number;
  readonly writtenBefore: number;
  /** Body bytes charged to the buffer budget, given back when the response is done. */
  charged: number;
}

/** How long start-up waits for a networked store before listening without it. */
const STORE_CONNECT_PATIENCE_MS = 2000;

const OUTCOME_OF_ERROR: Record<ProxyError['code'], RequestOutcome> = {
  BODY_TOO_LARGE: 'too-large',
  CLIENT_ABORTED: 'client-aborted',
  UPSTREAM_UNREACHABLE: 'upstream-unreachable',
  UPSTREAM_TIMEOUT: 'upstream-timeout',
  UPSTREAM_FAILED: 'upstream-failed',
  SIGNATURE_REJECTED: 'signature-rejected',
  NO_UPSTREAM: 'no-upstream',
  BUFFERS_FULL: 'overloaded',
  INTERNAL: 'internal-error',
};

export function createAffinityProxy(config: Config, deps: ProxyDeps = {}): AffinityProxy {
  const clock = deps.clock ?? Date.now;
  const observer = deps.observer ?? {};
  const learnsCookies = config.mode === 'cookie' || config.mode === 'both';
  const store = deps.store ?? (learnsCookies ? createStore(config, clock) : undefined);
  const strategies = strategiesFor(config, store, clock, observer);
  const sanitizers = strategies.flatMap((s) => (s.sanitize ? [s.sanitize] : []));
  const learners = strategies.filter((s) => s.learn !== undefined);
  const verifier = config.webhookSecrets.length > 0 ? signatureVerifier(config.signatureScheme, config.webhookSecrets) : undefined;
  const logRejection = throttled(logError, 10_000, clock);
  const report = observer.requestEnded;

  const forwarder = createForwarder({
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    keepAliveMs: config.upstreamKeepAliveMs,
    onStaleConnection: observer.upstreamRetried === undefined ? undefined : (url) => observer.upstreamRetried!(url.href, 'stale-connection'),
    targetInsecure: config.targetInsecure,
    changeOrigin: config.changeOrigin,
  });
  const target = forwardTarget(config.target);
  const pool = config.mode === 'hash' ? poolFromConfig(config, clock, observer.upstreamChanged) : undefined;
  const poolTargets = new Map<PoolMember, ForwardTarget>(pool?.members.map((m) => [m, forwardTarget(m.url)]));

  const server = createListener(config, onRequest);
  const budget = new BodyBudget(config.maxBufferedBytes);

  let shuttingDown = false;

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const flight: Flight = {
      req,
      res,
      outcome: 'passthrough',
      exchange: undefined,
      upstream: undefined,
      bytesIn: undefined,
      upstreamRequest: undefined,
      started: performance.now(),
      writtenBefore: req.socket.bytesWritten,
      charged: 0,
    };
    // One listener per request does all the end-of-request work (each listener costs).
    res.on('close', () => closed(flight));
    if (shuttingDown) res.once('finish', () => server.closeIdleConnections());
    try {
      for (const sanitize of sanitizers) sanitize(req.headers);
      const mustVerify = verifier !== undefined && (req.method === 'POST' || config.verifyAllMethods);
      const json = isJsonPost(req);
      if (!mustVerify && !json) {
        forwardSoon(flight, undefined);
        return;
      }
      readBody(req, config.maxBodyBytes, budget, flight, (err, body) => (err === undefined ? onBody(flight, body!, mustVerify, json) : fail(flight, err)));
    } catch (err) {
      crashed(flight, err);
    }
  }

  /** `json`: the body was read to find a key (not only to check its signature). */
  function onBody(flight: Flight, body: Buffer, mustVerify: boolean, json: boolean): void {
    const { req } = flight;
    flight.bytesIn = body.length;
    try {
      if (mustVerify && !verifier!.verify(body, req.headers)) {
        fail(flight, signatureRejected(verifier!.header));
        return;
      }
      // Read for the signature only, or compressed: forwarded as received, without a key.
      if (!json || isEncoded(req)) {
        flight.outcome = json ? 'encoded' : 'passthrough';
        forwardSoon(flight, hadBody(req) ? body : undefined);
        return;
      }
      const { outcome, key } = keyFromBody(body, config);
      if (key === undefined) {
        flight.outcome = outcome as RequestOutcome;
        log.proxy('%s %p: %s, forwarded without affinity', req.method, req.url, outcome);
        forwardSoon(flight, body);
        return;
      }
      flight.outcome = 'affinity';
      log.proxy('%s %p: key %k', req.method, req.url, key);
      const exchange: KeyedExchange = { req, key };
      flight.exchange = exchange;
      const pending = applyAll(exchange);
      if (pending === undefined) forwardSoon(flight, body);
      else pending.then(() => forwardSoon(flight, body)).catch((err: unknown) => crashed(flight, err));
    } catch (err) {
      crashed(flight, err);
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

  /** Forwards once the requests read in this pass of the event loop are all read (check-phase.ts). */
  const forwardSoon = inCheckPhase((flight: Flight, body: Buffer | undefined) => {
    try {
      forward(flight, body);
    } catch (err) {
      crashed(flight, err);
    }
  });

  function forward(flight: Flight, body: Buffer | undefined): void {
    // The client may have left while we read the store or waited for our turn.
    if (flight.req.socket.destroyed) return;
    if (pool === undefined) {
      flight.upstream = target.url.href;
      const started = performance.now();
      forwarder.forward(flight.req, flight.res, body, flight.exchange?.upstreamHeaders, target, {
        onSent: (upstreamRequest) => (flight.upstreamRequest = upstreamRequest),
        onResponse: (proxyRes) => {
          observer.upstreamResponded?.(target.url.href, (performance.now() - started) / 1000);
          learn(flight, proxyRes);
        },
        onFailure: (err) => fail(flight, err),
      });
      return;
    }
    const candidates = pool.candidates(flight.exchange?.key);
    if (candidates.length === 0) {
      fail(flight, noUpstream(pool.retryAfterSeconds()));
      return;
    }
    // Only a request whose bytes we hold can be sent again. (The forwarder's header changes give
    // the same result when made twice.)
    const replayable = isReplayable(flight.req, body);
    const attempts = Math.min(config.retries + 1, candidates.length);
    const attempt = (i: number): void => {
      const member = candidates[i]!;
      flight.upstream = member.id;
      const started = performance.now();
      forwarder.forward(flight.req, flight.res, body, flight.exchange?.upstreamHeaders, poolTargets.get(member)!, {
        onSent: (upstreamRequest) => (flight.upstreamRequest = upstreamRequest),
        onResponse: (proxyRes) => {
          observer.upstreamResponded?.(member.id, (performance.now() - started) / 1000);
          pool.reportSuccess(member);
          learn(flight, proxyRes);
        },
        onFailure: (err) => {
          // Only a connection never made says the upstream is unwell, and only then is the
          // request certainly unseen: a request that reached an upstream is never replayed.
          const unseen = neverReachedUpstream(err);
          if (unseen) pool.reportFailure(member, err.message);
          if (unseen && replayable && i + 1 < attempts && !flight.req.socket.destroyed) {
            observer.upstreamRetried?.(member.id, 'failover');
            log.pool('%s %p: %s, trying %s', flight.req.method, flight.req.url, err.message, candidates[i + 1]!.id);
            attempt(i + 1);
          } else fail(flight, err);
        },
      }, i > 0);
    };
    attempt(0);
  }

  function learn(flight: Flight, proxyRes: IncomingMessage): void {
    const exchange = flight.exchange;
    if (exchange === undefined || learners.length === 0) return;
    for (const strategy of learners) strategy.learn!(exchange, proxyRes);
  }

  /** Ends a request that cannot be forwarded: answers with the error, or drops a client already gone. */
  function fail(flight: Flight, err: ProxyError): void {
    const { req, res } = flight;
    flight.outcome = OUTCOME_OF_ERROR[err.code];
    if (err.code === 'CLIENT_ABORTED' || res.destroyed || req.socket.destroyed) {
      flight.outcome = 'client-aborted';
      log.proxy('%s %p: 499 client gone (%s)', req.method, req.url, err.message);
      return;
    }
    const line = `${req.method} ${pathOnly(req.url)}: ${err.status} ${err.message}`;
    if (err.code === 'SIGNATURE_REJECTED') logRejection(line);
    else logError(line);
    // After a 413 or 503 for the body the rest of it is unread: the connection cannot carry
    // another request.
    sendError(res, err, err.code === 'BODY_TOO_LARGE' || err.code === 'BUFFERS_FULL');
  }

  function crashed(flight: Flight, err: unknown): void {
    logError(`internal error: ${(err as Error)?.stack ?? String(err)}`);
    flight.outcome = 'internal-error';
    sendError(flight.res, internalError(), true);
  }

  /** The response is done, or the client has gone: stops the upstream request then, and reports. */
  function closed(flight: Flight): void {
    const { req, res } = flight;
    const finished = res.writableFinished;
    if (flight.charged > 0) budget.release(flight.charged);
    if (!finished && flight.upstreamRequest !== undefined) forwarder.abandon(flight.upstreamRequest);
    if (report === undefined) return;
    const declared = Number(req.headers['content-length']);
    report({
      outcome: finished ? flight.outcome : 'client-aborted',
      method: req.method ?? '',
      url: req.url ?? '',
      status: finished ? res.statusCode : 499,
      durationMs: performance.now() - flight.started,
      bytesIn: flight.bytesIn ?? (Number.isFinite(declared) ? declared : 0),
      bytesOut: req.socket.bytesWritten - flight.writtenBefore,
      upstream: flight.upstream,
      key: flight.exchange?.key,
    });
  }

  /** Gives a networked store a moment to connect; an unreachable one is reported, not waited for. */
  async function storeConnected(): Promise<void> {
    if (store?.waitUntilReady === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const patience = new Promise<void>((resolve) => (timer = setTimeout(resolve, STORE_CONNECT_PATIENCE_MS)));
    await Promise.race([store.waitUntilReady().catch(() => {}), patience]);
    clearTimeout(timer);
  }

  let closing: Promise<void> | undefined;

  return {
    server,
    store,
    pool,
    get accepting() {
      return !shuttingDown;
    },
    get bufferedBytes() {
      return budget.inUse;
    },
    async listen() {
      await storeConnected();
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
    await drain(server, config.shutdownTimeoutMs);
    pool?.close();
    forwarder.close();
    await store?.close();
  }
}
