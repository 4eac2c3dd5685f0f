/**
 * DELIVERY=queued: accepted webhooks go into the spool, and a pump hands each key's head to the
 * deliverer, up to QUEUE_CONCURRENCY at once (one per key), waking for retries as they fall due.
 */
import { logError } from '../log';
import { throttled } from '../throttle';
import type { Clock } from '../store/store';
import { messageOf } from '../errors';
import type { Attempted, Deliverer } from './deliverer';
import type { AttemptReport, Claimed, DeadLetter, Letter, Settlement } from './letter';
import type { Maybe, Spool, SpoolStats } from './spool';

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
  /** A shared spool: how often to look for work other replicas stored, ms. */
  readonly pollMs?: number;
  /** A shared spool: how long a claim lasts unless renewed (QUEUE_LEASE_MS). */
  readonly leaseMs?: number;
  /** Told how each attempt ended (metrics, tests). */
  readonly onSettled?: (record: DeliveryRecord) => void;
}

export interface Mailbox {
  /** Stores the letter; false when the spool cannot take it (then forward it directly). */
  accept(letter: Letter): Maybe<boolean>;
  stats(): Maybe<SpoolStats>;
  readonly spool: Spool;
  /** Dead letters, newest first. */
  deadLetters(): Maybe<readonly DeadLetter[]>;
  /** Puts a dead letter back at the back of its key's mailbox; false when there is no such id (or no room). */
  replay(id: string): Promise<boolean>;
  /** Replays every dead letter there is room for; returns how many. */
  replayAll(): Promise<number>;
  /** Forgets a dead letter; false when there is no such id. */
  forget(id: string): Maybe<boolean>;
  /** Keeps delivering until the spool is empty or `graceMs` has passed; resolves with what is left. */
  drain(graceMs: number): Promise<number>;
  /** Stops the pump and its timers. What a memory spool still holds is lost: logged as a count. */
  close(): Promise<void>;
}

const OUTCOME_OF: Record<Settlement['kind'], DeliveryOutcome> = { delivered: 'delivered', retry: 'retried', dead: 'dead', hold: 'held' };

/** `value`, waited for only when it is a promise (the memory spool's answers stay synchronous). */
async function settled<T>(value: Maybe<T>): Promise<T> {
  return value instanceof Promise ? await value : value;
}

