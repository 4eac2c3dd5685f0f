/**
 * Prometheus metrics (prom-client): the names we export, fed by the pipeline's observer.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../config/types';
import { modeOf } from '../modes';
import type { DeliveryRecord } from '../delivery/mailbox';
import type { SpoolStats } from '../delivery/spool';
import type { ReplyOutcome } from '../delivery/telegram-replies';
import type { AffinityStore } from '../store/store';
import type { UpstreamPool } from '../upstream/pool';
import { MAILBOX_FALLBACK_REASONS, STORE_LOOKUP_RESULTS, UPSTREAM_RETRY_REASONS, type MailboxFallbackReason, type ProxyObserver } from './observer';
import { REQUEST_OUTCOMES } from './outcomes';
import type { Maybe } from '../core/maybe';
import { getOrAdd } from '../core/get-or-add';

export interface Metrics {
  readonly registry: Registry;
  readonly observer: ProxyObserver;
}

export interface MetricsSources {
  readonly store: AffinityStore | undefined;
  readonly pool: UpstreamPool | undefined;
  /** Request body bytes held now. */
  readonly bufferedBytes: number;
  /** DELIVERY=queued: asks the mailbox for its figures (a networked spool answers later, or fails). */
  readonly queue: (() => Maybe<SpoolStats>) | undefined;
}

export function createMetrics(config: Config, sources: () => MetricsSources): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const mode = config.mode;

  const countOutcome = batchedCounter(registry, {
    name: 'webhook_affinity_requests_total',
    help: 'Requests by how they ended (affinity, no-key, signature-rejected, too-large, upstream-timeout, ...)',
    labels: { mode },
    label: 'outcome',
    // Every outcome is listed from 0, so rate() and alerts work before the first occurrence.
    values: REQUEST_OUTCOMES,
  });

  const upstreamSeconds: Histogram<'upstream'> = new Histogram({
    name: 'webhook_affinity_upstream_response_seconds',
    help: 'Time from forwarding a request to the upstream answer headers, per upstream',
    labelNames: ['upstream'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });

  const upstreamFailures = new Counter({
    name: 'webhook_affinity_upstream_failures_total',
    help: 'Requests to an upstream (direct forwards and mailbox deliveries) that got no whole answer: refused, reset, timed out or cut, per upstream',
    labelNames: ['upstream'],
    registers: [registry],
  });
  const failuresOf = new Map<string, ReturnType<typeof upstreamFailures.labels>>();

  const countRetry = batchedCounter(registry, {
    name: 'webhook_affinity_upstream_retries_total',
    help: 'Requests sent again: stale-connection (a kept-alive upstream connection was closed before it read the request; resent on a new one), failover (hash mode: the next instance after a refused connection)',
    label: 'reason',
    values: UPSTREAM_RETRY_REASONS,
  });

  const countLookup = batchedCounter(registry, {
    name: 'webhook_affinity_store_lookups_total',
    help: 'Cookie mode: store lookups by result (hit: cookies replayed, miss: none known, error: store failed or too slow)',
    label: 'result',
    values: modeOf(mode).learns ? STORE_LOOKUP_RESULTS : [],
  });
  const writeErrors = new Counter({
    name: 'webhook_affinity_store_write_errors_total',
    help: 'Cookie mode: learned cookies not stored because the store failed or was too slow',
    registers: [registry],
  });

  registerGauges(registry, sources);
  const delivery = deliveryMetrics(registry, sources, config.delivery === 'queued');

  const byUpstream = new Map<string, ReturnType<typeof upstreamSeconds.labels>>();
  const timerOf = (upstream: string) => getOrAdd(byUpstream, upstream, () => upstreamSeconds.labels(upstream));

  return {
    registry,
    observer: {
      requestEnded: (r) => countOutcome(r.outcome),
      upstreamResponded: (upstream, seconds) => timerOf(upstream).observe(seconds),
      upstreamFailed: (upstream) => getOrAdd(failuresOf, upstream, () => upstreamFailures.labels(upstream)).inc(),
      upstreamRetried: (_upstream, reason) => countRetry(reason),
      storeLookup: (result) => countLookup(result),
      storeWriteFailed: () => writeErrors.inc(),
      deliverySettled: delivery.settled,
      storeReset: delivery.reset,
      botReply: delivery.reply,
      mailboxFellBack: delivery.fellBack,
      deliveryAnswered: delivery.answered,
    },
  };
}

