/**
 * createAffinityProxy(config, deps): the request pipeline, top to bottom, and the listener that
 * runs it. The steps themselves are functions of pipeline/steps.ts; this file puts them in order
 * and carries a request between them (sync or async, whichever each answers), including the two
 * joins that need the proxy's parts: a platform's copy dropped by dedupe, and a webhook handed to
 * the mailbox (DELIVERY=queued) instead of forwarded.
 *
 *   sanitize → read body → verify → dedupe → key → queue, or affinity → route → forward → learn → report
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/types';
import type { Mailbox } from './delivery/mailbox';
import { acceptWebhook, type Acceptance } from './delivery/accept';
import { internalError, mailboxUnavailable, noUpstream, signatureRejected, signingKeysUnavailable, stackOf, type ProxyError } from './errors';
import { sendError, writeJson } from './json-answer';
import { createListener, drain, listen } from './listener/listener';
import { log, logError, pathOnly } from './log';
import { modeOf } from './modes';
import type { ProxyObserver } from './observe/observer';
import { newFlight, type Flight } from './pipeline/flight';
import { buildParts, type Parts } from './pipeline/parts';
import { PLATFORMS } from './platforms/platforms';
import { addAffinity, findKey, learn, outcomeOfError, planBody, recordOf, sanitize, verify, type BodyPlan } from './pipeline/steps';
import { hadBody, readBody } from './request/body';
import { REJECTION_TEXT, type Verdict } from './signature/scheme';
import { connectStore, waitBriefly } from './store/backends';
import type { AffinityStore } from './store/store';
import type { Clock } from './core/clock';
import { goOn } from './core/maybe';
import { dispatch } from './upstream/dispatch';
import type { UpstreamPool } from './upstream/pool';
import type { DeliveryIds } from './dedupe/delivery-ids';

export interface ProxyDeps {
  /** Where learned cookies live (default: as STORE says; none in modes that learn nothing). */
  readonly store?: AffinityStore;
  /** Time source for cookie expiry and signature timestamps (default Date.now). */
  readonly clock?: Clock;
  /** Told how requests end, how upstreams and the store behave (metrics, access log, tests). */
  readonly observer?: ProxyObserver;
}

export interface AffinityProxy {
  readonly server: Server;
  /** Modes that learn: where learned cookies live. */
  readonly store: AffinityStore | undefined;
  /** Hash mode: the upstreams and their health. */
  readonly pool: UpstreamPool | undefined;
  /** DELIVERY=queued: the stored webhooks, their deliveries and dead letters. */
  readonly mailbox: Mailbox | undefined;
  /** False once close() has begun: readiness turns 503 before the listener closes. */
  readonly accepting: boolean;
  /** Request body bytes held in memory now, across every request (bounded by MAX_BUFFERED_BYTES). */
  readonly bufferedBytes: number;
  /** Claims in the store, shared by replicas (the keeper's lease and what it asked for). */
  sharedIds(): DeliveryIds;
  /** Listens on config.port/config.host (after giving a networked store a moment to connect). */
  listen(): Promise<AddressInfo>;
  /**
   * Graceful stop: refuse new connections, let in-flight requests finish for up to
   * config.shutdownTimeoutMs, then cut what is left. Idempotent.
   */
  close(): Promise<void>;
}

export function createAffinityProxy(config: Config, deps: ProxyDeps = {}): AffinityProxy {
  const clock = deps.clock ?? Date.now;
  const observer = deps.observer ?? {};
  const mode = modeOf(config.mode);
  // One connection for every part that uses the store (cookies, mailbox, dedupe), opened by the first.
  const session = connectStore(config.store, config.storeOptions, { clock, timeoutMs: config.storeTimeoutMs });
  const store = deps.store ?? (mode.learns ? session.store() : undefined);
  const parts = buildParts(config, store, session, clock, observer, forward);
  const server = createListener(config, (req, res) => onRequest(parts, server, req, res));
  let closing: Promise<void> | undefined;

  return {
    server,
    store,
    pool: parts.route.pool,
    mailbox: parts.mailbox,
    get accepting() {
      return !parts.shuttingDown;
    },
    get bufferedBytes() {
      return parts.budget.inUse;
    },
    sharedIds: () => parts.dedupe?.ids ?? session.deliveryIds(),
    async listen() {
      if (store !== undefined) await waitBriefly(store);
      if (parts.mailbox !== undefined) await waitBriefly(parts.mailbox.spool);
      if (parts.dedupe !== undefined) await waitBriefly(parts.dedupe.ids);
      return listen(server, config.port, config.host);
    },
    close() {
      closing ??= (async () => {
        parts.shuttingDown = true;
        // The mailbox goes on delivering what it holds while the listener drains.
        await Promise.all([drain(server, config.shutdownTimeoutMs), parts.mailbox?.drain(config.shutdownTimeoutMs)]);
        await parts.mailbox?.close();
        await parts.dedupe?.ids.close();
        parts.route.close();
        parts.forwarder.close();
        await store?.close();
        await session.close();
      })();
      return closing;
    },
  };
}

