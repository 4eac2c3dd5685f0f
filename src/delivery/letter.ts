/**
 * What the delivery mailbox stores: one accepted webhook, and what happened to it so far.
 */

/** One accepted webhook, exactly as it is to be delivered. */
export interface Letter {
  /** The delivery id: answered to the platform and sent as X-Webhook-Delivery-Id. */
  readonly id: string;
  /** Its key's mailbox; undefined for the keyless lane (no ordering between its letters). */
  readonly key: string | undefined;
  readonly method: string;
  /** Path and query, as received. */
  readonly url: string;
  /** The headers to forward (hop-by-hop ones already removed). */
  readonly headers: Readonly<Record<string, string>>;
  /** The body exactly as received. */
  readonly body: Buffer;
  /** When it was accepted, epoch milliseconds. */
  readonly arrivedAt: number;
  /** When it was last replayed from the dead letters: its QUEUE_MAX_AGE_MS counts from then. */
  readonly replayedAt?: number | undefined;
}

/** Where a letter's QUEUE_MAX_AGE_MS starts: its arrival, or its replay (else a letter that died of age would die again at once). */
export function ageStart(letter: Letter): number {
  return letter.replayedAt ?? letter.arrivedAt;
}

/** A letter handed out for one delivery attempt: its mailbox holds nothing else in flight. */
export interface Claimed {
  readonly letter: Letter;
  /** This attempt's number, from 1; counted before the attempt is made. */
  readonly attempt: number;
}

/** How one attempt ended, as the spool records it. */
export type Settlement =
  | { readonly kind: 'delivered' }
  // `early`: nothing came back (no connection, no answer): when the bot is seen answering again,
  // the retry need not wait for its time.
  | { readonly kind: 'retry'; readonly at: number; readonly reason: string; readonly early?: boolean }
  | { readonly kind: 'dead'; readonly reason: string }
  // Not attempted: the key's own instance is down, and its mailbox waits for it until `at`.
  | { readonly kind: 'hold'; readonly at: number };

/** What one attempt met, for the access log and metrics (with the settlement it led to). */
export interface AttemptReport {
  /** The upstream tried, when one was. */
  readonly upstream: string | undefined;
  /** The bot's status, or why there was none. */
  readonly status: number | undefined;
  readonly error: string | undefined;
  readonly durationMs: number;
}

/** How an attempt ended, as the access log and metrics name it. */
export type DeliveryOutcome = 'delivered' | 'retried' | 'dead' | 'held';

/** One delivery attempt, as the access log and metrics see it. */
export interface DeliveryRecord extends AttemptReport {
  readonly id: string;
  /** Never log it raw. */
  readonly key: string | undefined;
  readonly url: string;
  readonly attempt: number;
  readonly outcome: DeliveryOutcome;
}

/** A stored letter as the admin look-up shows it: no body, no headers. */
export interface WaitingLetter {
  readonly id: string;
  readonly url: string;
  readonly arrivedAt: number;
  /** Attempts made so far (only the head of a mailbox is ever attempted). */
  readonly attempts: number;
}

/** A letter given up on, kept (bounded) so it can be looked at and replayed. */
export interface DeadLetter {
  readonly letter: Letter;
  readonly attempts: number;
  readonly firstAttemptAt: number | undefined;
  readonly lastAttemptAt: number;
  /** The last status or error, and why it was given up on. */
  readonly reason: string;
}

/**
 * What holds a stored letter beyond its bytes: the objects around it in the memory spool (the
 * letter, its headers record, the body's Buffer, its place in a mailbox, a share of the mailbox),
 * its list entry and indexes in Redis. Measured by `npm run bench -- backlog` (the proxy's heap
 * after GC per stored ~1 KB Webex delivery: 423 B beyond the counted bytes with ten per person,
 * 558 with two; Redis: 182 to 821 B, docs/performance.md); counted so that QUEUE_MAX_BYTES bounds
 * the memory the mailbox really takes.
 */
const LETTER_OVERHEAD_BYTES = 512;

/** Bytes a letter is counted for against QUEUE_MAX_BYTES: its body, URL, headers, id and key, and what holds them. */
export function letterBytes(letter: Letter): number {
  let bytes = LETTER_OVERHEAD_BYTES + letter.body.length + letter.url.length + letter.method.length + letter.id.length + (letter.key?.length ?? 0);
  for (const [name, value] of Object.entries(letter.headers)) bytes += name.length + value.length;
  return bytes;
}
