/**
 * What to do after one delivery attempt: delivered, retry later (exponential backoff with
 * jitter, or the bot's Retry-After), or give up (a dead letter). Pure: time and randomness are
 * passed in.
 */
import type { Settlement } from './letter';

export interface RetryPolicy {
  /** The first retry waits this long; later ones up to twice the previous (QUEUE_RETRY_MIN_MS). */
  readonly minMs: number;
  /** No wait is longer (QUEUE_RETRY_MAX_MS). */
  readonly maxMs: number;
  /** A letter not delivered this long after it arrived is given up on (QUEUE_MAX_AGE_MS). */
  readonly maxAgeMs: number;
}

/** How an attempt ended on the wire. */
export type AttemptResult = { readonly kind: 'answered'; readonly status: number; readonly retryAfter?: string | undefined } | { readonly kind: 'failed'; readonly error: string };

const DELIVERED: Settlement = { kind: 'delivered' };

/**
 * 2xx and 3xx: delivered. Connection failures, timeouts, 5xx, 408 and 429: retried (429 and 503
 * after the bot's Retry-After when it gives one). Any other answer: the bot refused the webhook,
 * and retrying would not change that: dead at once. A retry that would fall past the letter's
 * maximum age is not made: dead.
 */
export function settle(result: AttemptResult, attempt: number, arrivedAt: number, now: number, policy: RetryPolicy, random: () => number = Math.random): Settlement {
  if (result.kind === 'answered' && result.status >= 200 && result.status < 400) return DELIVERED;
  const reason = result.kind === 'answered' ? `answered ${result.status}` : result.error;
  if (result.kind === 'answered' && !retriable(result.status)) return { kind: 'dead', reason: `${reason}: refused by the bot` };
  const asked = result.kind === 'answered' ? retryAfterMs(result.retryAfter, now) : undefined;
  const at = now + (asked ?? backoffMs(attempt, policy, random));
  if (at > arrivedAt + policy.maxAgeMs) return { kind: 'dead', reason: `${reason}: not delivered within QUEUE_MAX_AGE_MS` };
  return { kind: 'retry', at, reason, early: result.kind === 'failed' };
}

function retriable(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/**
 * The wait before retry number `attempt` (the attempt that failed): between minMs and a ceiling
 * that doubles with each attempt up to maxMs, uniformly at random ("full jitter" above the
 * floor), so mailboxes that failed together do not all come back together.
 */
export function backoffMs(attempt: number, policy: Pick<RetryPolicy, 'minMs' | 'maxMs'>, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.minMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.round(policy.minMs + random() * Math.max(0, ceiling - policy.minMs));
}

/** Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP date, as milliseconds from now. */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