/** Sanitize, then read the body when a later step needs it; otherwise forward it unread. */
function onRequest(parts: Parts, server: Server, req: IncomingMessage, res: ServerResponse): void {
  const flight = newFlight(req, res);
  // One listener per request does all the end-of-request work (each listener costs).
  res.on('close', () => closed(parts, flight));
  if (parts.shuttingDown) res.once('finish', () => server.closeIdleConnections());
  try {
    sanitize(req.headers, parts.sanitizers);
    const plan = planBody(req, parts.verifier !== undefined, parts.config.verifyAllMethods, parts.readsForms, parts.signForward !== undefined);
    if (!plan.verify && !plan.findKey && plan.sign !== true) {
      parts.forwardSoon(flight);
      return;
    }
    readBody(req, parts.config.maxBodyBytes, parts.budget, flight, (err, body) => {
      if (err !== undefined) fail(parts, flight, err);
      else onBody(parts, flight, plan, body);
    });
  } catch (err) {
    crashed(flight, err);
  }
}

/** Verify the signature (when the plan says so), then find the key. */
function onBody(parts: Parts, flight: Flight, plan: BodyPlan, body: Buffer): void {
  flight.body = body;
  try {
    if (!plan.verify || parts.verifier === undefined) {
      dedupeThen(parts, flight, body, () => onVerified(parts, flight, plan, body));
      return;
    }
    const verdict = verify(parts.verifier, flight.req.headers, body, parts.clock());
    goOn(
      verdict,
      (v) => afterVerdict(parts, flight, plan, body, v),
      (err) => crashed(flight, err),
    );
  } catch (err) {
    crashed(flight, err);
  }
}

function afterVerdict(parts: Parts, flight: Flight, plan: BodyPlan, body: Buffer, verdict: Verdict): void {
  if (verdict.ok) dedupeThen(parts, flight, body, () => onVerified(parts, flight, plan, body));
  else {
    log.proxy('%s %p: signature %s', flight.req.method, flight.req.url, verdict.reason);
    const header = parts.verifier?.header ?? 'signature';
    fail(parts, flight, verdict.reason === 'unavailable' ? signingKeysUnavailable() : signatureRejected(header, REJECTION_TEXT[verdict.reason]));
  }
}

/**
 * DEDUPE: a copy of a delivery already taken (the platform re-sent it) is answered
 * `200 {"duplicate":true}` and goes no further; anything else claims its id and goes on. A store
 * that cannot answer lets the delivery through (a copy too many beats a delivery lost).
 */
function dedupeThen(parts: Parts, flight: Flight, body: Buffer, next: () => void): void {
  const id = parts.dedupe?.idOf(flight.req.headers, body);
  if (parts.dedupe === undefined || id === undefined) {
    next();
    return;
  }
  const decide = (first: boolean): void => {
    if (first) {
      flight.deliveryId = id;
      next();
      return;
    }
    log.proxy('%s %p: a copy of a delivery already taken', flight.req.method, flight.req.url);
    flight.outcome = 'duplicate';
    writeJson(flight.res, 200, { duplicate: true });
  };
  goOn(
    parts.dedupe.ids.claim(id, parts.dedupe.ttlMs),
    decide,
    (err) => crashed(flight, err),
    () => next(),
  );
}

/** Find the key, then add affinity; forward without affinity when there is no key. */
function onVerified(parts: Parts, flight: Flight, plan: BodyPlan, body: Buffer): void {
  const { req } = flight;
  const found = findKey(req, body, plan, parts.config);
  if (!found.found) {
    flight.outcome = found.outcome;
    // Forwarded as received: a body read only for its signature goes as framed.
    if (found.outcome === 'passthrough' || found.outcome === 'encoded') flight.body = hadBody(req) ? body : undefined;
    else log.proxy('%s %p: %s, forwarded without affinity', req.method, req.url, found.outcome);
  } else {
    log.proxy('%s %p: key %k', req.method, req.url, found.key);
    flight.outcome = 'affinity';
    flight.exchange = { headers: req.headers, key: found.key };
  }
  if (parts.mailbox !== undefined) queue(parts, parts.mailbox, flight);
  else forwardWithAffinity(parts, flight);
}

/** Affinity, then forward (soon): the direct path. */
function forwardWithAffinity(parts: Parts, flight: Flight): void {
  const pending = flight.exchange === undefined ? undefined : addAffinity(parts.strategies, flight.exchange);
  if (pending === undefined) parts.forwardSoon(flight);
  else pending.then(() => parts.forwardSoon(flight)).catch((err: unknown) => crashed(flight, err));
}

/**
 * Delivery mailbox: a POST whose body is held is stored and answered at once (its delivery comes
 * later, in order per key). Anything else, or what the mailbox cannot store, is forwarded directly.
 */
