/**
 * One delivery attempt of a stored letter: affinity added as for a direct forward (header,
 * learned cookie), sent to the key's instance through the one sender (upstream/sender.ts, the
 * same as direct forwards), the answer read whole and judged by the retry policy. A key whose
 * own instance has just gone down is held, not moved: where a direct forward fails over to the
 * next instance, a delivery waits for its own (QUEUE_HOLD_MS).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { AffinityStrategy, KeyedExchange } from '../affinity/strategy';
import { neverReachedUpstream } from '../errors';
import { addAffinity, learn } from '../pipeline/steps';
import type { Candidate, Route } from '../route/route';
import type { Clock } from '../core/clock';
import type { AnswerReader, Sender } from '../upstream/sender';
import { ageStart, type AttemptReport, type Claimed, type Letter, type Settlement } from './letter';
import { settle, type AttemptResult, type RetryPolicy } from './retry-policy';
import { bearerExpiredAt } from '../signing/bearer-expiry';
import type { Signer } from '../signing/outgoing';
import type { BotAnswer } from './telegram-replies';

export interface DelivererOptions {
  readonly route: Route;
  readonly strategies: readonly AffinityStrategy[];
  /** The proxy's one sender (shared with direct forwards; its owner closes it). */
  readonly sender: Sender;
  readonly policy: RetryPolicy;
  /** How long a key waits for its own instance to come back before it moves (QUEUE_HOLD_MS). */
  readonly holdMs: number;
  readonly clock: Clock;
  /** Headers signed afresh for each attempt (QUEUE_RESIGN, DELIVERY_SIGNING_SECRET). */
  readonly sign?: Signer | undefined;
  /** Told how long the instance took to answer (its head), as direct forwards tell it. */
  readonly onAnswerTime?: ((upstream: string, seconds: number) => void) | undefined;
  /** Told when an instance gave no whole answer to a delivery, as direct forwards tell it. */
  readonly onFailed?: ((upstream: string) => void) | undefined;
  /**
   * Given a delivered webhook's answer, read up to ANSWER_MAX_BYTES, before the key's next
   * delivery (a Telegram bot's webhook reply, made by the proxy).
   */
  readonly onAnswer?: ((answer: BotAnswer) => Promise<void>) | undefined;
}

/** The most of a bot's answer read for `onAnswer`: a Bot API reply is a message, not a file. */
const ANSWER_MAX_BYTES = 64 * 1024;

/** How one attempt went: the settlement for the spool, and what was met for the record. */
export interface Attempted {
  readonly settlement: Settlement;
  readonly report: AttemptReport;
}

/** Sends over the proxy's one sender, which its owner closes: nothing of its own to close. */
export interface Deliverer {
  deliver(claimed: Claimed): Promise<Attempted>;
}

