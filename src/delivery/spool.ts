/**
 * The Spool contract: where accepted webhooks wait, one mailbox per key, until delivered or
 * dead-lettered. A spool hands out at most one letter per mailbox at a time (the head, in
 * arrival order) and never a letter before the time its retry is due. Every backend passes
 * the same shared suite (test/helpers/spool-contract.ts).
 */
import type { Claimed, DeadLetter, Letter, Settlement, WaitingLetter } from './letter';
import type { Maybe } from '../core/maybe';

export interface SpoolStats {
  /** Letters stored and not yet delivered or dead (in flight included). */
  readonly depth: number;
  /** Of those, the keyless lane's (delivered without ordering). */
  readonly keyless: number;
  /** Bytes they are counted for (QUEUE_MAX_BYTES bounds it). */
  readonly bytes: number;
  /** Mailboxes holding letters (each keyless letter is a mailbox of its own). */
  readonly mailboxes: number;
  /** Letters handed out and not yet settled. */
  readonly inFlight: number;
  /** How long the oldest stored letter has waited, ms; 0 when empty. */
  readonly oldestAgeMs: number;
  /** Dead letters kept now, and dropped (oldest first) to stay within DEAD_LETTER_MAX. */
  readonly dead: number;
  readonly deadDropped: number;
}

/**
 * What storing a letter came to: stored; refused for want of room (QUEUE_MAX_BYTES); the store
 * did not answer; or its replicas did not confirm it in time (QUEUE_ACK_REPLICAS) and it was
 * taken back, or was being delivered already (then the direct copy carries its delivery id).
 */
export type AppendResult = 'stored' | 'full' | 'store-down' | 'unreplicated' | 'unreplicated-in-flight';

export interface Spool {
  /** Stores `letter` at the back of its key's mailbox, or says why it did not (a store that cannot answer rejects). */
  append(letter: Letter): Maybe<AppendResult>;
  /**
   * Up to `max` heads of mailboxes that are due at `now` and have nothing in flight, earliest due
   * first (several at once: one round trip to a networked spool for a whole batch).
   */
  claim(now: number, max: number): Maybe<Claimed[]>;
  /** Records how the attempt on `claimed` ended; its mailbox's next letter may then go. */
  settle(claimed: Claimed, settlement: Settlement, now: number): Maybe<void>;
  /**
   * Extends the claim on a delivery still in flight (a shared spool hands a mailbox to another
   * replica once its claim runs out); false when the claim was lost.
   */
  renew(claimed: Claimed, now: number): Maybe<boolean>;
  /**
   * Makes due now every mailbox waiting after a failure to reach the bot (`early` retries): the
   * bot has been seen answering again. Returns how many. Retries the bot asked for keep their time.
   */
  wake(now: number): Maybe<number>;
  /** When the earliest waiting retry falls due; undefined when none waits. */
  nextDueAt(): Maybe<number | undefined>;
  /** Letters stored now (cheap: the pump asks after every delivery). */
  depth(): Maybe<number>;
  stats(now: number): Maybe<SpoolStats>;
  /** Dead letters, newest first. */
  deadLetters(): Maybe<readonly DeadLetter[]>;
  /** The first `max` letters waiting in `key`'s mailbox, head first (for the admin look-up). */
  pendingFor(key: string, max: number): Maybe<readonly WaitingLetter[]>;
  /** Puts a dead letter back, at the back of its key's mailbox, its age counted from `now`; false when there is no such id. */
  replay(id: string, now: number): Maybe<boolean>;
  /** Forgets a dead letter; false when there is no such id. */
  forget(id: string): Maybe<boolean>;
  /** Resolves once it can take letters (a networked spool: connected); the proxy waits briefly for it. */
  ready(): Promise<void>;
  /** Whether other processes share it (then the pump also looks for work they stored). */
  readonly shared: boolean;
  /**
   * A shared spool that hears when another process stores a letter (PostgreSQL's LISTEN) calls
   * `onWork` then, and when it may have missed some (listening again after an outage): the pump
   * then polls only as a safety net.
   */
  listen?(onWork: () => void): void;
  /** Releases connections. */
  close(): Maybe<void>;
}