function queue(parts: Parts, mailbox: Mailbox, flight: Flight): void {
  const answer = (acceptance: Acceptance): void => {
    if (acceptance.stored) {
      flight.outcome = 'queued';
      writeJson(flight.res, parts.config.queueAckStatus, { queued: acceptance.id });
      return;
    }
    if (acceptance.why === 'not-for-the-mailbox') {
      forwardWithAffinity(parts, flight);
      return;
    }
    if (acceptance.why === 'store-down' && parts.refuseWhenStoreDown) {
      parts.logFallback('delivery mailbox: its store is away: webhooks are answered 503 for the platform to send again (QUEUE_WHEN_STORE_DOWN)');
      fail(parts, flight, mailboxUnavailable());
      return;
    }
    parts.logFallback(`delivery mailbox: a webhook could not be stored (${NOT_STORED[acceptance.why]}): forwarded directly`);
    parts.observer.mailboxFellBack?.(acceptance.why);
    flight.outcome = 'direct-fallback';
    // A replica is delivering the stored copy already: the bot can drop whichever comes second.
    flight.storedAs = acceptance.id;
    forwardWithAffinity(parts, flight);
  };
  const acceptance = acceptWebhook(mailbox, flight.req, flight.body, flight.exchange?.key, parts.clock(), PLATFORMS[parts.config.platform]);
  goOn(acceptance, answer, (err) => crashed(flight, err));
}

const NOT_STORED: Record<Exclude<Extract<Acceptance, { stored: false }>['why'], 'not-for-the-mailbox'>, string> = {
  full: 'QUEUE_MAX_BYTES reached',
  'store-down': 'its store is unreachable',
  unreplicated: 'its replicas did not confirm it in time (QUEUE_ACK_REPLICAS)',
  'unreplicated-in-flight': 'its replicas did not confirm it in time (QUEUE_ACK_REPLICAS); a copy is being delivered with the same delivery id',
};

/** Route, then forward along the route; learn from the answer. */
function forward(parts: Parts, flight: Flight): void {
  // The client may have left while we read the store or waited for our turn.
  if (flight.req.socket.destroyed) return;
  try {
    sendAlongRoute(parts, flight);
  } catch (err) {
    crashed(flight, err);
  }
}

function sendAlongRoute(parts: Parts, flight: Flight): void {
  const candidates = parts.route.candidates(flight.exchange?.key);
  if (candidates.length === 0) {
    fail(parts, flight, noUpstream(parts.route.retryAfterSeconds()));
    return;
  }
  dispatch(
    parts.forwarder,
    parts.route,
    candidates,
    {
      req: flight.req,
      res: flight.res,
      body: flight.body,
      headers: headersAdded(parts, flight),
      tried: (candidate) => (flight.upstream = candidate.id),
      sent: (call) => (flight.upstreamCall = call),
      answered: (head) => {
        if (flight.exchange !== undefined && parts.learners.length > 0) learn(parts.learners, flight.exchange, head);
      },
      failed: (err) => fail(parts, flight, err),
    },
    parts.observer,
  );
}

/**
 * What a direct forward carries besides the request's own headers: affinity (the header, a
 * learned cookie), the id of a stored copy being delivered too, and the Standard Webhooks headers.
 */
function headersAdded(parts: Parts, flight: Flight): Readonly<Record<string, string>> | undefined {
  const affinity = flight.exchange?.upstreamHeaders;
  const { storedAs, body } = flight;
  const signed = parts.signForward !== undefined && body !== undefined ? parts.signForward(storedAs ?? randomUUID(), body, parts.clock()) : undefined;
  if (storedAs === undefined && signed === undefined) return affinity;
  return { ...affinity, ...(storedAs === undefined ? {} : { 'x-webhook-delivery-id': storedAs }), ...signed };
}

/** Ends a request that cannot be forwarded: answers with the error, or drops a client already gone. */
function fail(parts: Parts, flight: Flight, err: ProxyError): void {
  const { req, res } = flight;
  flight.outcome = outcomeOfError(err);
  if (err.code === 'CLIENT_ABORTED' || res.destroyed || req.socket.destroyed) {
    flight.outcome = 'client-aborted';
    log.proxy('%s %p: 499 client gone (%s)', req.method, req.url, err.message);
    return;
  }
  const line = `${req.method} ${pathOnly(req.url)}: ${err.status} ${err.message}`;
  if (err.code === 'SIGNATURE_REJECTED') parts.logRejection(line);
  else logError(line);
  // After a 413 or 503 for the body the rest of it is unread: the connection cannot carry
  // another request.
  sendError(res, err, err.code === 'BODY_TOO_LARGE' || err.code === 'BUFFERS_FULL');
}

function crashed(flight: Flight, err: unknown): void {
  logError(`internal error: ${stackOf(err)}`);
  flight.outcome = 'internal-error';
  sendError(flight.res, internalError(), true);
}

/** Report: the response is done, or the client has gone; stops the upstream request then. */
function closed(parts: Parts, flight: Flight): void {
  if (flight.charged > 0) parts.budget.release(flight.charged);
  // A delivery that was not taken lets the platform's next copy through.
  if (flight.deliveryId !== undefined && !(flight.res.writableFinished && flight.res.statusCode >= 200 && flight.res.statusCode < 300)) {
    void Promise.resolve(parts.dedupe?.ids.release(flight.deliveryId)).catch(() => {});
  }
  if (!flight.res.writableFinished) flight.upstreamCall?.abort();
  parts.observer.requestEnded?.(recordOf(flight));
}
