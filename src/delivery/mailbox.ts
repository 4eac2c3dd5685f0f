/**
 * DELIVERY=queued: accepted webhooks go into the spool, and a pump hands each key's head to the
 * deliverer, up to QUEUE_CONCURRENCY at once (one per key), waking for retries as they fall due.
 */
import { logError } from '../log';
import type { Clock } from '../store/store';
import type { Deliverer } from './deliverer';
import type { Claimed, Letter, Settlement } from './letter';
import type { Spool, SpoolStats } from './spool';

export type DeliveryOutcome = 'delivered' | 'retried' | 'dead' | 'held';

export interface MailboxOptions {
  readonly spool: Spool;
  readonly deliverer: Deliverer;
  /** Deliveries in flight at once, across keys (QUEUE_CONCURRENCY). */
  readonly concurrency: number;
  readonly clock: Clock;
  /** Told how each attempt ended (metrics, tests). */
  readonly onSettled?: (letter: Letter, attempt: number, outcome: DeliveryOutcome) => void;
}

export interface Mailbox {
  /** Stores the letter; false when the spool cannot take it (then forward it directly). */
  accept(letter: Letter): boolean;
  stats(): SpoolStats;
  readonly spool: Spool;
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

  async function attempt(claimed: Claimed): Promise<void> {
    let settlement: Settlement;
    try {
      settlement = await deliverer.deliver(claimed);
    } catch (err) {
      // A bug, not the bot: retry later rather than lose the letter.
      logError(`delivery ${claimed.letter.id} failed inside the proxy: ${err instanceof Error ? err.message : String(err)}`);
      settlement = { kind: 'retry', at: clock() + 1000, reason: 'internal error' };
    }
    inFlight--;
    spool.settle(claimed, settlement, clock());
    options.onSettled?.(claimed.letter, claimed.attempt, OUTCOME_OF[settlement.kind]);
    pump();
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
