/**
 * DELIVERY=queued: accepted webhooks go into the spool, and a pump hands each key's head to the
 * deliverer, up to QUEUE_CONCURRENCY at once (one per key), waking for retries as they fall due.
 */
import { logError } from '../log';
import type { Clock } from '../store/store';
import { messageOf } from '../errors';
import type { Attempted, Deliverer } from './deliverer';
import type { AttemptReport, Claimed, DeadLetter, Letter, Settlement } from './letter';
import type { Spool, SpoolStats } from './spool';

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

export interface MailboxOptions {
  readonly spool: Spool;
  readonly deliverer: Deliverer;
  /** Deliveries in flight at once, across keys (QUEUE_CONCURRENCY). */
  readonly concurrency: number;
  readonly clock: Clock;
  /** Told how each attempt ended (metrics, tests). */
  readonly onSettled?: (record: DeliveryRecord) => void;
}

export interface Mailbox {
  /** Stores the letter; false when the spool cannot take it (then forward it directly). */
  accept(letter: Letter): boolean;
  stats(): SpoolStats;
  readonly spool: Spool;
  /** Dead letters, newest first. */
  deadLetters(): readonly DeadLetter[];
  /** Puts a dead letter back at the back of its key's mailbox; false when there is no such id (or no room). */
  replay(id: string): boolean;
  /** Replays every dead letter there is room for; returns how many. */
  replayAll(): number;
  /** Forgets a dead letter; false when there is no such id. */
  forget(id: string): boolean;
  /** Keeps delivering until the spool is empty or `graceMs` has passed; resolves with what is left. */
  drain(graceMs: number): Promise<number>;
  /** Stops the pump and its timer. What is still stored is lost (memory spool): logged as a count. */
  close(): void;
}

const OUTCOME_OF: Record<Settlement['kind'], DeliveryOutcome> = { delivered: 'delivered', retry: 'retried', dead: 'dead', hold: 'held' };

export function createMailbox(options: MailboxOptions): Mailbox {
  const { spool, deliverer, clock } = options;
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Infinity;
  let closed = false;
  /** The last attempt that settled reached nobody: the bot is down, or was. */
  let botAway = false;
  const idle: (() => void)[] = [];

  /** Starts every delivery that may start now, and sets the timer for the next retry due. */
  function pump(): void {
    if (closed) return;
    while (inFlight < options.concurrency) {
      const claimed = spool.claim(clock());
      if (claimed === undefined) break;
      inFlight++;
      void attempt(claimed);
    }
    schedule();
    if (spool.depth() === 0) for (const wake of idle.splice(0)) wake();
  }

  /**
   * Pumps once after this pass of the event loop, for every delivery that settled in it: sending
   * the next ones together, after the answers are all read, costs less CPU than one at a time
   * between them (as check-phase.ts does for direct forwards).
   */
  let pumpQueued = false;
  function pumpSoon(): void {
    if (pumpQueued) return;
    pumpQueued = true;
    setImmediate(() => {
      pumpQueued = false;
      pump();
    });
  }

  async function attempt(claimed: Claimed): Promise<void> {
    let attempted: Attempted;
    try {
      attempted = await deliverer.deliver(claimed);
    } catch (err) {
      // A bug, not the bot: retry later rather than lose the letter.
      logError(`delivery ${claimed.letter.id} failed inside the proxy: ${messageOf(err)}`);
      const settlement: Settlement = { kind: 'retry', at: clock() + 1000, reason: 'internal error' };
      attempted = { settlement, report: { upstream: undefined, status: undefined, error: 'internal error', durationMs: 0 } };
    }
    inFlight--;
    const { letter, attempt } = claimed;
    const { settlement } = attempted;
    spool.settle(claimed, settlement, clock());
    // The bot answers again after an outage: the mailboxes waiting out a backoff go now, rather
    // than each after its own wait (up to QUEUE_RETRY_MAX_MS).
    if (settlement.kind === 'retry' && settlement.early === true) botAway = true;
    else if (botAway && attempted.report.status !== undefined) {
      botAway = false;
      spool.wake(clock());
    }
    options.onSettled?.({ ...attempted.report, id: letter.id, key: letter.key, url: letter.url, attempt, outcome: OUTCOME_OF[settlement.kind] });
    pumpSoon();
  }

  function schedule(): void {
    const due = spool.nextDueAt();
    if (due === undefined || due >= timerAt) return;
    if (timer !== undefined) clearTimeout(timer);
    timerAt = due;
    timer = setTimeout(
      () => {
        timer = undefined;
        timerAt = Infinity;
        pump();
      },
      Math.max(0, due - clock()),
    );
  }

  return {
    spool,
    accept(letter) {
      if (closed || !spool.append(letter)) return false;
      pump();
      return true;
    },
    stats: () => spool.stats(clock()),
    deadLetters: () => spool.deadLetters(),
    replay(id) {
      const replayed = !closed && spool.replay(id);
      if (replayed) pump();
      return replayed;
    },
    replayAll() {
      // Oldest first, so the mailboxes get them back in the order they died.
      let replayed = 0;
      for (const dead of [...spool.deadLetters()].reverse()) if (!closed && spool.replay(dead.letter.id)) replayed++;
      if (replayed > 0) pump();
      return replayed;
    },
    forget: (id) => spool.forget(id),
    async drain(graceMs) {
      if (spool.depth() > 0) {
        let deadline: NodeJS.Timeout | undefined;
        await Promise.race([new Promise<void>((resolve) => idle.push(resolve)), new Promise<void>((resolve) => (deadline = setTimeout(resolve, graceMs)))]);
        clearTimeout(deadline);
      }
      return spool.depth();
    },
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      deliverer.close();
      const left = spool.depth();
      if (left > 0) logError(`delivery mailbox: ${left} webhook(s) not delivered are dropped with the process (memory spool)`);
    },
  };
}
