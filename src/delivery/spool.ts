/**
 * The Spool contract: where accepted webhooks wait, one mailbox per key, until delivered or
 * dead-lettered. A spool hands out at most one letter per mailbox at a time (the head, in
 * arrival order) and never a letter before the time its retry is due. Every backend passes
 * the same shared suite (test/helpers/spool-contract.ts).
 */
import type { Claimed, DeadLetter, Letter, Settlement } from './letter';

export interface SpoolStats {
  /** Letters stored and not yet delivered or dead (in flight included). */
  readonly depth: number;
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

export interface Spool {
  /** Stores `letter` at the back of its key's mailbox; false when it cannot be stored (full). */
  append(letter: Letter): boolean;
  /** The head of a mailbox that is due at `now` and has nothing in flight, or undefined. */
  claim(now: number): Claimed | undefined;
  /** Records how the attempt on `claimed` ended; its mailbox's next letter may then go. */
  settle(claimed: Claimed, settlement: Settlement, now: number): void;
  /**
   * Makes due now every mailbox waiting after a failure to reach the bot (`early` retries): the
   * bot has been seen answering again. Returns how many. Retries the bot asked for keep their time.
   */
  wake(now: number): number;
  /** When the earliest waiting retry falls due; undefined when none waits. */
  nextDueAt(): number | undefined;
  /** Letters stored now (cheap: the pump asks after every delivery). */
  depth(): number;
  stats(now: number): SpoolStats;
  /** Dead letters, newest first. */
  deadLetters(): readonly DeadLetter[];
  /** Puts a dead letter back, at the back of its key's mailbox; false when there is no such id. */
  replay(id: string): boolean;
  /** Forgets a dead letter; false when there is no such id. */
  forget(id: string): boolean;
}
