/**
 * The status page's traffic history, kept by the admin listener so the page shows the last
 * minutes as soon as it opens: every 2 s the metrics (a cluster primary's: all workers added up)
 * are read for requests by outcome, mailbox delivery attempts by outcome and the answer-time
 * histogram, and five minutes are kept.
 */
import { logError } from '../log';
import { messageOf } from '../errors';

export interface TrafficSample {
  readonly at: number;
  /** webhook_affinity_requests_total by outcome, all modes added up. */
  readonly outcomes: Readonly<Record<string, number>>;
  /** webhook_affinity_deliveries_total by outcome (delivered, retried, dead); empty without the mailbox. */
  readonly deliveries: Readonly<Record<string, number>>;
  /** webhook_affinity_upstream_response_seconds buckets, all upstreams added up: [le, count]; le -1 is +Inf. */
  readonly buckets: readonly (readonly [number, number])[];
  /** webhook_affinity_delivery_seconds buckets (mailbox deliveries only), the same way. */
  readonly deliveryBuckets: readonly (readonly [number, number])[];
  /** Answers (webhook_affinity_upstream_response_seconds_count) and failures (webhook_affinity_upstream_failures_total) by upstream. */
  readonly answeredBy: Readonly<Record<string, number>>;
  readonly failedBy: Readonly<Record<string, number>>;
}

const REQUESTS = 'webhook_affinity_requests_total{';
const DELIVERIES = 'webhook_affinity_deliveries_total{';
const BUCKETS = 'webhook_affinity_upstream_response_seconds_bucket{';
const DELIVERY_BUCKETS = 'webhook_affinity_delivery_seconds_bucket{';
const ANSWERED = 'webhook_affinity_upstream_response_seconds_count{';
const FAILED = 'webhook_affinity_upstream_failures_total{';

/** The families the page draws, out of a Prometheus text exposition. */
function trafficOf(exposition: string, at: number): TrafficSample {
  const outcomes: Record<string, number> = {};
  const deliveries: Record<string, number> = {};
  const buckets = new Map<number, number>();
  const deliveryBuckets = new Map<number, number>();
  const answeredBy: Record<string, number> = {};
  const failedBy: Record<string, number> = {};
  for (const line of exposition.split('\n')) {
    const byUpstream = line.startsWith(ANSWERED) ? answeredBy : line.startsWith(FAILED) ? failedBy : undefined;
    if (byUpstream !== undefined) {
      const upstream = /upstream="([^"]*)"/.exec(line)?.[1];
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (upstream !== undefined && Number.isFinite(value)) byUpstream[upstream] = (byUpstream[upstream] ?? 0) + value;
      continue;
    }
    const counted = line.startsWith(REQUESTS) ? outcomes : line.startsWith(DELIVERIES) ? deliveries : undefined;
    const histogram = line.startsWith(BUCKETS) ? buckets : line.startsWith(DELIVERY_BUCKETS) ? deliveryBuckets : undefined;
    if (counted === undefined && histogram === undefined) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (!Number.isFinite(value)) continue;
    if (counted !== undefined) {
      const outcome = /outcome="([^"]*)"/.exec(line)?.[1];
      if (outcome !== undefined) counted[outcome] = (counted[outcome] ?? 0) + value;
    } else {
      const le = /le="([^"]*)"/.exec(line)?.[1];
      if (le !== undefined && histogram !== undefined) {
        const bound = le === '+Inf' ? -1 : Number(le);
        histogram.set(bound, (histogram.get(bound) ?? 0) + value);
      }
    }
  }
  return { at, outcomes, deliveries, buckets: [...buckets], deliveryBuckets: [...deliveryBuckets], answeredBy, failedBy };
}

export interface TrafficHistory {
  samples(): readonly TrafficSample[];
  stop(): void;
}

/** Samples `read()` every `everyMs`, keeping `keepMs`; the first sample is the zero every counter starts from. */
export function trafficHistory(read: () => Promise<string>, clock: () => number, everyMs = 2000, keepMs = 300_000): TrafficHistory {
  const kept: TrafficSample[] = [{ at: clock(), outcomes: {}, deliveries: {}, buckets: [], deliveryBuckets: [], answeredBy: {}, failedBy: {} }];
  let reading = false;
  let failed = false;
  const timer = setInterval(() => {
    if (reading) return;
    reading = true;
    read()
      .then((text) => {
        const now = clock();
        kept.push(trafficOf(text, now));
        while (kept.length > 1 && (kept[0]?.at ?? now) < now - keepMs) kept.shift();
        failed = false;
      })
      .catch((err: unknown) => {
        // Said once per outage: the page shows stale traffic meanwhile.
        if (!failed) logError(`status page: the metrics could not be read (${messageOf(err)})`);
        failed = true;
      })
      .finally(() => (reading = false));
  }, everyMs);
  // The history must not keep a stopping process alive.
  timer.unref();
  return { samples: () => kept, stop: () => clearInterval(timer) };
}
