/**
 * Prometheus metrics (prom-client): the names we export, fed by the pipeline's observer.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from './config';
import type { ProxyObserver } from './observer';
import { REQUEST_OUTCOMES, type RequestOutcome } from './outcomes';
import type { AffinityStore } from './store/store';
import { MemoryStore } from './store/memory';
import type { UpstreamPool } from './upstream/pool';

export interface Metrics {
  readonly registry: Registry;
  readonly observer: ProxyObserver;
}

export interface MetricsSources {
  readonly store: AffinityStore | undefined;
  readonly pool: UpstreamPool | undefined;
}

export function createMetrics(config: Config, sources: () => MetricsSources): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const mode = config.mode;

  // Counted as plain numbers on the request path and handed to prom-client when it collects:
  // a labelled inc() hashes its label values on every call.
  const uncollected = new Map<RequestOutcome, number>(REQUEST_OUTCOMES.map((outcome) => [outcome, 0]));
  new Counter({
    name: 'webhook_affinity_requests_total',
    help: 'Requests by how they ended (affinity, no-key, signature-rejected, too-large, upstream-timeout, ...)',
    labelNames: ['mode', 'outcome'],
    registers: [registry],
    collect() {
      // Every outcome is listed from 0, so rate() and alerts work before the first occurrence.
      for (const [outcome, count] of uncollected) {
        this.labels(mode, outcome).inc(count);
        uncollected.set(outcome, 0);
      }
    },
  });

  const upstreamSeconds: Histogram<'upstream'> = new Histogram({
    name: 'webhook_affinity_upstream_response_seconds',
    help: 'Time from forwarding a request to the upstream answer headers, per upstream',
    labelNames: ['upstream'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });

  const lookups = new Counter({
    name: 'webhook_affinity_store_lookups_total',
    help: 'Cookie mode: store lookups by result (hit: cookies replayed, miss: none known, error: store failed or too slow)',
    labelNames: ['result'],
    registers: [registry],
  });
  const writeErrors = new Counter({
    name: 'webhook_affinity_store_write_errors_total',
    help: 'Cookie mode: learned cookies not stored because the store failed or was too slow',
    registers: [registry],
  });
  if (mode === 'cookie' || mode === 'both') for (const r of ['hit', 'miss', 'error']) lookups.labels(r);

  new Gauge({
    name: 'webhook_affinity_learned_keys',
    help: 'Cookie mode with STORE=memory: keys whose cookies this process remembers',
    registers: [registry],
    collect() {
      const { store } = sources();
      if (store instanceof MemoryStore) this.set(store.size);
    },
  });
  new Gauge({
    name: 'webhook_affinity_store_up',
    help: 'Cookie mode with STORE=redis: 1 while Redis is connected, else 0',
    registers: [registry],
    collect() {
      const { store } = sources();
      if (store?.ready !== undefined) this.set(store.ready ? 1 : 0);
    },
  });
  new Gauge({
    name: 'webhook_affinity_upstream_up',
    help: 'Hash mode: 1 while an upstream takes traffic, 0 while it is down',
    labelNames: ['upstream'],
    registers: [registry],
    collect() {
      const { pool } = sources();
      for (const m of pool?.members ?? []) this.labels(m.id).set(pool!.isAvailable(m) ? 1 : 0);
    },
  });

  const byUpstream = new Map<string, ReturnType<typeof upstreamSeconds.labels>>();
  const timerOf = (upstream: string) => {
    let child = byUpstream.get(upstream);
    if (child === undefined) byUpstream.set(upstream, (child = upstreamSeconds.labels(upstream)));
    return child;
  };

  return {
    registry,
    observer: {
      requestEnded: (r) => uncollected.set(r.outcome, uncollected.get(r.outcome)! + 1),
      upstreamResponded: (upstream, seconds) => timerOf(upstream).observe(seconds),
      storeLookup: (result) => lookups.labels(result).inc(),
      storeWriteFailed: () => writeErrors.inc(),
    },
  };
}
