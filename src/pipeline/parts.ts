/**
 * What the pipeline's steps run with, built once per proxy from the configuration: the mode's
 * strategies and route, the signature verifier, the forwarder, the mailbox, the body budget.
 */
import type { AffinityStrategy } from '../affinity/strategy';
import { inCheckPhase } from '../check-phase';
import type { Config } from '../config/types';
import { mailboxFromConfig } from '../delivery/from-config';
import type { Mailbox } from '../delivery/mailbox';
import { logError } from '../log';
import type { DeliveryIds } from '../dedupe/delivery-ids';
import { modeOf } from '../modes';
import type { StoreSession } from '../store/backend';
import type { Platform } from '../platforms/platform';
import { PLATFORMS } from '../platforms/platforms';
import type { ProxyObserver } from '../observe/observer';
import { BodyBudget } from '../request/body-budget';
import type { Route } from '../route/route';
import { ROUTES } from '../route/routes';
import { verifierFor, type SignatureVerifier } from '../signature/verifier';
import { forwardSigner, type Signer } from '../signing/outgoing';
import type { AffinityStore } from '../store/store';
import type { Clock } from '../core/clock';
import { throttled } from '../throttle';
import { createForwarder, type Forwarder } from '../upstream/forward';
import { createSender } from '../upstream/engines';
import type { Flight } from './flight';

/** What the steps are run with: built once per proxy. */
export interface Parts {
  readonly config: Config;
  readonly clock: Clock;
  readonly observer: ProxyObserver;
  readonly strategies: readonly AffinityStrategy[];
  readonly sanitizers: readonly NonNullable<AffinityStrategy['sanitize']>[];
  readonly learners: readonly AffinityStrategy[];
  readonly verifier: SignatureVerifier | undefined;
  readonly route: Route;
  /** DELIVERY=queued: where webhooks are stored and delivered from. */
  readonly mailbox: Mailbox | undefined;
  readonly forwarder: Forwarder;
  readonly budget: BodyBudget;
  readonly logRejection: (line: string) => void;
  readonly logFallback: (line: string) => void;
  /** DELIVERY=queued: a webhook the store cannot take is answered 503 (QUEUE_WHEN_STORE_DOWN), not forwarded. */
  readonly refuseWhenStoreDown: boolean;
  /** DEDUPE: the ids seen lately, and how to find a delivery's id. */
  readonly dedupe: { readonly ids: DeliveryIds; readonly idOf: NonNullable<Platform['deliveryId']>; readonly ttlMs: number } | undefined;
  /** PLATFORM reads form-encoded deliveries for their key. */
  readonly readsForms: boolean;
  /** DELIVERY_SIGNING_SECRET: the Standard Webhooks headers of a direct forward. */
  readonly signForward: Signer | undefined;
  /** Queues a flight for forward() after the event loop's poll phase (check-phase.ts). */
  readonly forwardSoon: (flight: Flight) => void;
  shuttingDown: boolean;
}

/** `forward` is the step the check phase runs for each flight queued with `forwardSoon`. */
export function buildParts(config: Config, store: AffinityStore | undefined, session: StoreSession, clock: Clock, observer: ProxyObserver, forward: (parts: Parts, flight: Flight) => void): Parts {
  const mode = modeOf(config.mode);
  const platform: Platform = PLATFORMS[config.platform];
  const strategies = mode.strategies.flatMap((build) => build({ config, store, clock, observer }) ?? []);
  const route = ROUTES[mode.route]({ config, clock, observer });
  // Every request that leaves goes through this one sender: direct forwards and mailbox deliveries.
  const sender = createSender(config.forwardEngine, {
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    keepAliveMs: config.upstreamKeepAliveMs,
    onStaleConnection: (url: URL) => observer.upstreamRetried?.(url.href, 'stale-connection'),
    targetInsecure: config.targetInsecure,
    changeOrigin: config.changeOrigin,
  });
  const parts: Parts = {
    config,
    clock,
    observer,
    strategies,
    sanitizers: strategies.flatMap((s) => (s.sanitize ? [s.sanitize] : [])),
    learners: strategies.filter((s) => s.learn !== undefined),
    verifier: verifierFor(config),
    route,
    mailbox: mailboxFromConfig(config, session, route, strategies, sender, clock, observer),
    forwarder: createForwarder(sender),
    budget: new BodyBudget(config.maxBufferedBytes),
    logRejection: throttled(logError, 10_000, clock),
    logFallback: throttled(logError, 10_000, clock),
    refuseWhenStoreDown: config.queueWhenStoreDown === 'refuse' || (config.queueWhenStoreDown === 'auto' && platform.resends === true),
    readsForms: platform.readsForms === true,
    signForward: forwardSigner(config),
    dedupe: config.dedupe && platform.deliveryId !== undefined ? { ids: session.deliveryIds(), idOf: platform.deliveryId, ttlMs: config.dedupeTtlMs } : undefined,
    forwardSoon: inCheckPhase((flight: Flight) => forward(parts, flight)),
    shuttingDown: false,
  };
  return parts;
}