export function createMailbox(options: MailboxOptions): Mailbox {
  const { spool, deliverer, clock } = options;
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Infinity;
  let closed = false;
  /** Stopping with a shared spool: no new claims (what is stored stays for the other replicas). */
  let handingOver = false;
  const report = throttled(logError, 10_000, clock);
  /** The last attempt that settled reached nobody: the bot is down, or was. */
  let botAway = false;
  const idle: (() => void)[] = [];
  let pumping = false;
  let pumpAgain = false;
  // A shared spool gets work from other replicas too: look for it now and then.
  const poll = spool.shared ? setInterval(() => void pump(), options.pollMs ?? 250) : undefined;

  /** Starts every delivery that may start now, and sets the timer for the next retry due. */
  async function pump(): Promise<void> {
    if (closed) return;
    if (pumping) {
      pumpAgain = true;
      return;
    }
    pumping = true;
    try {
      do {
        pumpAgain = false;
        while (!closed && !handingOver && inFlight < options.concurrency) {
          // Waited for only when the spool answers later: the memory spool's claims stay in this tick.
          const room = options.concurrency - inFlight;
          const claiming = spool.claim(clock(), room);
          const batch = claiming instanceof Promise ? await claiming : claiming;
          for (const claimed of batch) {
            inFlight++;
            void attempt(claimed);
          }
          if (batch.length < room) break;
        }
        const scheduling = schedule();
        if (scheduling !== undefined) await scheduling;
        const depth = spool.depth();
        if ((depth instanceof Promise ? await depth : depth) === 0 || (handingOver && inFlight === 0)) for (const wake of idle.splice(0)) wake();
      } while (pumpAgain && !closed);
    } catch (err) {
      // A networked spool away: the next poll or delivery tries again. Said once per interval.
      report(`delivery mailbox: its store is unreachable (${messageOf(err)}); stored webhooks wait, new ones are forwarded directly`);
    } finally {
      pumping = false;
    }
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
      void pump();
    });
  }

  async function attempt(claimed: Claimed): Promise<void> {
    // A shared spool's claim runs out after QUEUE_LEASE_MS: renewed while the delivery lasts.
    const leaseMs = options.leaseMs ?? 10_000;
    const renewal = spool.shared ? setInterval(() => void Promise.resolve(spool.renew(claimed, clock())).catch(() => {}), leaseMs / 3) : undefined;
    let attempted: Attempted;
    try {
      attempted = await deliverer.deliver(claimed);
    } catch (err) {
      // A bug, not the bot: retry later rather than lose the letter.
      logError(`delivery ${claimed.letter.id} failed inside the proxy: ${messageOf(err)}`);
      const settlement: Settlement = { kind: 'retry', at: clock() + 1000, reason: 'internal error' };
      attempted = { settlement, report: { upstream: undefined, status: undefined, error: 'internal error', durationMs: 0 } };
    }
    if (renewal !== undefined) clearInterval(renewal);
    inFlight--;
    const { letter, attempt } = claimed;
    const { settlement } = attempted;
    try {
      const settling = spool.settle(claimed, settlement, clock());
      if (settling instanceof Promise) await settling;
      // The bot answers again after an outage: the mailboxes waiting out a backoff go now, rather
      // than each after its own wait (up to QUEUE_RETRY_MAX_MS).
      if (settlement.kind === 'retry' && settlement.early === true) botAway = true;
      else if (botAway && attempted.report.status !== undefined) {
        botAway = false;
        await settled(spool.wake(clock()));
      }
    } catch (err) {
      // A networked spool away: the claim runs out, and the letter is delivered again (at least once).
      logError(`delivery ${letter.id}: its outcome could not be recorded (${messageOf(err)}); it will be delivered again`);
    }
    options.onSettled?.({ ...attempted.report, id: letter.id, key: letter.key, url: letter.url, attempt, outcome: OUTCOME_OF[settlement.kind] });
    pumpSoon();
  }

  /** Sets the timer for the next retry due; a promise only when the spool answers later. */
  function schedule(): Promise<void> | undefined {
    const due = spool.nextDueAt();
    if (due instanceof Promise) return due.then(setTimerFor);
    setTimerFor(due);
    return undefined;
  }

  function setTimerFor(due: number | undefined): void {
    if (due === undefined || due >= timerAt) return;
    if (timer !== undefined) clearTimeout(timer);
    timerAt = due;
    timer = setTimeout(
      () => {
        timer = undefined;
        timerAt = Infinity;
        void pump();
      },
      Math.max(0, due - clock()),
    );
  }

  /** Stored and told the pump, or not stored (full, or the spool is away). */
  function appended(ok: boolean): boolean {
    if (ok) void pump();
    return ok;
  }

  return {
    spool,
    accept(letter) {
      if (closed) return false;
      const stored = spool.append(letter);
      return stored instanceof Promise ? stored.then(appended, () => false) : appended(stored);
    },
    stats: () => spool.stats(clock()),
    deadLetters: () => spool.deadLetters(),
    async replay(id) {
      const replayed = !closed && (await settled(spool.replay(id)));
      if (replayed) void pump();
      return replayed;
    },
    async replayAll() {
      // Oldest first, so the mailboxes get them back in the order they died.
      let replayed = 0;
      for (const dead of [...(await settled(spool.deadLetters()))].reverse()) if (!closed && (await settled(spool.replay(dead.letter.id)))) replayed++;
      if (replayed > 0) void pump();
      return replayed;
    },
    forget: (id) => spool.forget(id),
    async drain(graceMs) {
      // A shared spool keeps what it stores for the other replicas (or the next start): only the
      // deliveries in flight are finished. The memory spool delivers all it can.
      if (spool.shared) handingOver = true;
      const waiting = spool.shared ? inFlight > 0 : (await settled(spool.depth())) > 0;
      if (waiting) {
        let deadline: NodeJS.Timeout | undefined;
        await Promise.race([new Promise<void>((resolve) => idle.push(resolve)), new Promise<void>((resolve) => (deadline = setTimeout(resolve, graceMs)))]);
        clearTimeout(deadline);
      }
      return settled(spool.depth());
    },
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      if (poll !== undefined) clearInterval(poll);
      deliverer.close();
      if (!spool.shared) {
        const left = await settled(spool.depth());
        if (left > 0) logError(`delivery mailbox: ${left} webhook(s) not delivered are dropped with the process (memory spool)`);
      }
      await settled(spool.close());
    },
  };
}
