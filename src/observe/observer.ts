/**
 * What the pipeline reports, and nothing else: metrics and the access log listen here, so the
 * request path knows nothing of Prometheus or log formats.
 */
import type { DeliveryRecord } from '../delivery/letter';
import type { ReplyOutcome } from '../delivery/telegram-replies';
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

/** Why the mailbox did not keep a webhook it was given, which then went directly to the bot. */
export const MAILBOX_FALLBACK_REASONS = ['full', 'store-down', 'unreplicated', 'unreplicated-in-flight'] as const;
export type MailboxFallbackReason = (typeof MAILBOX_FALLBACK_REASONS)[number];
export type StoreLookupResult = (typeof STORE_LOOKUP_RESULTS)[number];

export interface ProxyObserver {
  /** Every request, exactly once, when its response is done or the client has gone. */
  requestEnded?(record: RequestRecord): void;
  /** An upstream answered (headers received) after `seconds`. */
  upstreamResponded?(upstream: string, seconds: number): void;
  /** A request sent to `upstream` (a direct forward or a mailbox delivery) got no whole answer: refused, reset, timed out, cut. */
  upstreamFailed?(upstream: string): void;
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
  /**
   * DELIVERY=queued: the mailbox could not keep a webhook, which is forwarded directly; counted
   * here whatever that forward's outcome (the request's own outcome is the forward's).
   */
  mailboxFellBack?(why: MailboxFallbackReason): void;
  /** DELIVERY=queued: the bot answered a mailbox delivery after `seconds` (its head; also told as upstreamResponded). */
  deliveryAnswered?(seconds: number): void;
  /** DELIVERY=queued: one delivery attempt of a stored webhook ended (`held`: not attempted). */
  deliverySettled?(record: DeliveryRecord): void;
  /** Hash mode: an upstream went down or came back. */
  upstreamChanged?(member: PoolMember): void;
  /** DELIVERY=queued: the store came back without the spool's data; `lost`: webhooks it held, as last seen. */
  storeReset?(lost: number): void;
  /** DELIVERY=queued: a bot answered a delivery with a platform call (a Telegram webhook reply): made, failed, or dropped (no token). */
  botReply?(platform: string, outcome: ReplyOutcome): void;
}

/** One observer that tells each of `observers` (the only one itself, called directly, when there is one). */
export function combineObservers(...observers: (ProxyObserver | undefined)[]): ProxyObserver {
  const present = observers.filter((o): o is ProxyObserver => o !== undefined);
  const only = present.length === 1 ? present[0] : undefined;
  if (only !== undefined) return only;
  const tellEach = (tell: (observer: ProxyObserver) => void): void => {
    for (const observer of present) tell(observer);
  };
  return {
    requestEnded: (record) => tellEach((o) => o.requestEnded?.(record)),
    upstreamResponded: (upstream, seconds) => tellEach((o) => o.upstreamResponded?.(upstream, seconds)),
    storeLookup: (result) => tellEach((o) => o.storeLookup?.(result)),
    storeWriteFailed: () => tellEach((o) => o.storeWriteFailed?.()),
    upstreamRetried: (upstream, reason) => tellEach((o) => o.upstreamRetried?.(upstream, reason)),
    deliverySettled: (record) => tellEach((o) => o.deliverySettled?.(record)),
    upstreamChanged: (member) => tellEach((o) => o.upstreamChanged?.(member)),
    storeReset: (lost) => tellEach((o) => o.storeReset?.(lost)),
    botReply: (platform, outcome) => tellEach((o) => o.botReply?.(platform, outcome)),
    mailboxFellBack: (why) => tellEach((o) => o.mailboxFellBack?.(why)),
    deliveryAnswered: (seconds) => tellEach((o) => o.deliveryAnswered?.(seconds)),
    upstreamFailed: (upstream) => tellEach((o) => o.upstreamFailed?.(upstream)),
  };
}
