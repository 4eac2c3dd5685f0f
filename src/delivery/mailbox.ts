/**
 * DELIVERY=queued: accepted webhooks go into the spool, and a pump hands each key's head to the
 * deliverer, up to QUEUE_CONCURRENCY at once (one per key), waking for retries as they fall due.
 */
import { logError } from '../log';
import { throttled } from '../throttle';
import type { Clock } from '../core/clock';
import { isPending, mapMaybe, type Maybe } from '../core/maybe';
import { messageOf } from '../errors';
import type { Attempted, Deliverer } from './deliverer';
import type { Claimed, DeadLetter, DeliveryOutcome, DeliveryRecord, Letter, Settlement, WaitingLetter } from './letter';

export type { DeliveryOutcome, DeliveryRecord } from './letter';
import type { AppendResult, Spool, SpoolStats } from './spool';

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
  /** While no attempt reaches the bot: one delivery at a time, at most one this often (ms). */
  readonly probeMs?: number;
  /** Told how each attempt ended (metrics, tests). */
  readonly onSettled?: (record: DeliveryRecord) => void;
}

export interface Mailbox {
  /** Stores the letter; anything but 'stored' means it must be forwarded directly (or refused). */
  accept(letter: Letter): Maybe<AppendResult>;
  stats(): Maybe<SpoolStats>;
  readonly spool: Spool;
  /** Dead letters, newest first. */
  deadLetters(): Maybe<readonly DeadLetter[]>;
  /** The first `max` webhooks waiting for `key`, head first. */
  pendingFor(key: string, max: number): Maybe<readonly WaitingLetter[]>;
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
  /** Accepted webhooks a memory spool still held when it closed: lost with the process. */
  readonly droppedAtClose: number;
}

/** How often a spool that announces other processes' work is looked at anyway (ms): what a lost notification costs at most. */
const SAFETY_POLL_MS = 2000;

const OUTCOME_OF: Record<Settlement['kind'], DeliveryOutcome> = { delivered: 'delivered', retry: 'retried', dead: 'dead', hold: 'held' };

/** `value`, waited for only when it is a promise (the memory spool's answers stay synchronous). */

export function createMailbox(options: MailboxOptions): Mailbox {
  return new SpoolMailbox(options);
}

class SpoolMailbox implements Mailbox {
  readonly spool: Spool;
  private readonly deliverer: Deliverer;
  private readonly clock: Clock;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private closed = false;
  /** Stopping with a shared spool: no new claims (what is stored stays for the other replicas). */
  private handingOver = false;
  /**
   * The last attempt that settled reached nobody: the bot is down, or was. Until one reaches it,
   * deliveries go one at a time, a probe every probeMs, rather than every mailbox on its own
   * backoff: with thousands of keys waiting, those attempts would crowd out accepting webhooks.
   */
  private botAway = false;
  private nextProbeAt = -Infinity;
  /** Waiting for the spool to empty (memory) or the deliveries in flight to end (shared). */
  private readonly idle: (() => void)[] = [];
  private pumping = false;
  private pumpAgain = false;
  private pumpQueued = false;
  private readonly poll: NodeJS.Timeout | undefined;
  private readonly report: (line: string) => void;
  droppedAtClose = 0;

  constructor(private readonly options: MailboxOptions) {
    this.spool = options.spool;
    this.deliverer = options.deliverer;
    this.clock = options.clock;
    this.report = throttled(logError, 10_000, options.clock);
    // A shared spool gets work from other replicas too: look for it now and then.
    // A spool that says when others store work is polled only as the safety net.
    this.spool.listen?.(() => void this.pump());
    const pollMs = this.spool.listen === undefined ? (options.pollMs ?? 250) : SAFETY_POLL_MS;
    this.poll = this.spool.shared ? setInterval(() => void this.pump(), pollMs) : undefined;
  }

  accept(letter: Letter): Maybe<AppendResult> {
    if (this.closed) return 'full';
    const result = this.spool.append(letter);
    return mapMaybe(
      result,
      (r) => this.appended(r),
      (): AppendResult => 'store-down',
    );
  }

  stats(): Maybe<SpoolStats> {
    return this.spool.stats(this.clock());
  }

  deadLetters(): Maybe<readonly DeadLetter[]> {
    return this.spool.deadLetters();
  }

  pendingFor(key: string, max: number): Maybe<readonly WaitingLetter[]> {
    return this.spool.pendingFor(key, max);
  }

  async replay(id: string): Promise<boolean> {
    const replayed = !this.closed && (await this.spool.replay(id, this.clock()));
    if (replayed) void this.pump();
    return replayed;
  }

  async replayAll(): Promise<number> {
    // Oldest first, so the mailboxes get them back in the order they died.
    let replayed = 0;
    for (const dead of [...(await this.spool.deadLetters())].reverse()) {
      if (!this.closed && (await this.spool.replay(dead.letter.id, this.clock()))) replayed++;
    }
    if (replayed > 0) void this.pump();
    return replayed;
  }

  forget(id: string): Maybe<boolean> {
    return this.spool.forget(id);
  }

