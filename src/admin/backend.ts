/**
 * What the admin endpoints read, from one proxy or (WORKERS > 1) from the cluster's primary:
 * readiness checks, the metrics text, the store and hash mode's order for a key.
 */
import type { Registry } from 'prom-client';
import { AggregatorRegistry } from 'prom-client';
import { rendezvousOrder } from '../affinity/hash';
import type { Config } from '../config/types';
import { modeOf } from '../modes';
import type { Mailbox } from '../delivery/mailbox';
import type { AffinityProxy } from '../proxy';
import type { Keeper } from '../keeper/keeper';
import type { KeeperReport } from '../keeper/platform';
import { connectStore } from '../store/backends';
import type { AffinityStore } from '../store/store';
import { PoolMember } from '../upstream/pool';

export interface Check {
  readonly ok: boolean;
  readonly detail: string;
  /** Working, but without something optional (a networked store away: webhooks flow without learned cookies). */
  readonly degraded?: boolean;
}

export interface AdminBackend {
  /** Named readiness checks; ready when all are ok. */
  readiness(): Record<string, Check>;
  /** The Prometheus exposition text and its content type. */
  metrics(): Promise<{ contentType: string; text: string }>;
  /** Modes that learn: where learned cookies live. */
  readonly store: AffinityStore | undefined;
  /** DELIVERY=queued: the mailbox (a single process's; none on a cluster primary). */
  readonly mailbox?: Mailbox | undefined;
  /** Hash mode: the key's rendezvous order; `available` when known here. */
  upstreamOrder?: ((key: string) => { upstream: string; available?: boolean }[]) | undefined;
  /** Hash mode: each instance's health as this process sees it (unknown on a cluster primary). */
  upstreamHealth?: (() => UpstreamHealth[]) | undefined;
  /** Where the proxy listens, as host:port. */
  listenAddress(): string;
  /** The keeper's latest report per platform, when it runs in this process. */
  keeperReports?: (() => readonly KeeperReport[]) | undefined;
}

export interface UpstreamHealth {
  readonly url: string;
  /** undefined: not known here (a cluster primary does not forward). */
  readonly up: boolean | undefined;
  /** When it last went down or came back, epoch ms; undefined before any change. */
  readonly changedAt: number | undefined;
  /** While down: why (the last probe's answer or error, or the connection that failed). */
  readonly reason?: string | undefined;
}

function hostPort(address: string, port: number): string {
  return `${address.includes(':') ? `[${address}]` : address || '0.0.0.0'}:${port}`;
}

/**
 * Readiness of a networked store; undefined for one in this process, which cannot be away.
 * Webhooks keep flowing while it is down (fail open: lookups miss, writes are dropped), so by
 * default it only marks the replica degraded: a readiness probe must not pull every replica out
 * of its load balancer during a store outage. READY_REQUIRES_STORE=true makes it part of readiness.
 */
function storeCheck(store: AffinityStore, required: boolean): Check | undefined {
  const health = store.health();
  if (!health.remote) return undefined;
  if (health.up) return { ok: true, detail: health.detail };
  return required
    ? { ok: false, detail: `${health.detail} (READY_REQUIRES_STORE=true)` }
    : { ok: true, degraded: true, detail: `${health.detail}: webhooks are forwarded without learned cookies until it is back` };
}

/** Adds the store's check to `checks` when it has one. */
function withStore(checks: Record<string, Check>, store: AffinityStore | undefined, required: boolean): Record<string, Check> {
  const check = store === undefined ? undefined : storeCheck(store, required);
  if (check !== undefined) checks.store = check;
  return checks;
}

/** The backend of a single process: its proxy and its registry. */
export function proxyBackend(proxy: AffinityProxy, registry: Registry, readyRequiresStore: boolean, keeper?: Keeper): AdminBackend {
  const pool = proxy.pool;
  return {
    store: proxy.store,
    keeperReports: keeper === undefined ? undefined : () => keeper.reports(),
    mailbox: proxy.mailbox,
    readiness() {
      const checks: Record<string, Check> = {
        listening: proxy.accepting && proxy.server.listening ? { ok: true, detail: 'accepting requests' } : { ok: false, detail: 'shutting down' },
      };
      if (pool !== undefined) {
        const available = pool.members.filter((m) => pool.isAvailable(m)).length;
        checks.upstreams = { ok: available > 0, detail: `${available} of ${pool.members.length} upstreams available` };
      }
      return withStore(checks, proxy.store, readyRequiresStore);
    },
    async metrics() {
      return { contentType: registry.contentType, text: await registry.metrics() };
    },
    upstreamOrder: pool === undefined ? undefined : (key) => rendezvousOrder(key, pool.members).map((m) => ({ upstream: m.id, available: pool.isAvailable(m) })),
    upstreamHealth:
      pool === undefined ? undefined : () => pool.members.map((m) => ({ url: m.id, up: pool.isAvailable(m), changedAt: m.changedAt === 0 ? undefined : m.changedAt, reason: m.downReason })),
    listenAddress() {
      const a = proxy.server.address();
      return a !== null && typeof a === 'object' ? hostPort(a.address, a.port) : String(a);
    },
  };
}

/**
 * The view from the cluster's primary: metrics aggregated from every worker, readiness from the
 * workers listening, learned cookies from the shared store (the only kind allowed with workers
 * in modes that learn), and hash mode's order (availability is each worker's own).
 */
export function primaryBackend(config: Config, listeningWorkers: () => number, stopping: () => boolean): AdminBackend {
  const aggregator = new AggregatorRegistry();
  const mode = modeOf(config.mode);
  const store = mode.learns ? connectStore(config.store, config.storeOptions, { clock: Date.now, timeoutMs: config.storeTimeoutMs }).store() : undefined;
  const members = config.upstreams.map((u) => new PoolMember(u));
  return {
    store,
    readiness() {
      const n = listeningWorkers();
      const listening: Check = !stopping() && n > 0 ? { ok: true, detail: `${n} of ${config.workers} workers listening` } : { ok: false, detail: stopping() ? 'shutting down' : 'no worker listening' };
      return withStore({ listening }, store, config.readyRequiresStore);
    },
    async metrics() {
      return { contentType: aggregator.contentType, text: await aggregator.clusterMetrics() };
    },
    upstreamOrder: mode.route === 'pool' ? (key) => rendezvousOrder(key, members).map((m) => ({ upstream: m.id })) : undefined,
    upstreamHealth: mode.route === 'pool' ? () => members.map((m) => ({ url: m.id, up: undefined, changedAt: undefined })) : undefined,
    listenAddress: () => hostPort(config.host ?? '', config.port),
  };
}