/**
 * DELIVERY=queued: the mailbox's depth, oldest letter and dead letters (read at scrape time),
 * each attempt's outcome, and the attempts a letter took. Returns what counts an attempt.
 */
function deliveryMetrics(
  registry: Registry,
  sources: () => MetricsSources,
  queued: boolean,
): {
  settled: (record: DeliveryRecord) => void;
  reset: (lost: number) => void;
  reply: (platform: string, outcome: ReplyOutcome) => void;
  fellBack: (why: MailboxFallbackReason) => void;
  answered: (seconds: number) => void;
} {
  // One question to the spool per scrape, shared by its gauges; a store that cannot answer
  // leaves them at their last value (store_up and the events say why).
  let asked: { at: number; stats: Promise<SpoolStats | undefined> } | undefined;
  const figures = (): Promise<SpoolStats | undefined> => {
    const now = performance.now();
    if (asked === undefined || now - asked.at > 100) {
      const ask = sources().queue;
      asked = {
        at: now,
        stats:
          ask === undefined
            ? Promise.resolve(undefined)
            : Promise.resolve()
                .then(ask)
                .catch(() => undefined),
      };
    }
    return asked.stats;
  };
  const gauge = (name: string, help: string, read: (stats: SpoolStats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const stats = await figures();
        if (stats !== undefined) this.set(read(stats));
      },
    });
  gauge('webhook_affinity_queue_depth', 'DELIVERY=queued: webhooks stored and not yet delivered (in flight included)', (s) => s.depth);
  gauge('webhook_affinity_queue_oldest_seconds', 'DELIVERY=queued: how long the oldest stored webhook has waited', (s) => s.oldestAgeMs / 1000);
  gauge('webhook_affinity_dead_letters', 'DELIVERY=queued: dead letters kept (DEAD_LETTER_MAX bounds them)', (s) => s.dead);
  const countOutcome = batchedCounter(registry, {
    name: 'webhook_affinity_deliveries_total',
    help: 'DELIVERY=queued: delivery attempts by outcome (delivered, retried: to be tried again, dead: given up on)',
    label: 'outcome',
    values: queued ? DELIVERY_OUTCOMES : [],
  });
  const countFallback = batchedCounter(registry, {
    name: 'webhook_affinity_mailbox_fallbacks_total',
    help: 'DELIVERY=queued: webhooks the mailbox could not keep, forwarded directly instead, by reason (full: QUEUE_MAX_BYTES, store-down, unreplicated: QUEUE_ACK_REPLICAS unconfirmed), whatever the forward did',
    label: 'reason',
    values: queued ? MAILBOX_FALLBACK_REASONS : [],
  });
  const resets = new Counter({
    name: 'webhook_affinity_store_resets_total',
    help: "DELIVERY=queued: times the store came back without the spool's data (a Redis restarted without persistence, a flush)",
    registers: [registry],
  });
  const lostInResets = new Counter({
    name: 'webhook_affinity_store_reset_lost_webhooks_total',
    help: 'DELIVERY=queued: stored webhooks the spool held (as last seen) when the store came back without them',
    registers: [registry],
  });
  const attempts = new Histogram({
    name: 'webhook_affinity_delivery_attempts',
    help: 'DELIVERY=queued: attempts a webhook took, counted when it was delivered or given up on',
    buckets: [1, 2, 3, 5, 10, 20, 50],
    registers: [registry],
  });
  const deliverySeconds = new Histogram({
    name: 'webhook_affinity_delivery_seconds',
    help: "DELIVERY=queued: time from sending a mailbox delivery to the bot's answer headers (the same answers are in webhook_affinity_upstream_response_seconds, with direct forwards)",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const repliesMade = new Counter({
    name: 'webhook_affinity_replies_made_total',
    help: 'DELIVERY=queued: platform calls a bot made in its answer (Telegram webhook replies) that the proxy made for it, by outcome (sent, failed)',
    labelNames: ['platform', 'outcome'],
    registers: [registry],
  });
  const answersDropped = new Counter({
    name: 'webhook_affinity_answers_dropped_total',
    help: "DELIVERY=queued: platform calls in a bot's answer that were dropped (PLATFORM=telegram without TELEGRAM_BOT_TOKEN)",
    labelNames: ['platform'],
    registers: [registry],
  });
  const settled = (record: DeliveryRecord): void => {
    if (record.outcome === 'held') return;
    countOutcome(record.outcome);
    if (record.outcome !== 'retried') attempts.observe(record.attempt);
  };
  return {
    settled,
    reset: (lost) => {
      resets.inc();
      lostInResets.inc(lost);
    },
    reply: (platform, outcome) => (outcome === 'dropped' ? answersDropped.labels(platform).inc() : repliesMade.labels(platform, outcome).inc()),
    fellBack: countFallback,
    answered: (seconds) => deliverySeconds.observe(seconds),
  };
}

const DELIVERY_OUTCOMES = ['delivered', 'retried', 'dead'] as const;

/** The gauges read at scrape time from what the proxy holds now. */
function registerGauges(registry: Registry, sources: () => MetricsSources): void {
  new Gauge({
    name: 'webhook_affinity_buffered_body_bytes',
    help: 'Request body bytes held in memory now, across every request in flight (MAX_BUFFERED_BYTES bounds it)',
    registers: [registry],
    collect() {
      this.set(sources().bufferedBytes);
    },
  });
  new Gauge({
    name: 'webhook_affinity_learned_keys',
    help: 'Cookie modes with an in-process STORE (memory): keys whose cookies this process remembers',
    registers: [registry],
    collect() {
      const size = sources().store?.size();
      if (size !== undefined) this.set(size);
    },
  });
  new Gauge({
    name: 'webhook_affinity_store_up',
    help: 'Cookie modes with a networked STORE (redis, postgres): 1 while the store is connected, else 0',
    registers: [registry],
    collect() {
      const health = sources().store?.health();
      if (health?.remote === true) this.set(health.up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'webhook_affinity_upstream_up',
    help: 'Hash mode: 1 while an upstream takes traffic, 0 while it is down',
    labelNames: ['upstream'],
    registers: [registry],
    collect() {
      const { pool } = sources();
      if (pool === undefined) return;
      for (const m of pool.members) this.labels(m.id).set(pool.isAvailable(m) ? 1 : 0);
    },
  });
}

interface BatchedCounterOptions<T extends string> {
  readonly name: string;
  readonly help: string;
  /** Labels with one value for the whole process. */
  readonly labels?: Readonly<Record<string, string>>;
  /** The label counted by. */
  readonly label: string;
  /** Values exported from 0 before their first occurrence. */
  readonly values: readonly T[];
}

/**
 * A counter by one label, counted as plain numbers on the request path and handed to
 * prom-client when it collects: a labelled inc() hashes its label values on every call.
 * Returns the function that counts one occurrence.
 */
function batchedCounter<T extends string>(registry: Registry, options: BatchedCounterOptions<T>): (value: T) => void {
  const fixed = options.labels ?? {};
  const uncollected = new Map<T, number>(options.values.map((value) => [value, 0]));
  new Counter({
    name: options.name,
    help: options.help,
    labelNames: [...Object.keys(fixed), options.label],
    registers: [registry],
    collect() {
      for (const [value, count] of uncollected) {
        this.labels({ ...fixed, [options.label]: value }).inc(count);
        uncollected.set(value, 0);
      }
    },
  });
  return (value) => uncollected.set(value, (uncollected.get(value) ?? 0) + 1);
}