  async drain(graceMs: number): Promise<number> {
    // A shared spool keeps what it stores for the other replicas (or the next start): only the
    // deliveries in flight are finished. The memory spool delivers all it can.
    if (this.spool.shared) this.handingOver = true;
    const waiting = this.spool.shared ? this.inFlight > 0 : (await this.spool.depth()) > 0;
    if (waiting) {
      let deadline: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((resolve) => this.idle.push(resolve)), new Promise<void>((resolve) => (deadline = setTimeout(resolve, graceMs)))]);
      clearTimeout(deadline);
    }
    return this.spool.depth();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.poll !== undefined) clearInterval(this.poll);
    if (!this.spool.shared) {
      const left = await this.spool.depth();
      this.droppedAtClose = left;
      if (left > 0) logError(`delivery mailbox: ${left} webhook(s) not delivered are dropped with the process (memory spool)`);
    }
    await this.spool.close();
  }

  /** Stored: tell the pump. */
  private appended(result: AppendResult): AppendResult {
    if (result === 'stored') void this.pump();
    return result;
  }

  /** Starts every delivery that may start now, and sets the timer for the next retry due. */
  private async pump(): Promise<void> {
    if (this.closed) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        await this.claimWhatFits();
        const scheduling = this.schedule();
        if (isPending(scheduling)) await scheduling;
        const depth = this.spool.depth();
        const empty = (isPending(depth) ? await depth : depth) === 0;
        if (empty || (this.handingOver && this.inFlight === 0)) for (const wake of this.idle.splice(0)) wake();
      } while (this.pumpAgain && !this.closed);
    } catch (err) {
      // A networked spool away: the next poll or delivery tries again. Said once per interval.
      this.report(`delivery mailbox: its store is unreachable (${messageOf(err)}); stored webhooks wait, new ones are forwarded directly`);
    } finally {
      this.pumping = false;
    }
  }

  /** Claims as many letters as there is room for, in batches, and starts their deliveries. */
  private async claimWhatFits(): Promise<void> {
    while (!this.closed && !this.handingOver) {
      const room = this.botAway ? this.probeRoom() : this.options.concurrency - this.inFlight;
      if (room <= 0) return;
      // Waited for only when the spool answers later: the memory spool's claims stay in this tick.
      const claiming = this.spool.claim(this.clock(), room);
      const batch = isPending(claiming) ? await claiming : claiming;
      if (this.botAway && batch.length > 0) this.nextProbeAt = this.clock() + (this.options.probeMs ?? 250);
      for (const claimed of batch) {
        this.inFlight++;
        void this.attempt(claimed);
      }
      if (batch.length < room) return;
    }
  }

  /**
   * While the bot is away: room for one probe when none is in flight and its time has come (the
   * pump is woken then: what is due now may not be in the spool's next retry time).
   */
  private probeRoom(): number {
    if (this.inFlight > 0) return 0;
    if (this.clock() >= this.nextProbeAt) return 1;
    this.setTimerFor(this.nextProbeAt);
    return 0;
  }

  /**
   * Pumps once after this pass of the event loop, for every delivery that settled in it: sending
   * the next ones together, after the answers are all read, costs less CPU than one at a time
   * between them (as check-phase.ts does for direct forwards).
   */
  private pumpSoon(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      void this.pump();
    });
  }

  private async attempt(claimed: Claimed): Promise<void> {
    // A shared spool's claim runs out after QUEUE_LEASE_MS: renewed while the delivery lasts.
    const leaseMs = this.options.leaseMs ?? 10_000;
    const renewal = this.spool.shared ? setInterval(() => void Promise.resolve(this.spool.renew(claimed, this.clock())).catch(() => {}), leaseMs / 3) : undefined;
    const attempted = await this.deliverSafely(claimed);
    if (renewal !== undefined) clearInterval(renewal);
    this.inFlight--;
    await this.record(claimed, attempted);
    const { letter, attempt } = claimed;
    this.options.onSettled?.({ ...attempted.report, id: letter.id, key: letter.key, url: letter.url, attempt, outcome: OUTCOME_OF[attempted.settlement.kind] });
    this.pumpSoon();
  }

  private async deliverSafely(claimed: Claimed): Promise<Attempted> {
    try {
      return await this.deliverer.deliver(claimed);
    } catch (err) {
      // A bug, not the bot: retry later rather than lose the letter.
      logError(`delivery ${claimed.letter.id} failed inside the proxy: ${messageOf(err)}`);
      const settlement: Settlement = { kind: 'retry', at: this.clock() + 1000, reason: 'internal error' };
      return { settlement, report: { upstream: undefined, status: undefined, error: 'internal error', durationMs: 0 } };
    }
  }

  /** Settles the attempt in the spool; wakes the waiting mailboxes when the bot is back. */
  private async record(claimed: Claimed, { settlement, report }: Attempted): Promise<void> {
    try {
      const settling = this.spool.settle(claimed, settlement, this.clock());
      if (isPending(settling)) await settling;
      // The bot answers again after an outage: the mailboxes waiting out a backoff go now, rather
      // than each after its own wait (up to QUEUE_RETRY_MAX_MS).
      if (settlement.kind === 'retry' && settlement.early === true) this.botAway = true;
      else if (this.botAway && report.status !== undefined) {
        this.botAway = false;
        await this.spool.wake(this.clock());
      }
    } catch (err) {
      // A networked spool away: the claim runs out, and the letter is delivered again (at least once).
      logError(`delivery ${claimed.letter.id}: its outcome could not be recorded (${messageOf(err)}); it will be delivered again`);
    }
  }

  /** Sets the timer for the next retry due; a promise only when the spool answers later. */
  private schedule(): Maybe<void> {
    return mapMaybe(this.spool.nextDueAt(), (at) => this.setTimerFor(at));
  }

  private setTimerFor(dueAt: number | undefined): void {
    // While the bot is away, what is due waits for the next probe.
    const due = dueAt !== undefined && this.botAway ? Math.max(dueAt, this.nextProbeAt) : dueAt;
    if (due === undefined || due >= this.timerAt) return;
    // Due already, with no room: the next delivery to finish pumps (a timer would fire at once, again and again).
    if (due <= this.clock() && this.inFlight >= this.options.concurrency) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = due;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        void this.pump();
      },
      Math.max(0, due - this.clock()),
    );
  }
}
