/**
 * What the pipeline reports, and nothing else: metrics and the access log listen here, so the
 * request path knows nothing of Prometheus or log formats.
 */
import type { PoolMember } from '../upstream/pool';
import type { RequestOutcome } from './outcomes';

/** One finished request, as the access log and metrics see it. */
export interface RequestRecord {
  readonly outcome: RequestOutcome;
  readonly method: string;
  /** The request URL (with its query: observers decide what to keep). */
  readonly url: string;
  /** The status answered; 499 when the client left first. */
  readonly status: number;
  readonly durationMs: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** The upstream that answered (or was tried last), when one was chosen. */
  readonly upstream: string | undefined;
  /** The affinity key, when the request had one. Never log it raw. */
  readonly key: string | undefined;
}

export const UPSTREAM_RETRY_REASONS = ['stale-connection', 'failover'] as const;
export type UpstreamRetryReason = (typeof UPSTREAM_RETRY_REASONS)[number];

export const STORE_LOOKUP_RESULTS = ['hit', 'miss', 'error'] as const;
export type StoreLookupResult = (typeof STORE_LOOKUP_RESULTS)[number];

export interface ProxyObserver {
  /** Every request, exactly once, when its response is done or the client has gone. */
  requestEnded?(record: RequestRecord): void;
  /** An upstream answered (headers received) after `seconds`. */
  upstreamResponded?(upstream: string, seconds: number): void;
  /** Cookie mode: a store lookup for a key found cookies (hit), none (miss), or failed. */
  storeLookup?(result: StoreLookupResult): void;
  /** Cookie mode: a store write failed (dropped). */
  storeWriteFailed?(): void;
  /**
   * A request is sent again: `stale-connection`, its kept-alive connection had been closed by the
   * upstream before it read the request (same upstream, new connection); `failover`, hash mode,
   * `upstream` could not be connected to (the next instance is tried).
   */
  upstreamRetried?(upstream: string, reason: UpstreamRetryReason): void;
  /** Hash mode: an upstream went down or came back. */
  upstreamChanged?(member: PoolMember): void;
}

/** One observer that tells each of `observers`. */
export function combineObservers(...observers: (ProxyObserver | undefined)[]): ProxyObserver {
  const present = observers.filter((o): o is ProxyObserver => o !== undefined);
  const each = <K extends keyof ProxyObserver>(name: K) => {
    const fns = present.map((o) => o[name]?.bind(o)).filter((f) => f !== undefined) as NonNullable<ProxyObserver[K]>[];
    if (fns.length === 0) return undefined;
    // The usual case (metrics alone) is called directly, without collecting arguments.
    if (fns.length === 1) return fns[0];
    return ((...args: unknown[]) => {
      for (const fn of fns) (fn as (...a: unknown[]) => void)(...args);
    }) as ProxyObserver[K];
  };
  return {
    requestEnded: each('requestEnded'),
    upstreamResponded: each('upstreamResponded'),
    storeLookup: each('storeLookup'),
    storeWriteFailed: each('storeWriteFailed'),
    upstreamRetried: each('upstreamRetried'),
    upstreamChanged: each('upstreamChanged'),
  };
}