export function createDeliverer(options: DelivererOptions): Deliverer {
  const { route, policy, clock, sender } = options;
  const learners = options.strategies.filter((s) => s.learn !== undefined);

  async function deliver({ letter, attempt }: Claimed): Promise<Attempted> {
    const started = performance.now();
    const now = clock();
    const unsent = (settlement: Settlement, error: string): Attempted => ({ settlement, report: { upstream: undefined, status: undefined, error, durationMs: 0 } });
    if (now > ageStart(letter) + policy.maxAgeMs) return unsent({ kind: 'dead', reason: 'not delivered within QUEUE_MAX_AGE_MS' }, 'expired');
    const heldUntil = route.heldUntil(letter.key, options.holdMs, now);
    if (heldUntil !== undefined) return unsent({ kind: 'hold', at: Math.min(heldUntil, now + policy.minMs) }, 'held for its own instance');
    const candidate = route.candidates(letter.key)[0];
    if (candidate === undefined) return unsent(settle({ kind: 'failed', error: 'no upstream is available' }, attempt, ageStart(letter), now, policy), 'no upstream is available');
    const exchange: KeyedExchange | undefined = letter.key === undefined ? undefined : { headers: { ...letter.headers }, key: letter.key };
    // Waited for only when a strategy is asynchronous (a networked store's lookup).
    const pending = exchange === undefined ? undefined : addAffinity(options.strategies, exchange);
    if (pending !== undefined) await pending;
    const { result, answer } = await send(candidate, letter, attempt, exchange);
    const settlement = explained(settle(result, attempt, ageStart(letter), clock(), policy), result, letter);
    if (settlement.kind === 'delivered' && answer !== undefined) await options.onAnswer?.(answer).catch(() => {});
    return {
      settlement,
      report: {
        upstream: candidate.id,
        status: result.kind === 'answered' ? result.status : undefined,
        error: result.kind === 'failed' ? result.error : undefined,
        durationMs: performance.now() - started,
      },
    };
  }

  /**
   * Sends the letter to `candidate`, reads the answer whole (keeping it for `onAnswer`), and
   * tells the route how it went.
   */
  function send(candidate: Candidate, letter: Letter, attempt: number, exchange: KeyedExchange | undefined): Promise<{ result: AttemptResult; answer?: BotAnswer | undefined }> {
    const headers: OutgoingHttpHeaders = {
      ...(exchange?.headers ?? letter.headers),
      ...exchange?.upstreamHeaders,
      'content-length': String(letter.body.length),
      'x-webhook-delivery-id': letter.id,
      'x-webhook-attempt': String(attempt),
      ...options.sign?.(letter.id, letter.body, clock()),
    };
    const started = performance.now();
    return new Promise((resolve) => {
      sender.send(
        candidate.target,
        { method: letter.method, url: letter.url, headers, body: letter.body },
        {
          onAnswer: (head) => {
            options.onAnswerTime?.(candidate.id, (performance.now() - started) / 1000);
            route.answered(candidate);
            if (exchange !== undefined && learners.length > 0) learn(learners, exchange, head);
            const keep = options.onAnswer === undefined ? 0 : ANSWER_MAX_BYTES;
            return readWhole(keep, (complete, body) => {
              if (!complete) return resolve({ result: { kind: 'failed', error: 'the answer was cut' } });
              const { status } = head;
              resolve({ result: { kind: 'answered', status, retryAfter: head.headers['retry-after'] }, answer: keep === 0 ? undefined : { status, contentType: head.headers['content-type'], body } });
            });
          },
          onFailure: (failure) => {
            options.onFailed?.(candidate.id);
            if (neverReachedUpstream(failure)) route.unreachable(candidate, failure.message);
            resolve({ result: { kind: 'failed', error: failure.message } });
          },
        },
      );
    });
  }

  /** A refusal of a letter whose token ran out while it waited says so: it cannot be signed again. */
  function explained(settlement: Settlement, result: AttemptResult, letter: Letter): Settlement {
    if (settlement.kind !== 'dead' || result.kind !== 'answered' || (result.status !== 401 && result.status !== 403)) return settlement;
    const expiredAt = bearerExpiredAt(letter.headers.authorization, clock());
    if (expiredAt === undefined) return settlement;
    return { kind: 'dead', reason: `${settlement.reason}; its Authorization token expired at ${new Date(expiredAt).toISOString()} while it waited, and a platform's token cannot be signed again` };
  }

  return { deliver };
}

/**
 * A reader of the answer's body that keeps up to `keep` bytes (none by default); says whether it
 * came whole, and what was kept (undefined when it was larger than `keep`).
 */
function readWhole(keep: number, done: (complete: boolean, body: Buffer | undefined) => void): AnswerReader {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    data(chunk) {
      size += chunk.length;
      if (size <= keep) chunks.push(chunk);
      return true;
    },
    end: () => done(true, size <= keep ? Buffer.concat(chunks) : undefined),
    cut: () => done(false, undefined),
  };
}
