/**
 * The embedded spool: mailboxes in this process's memory, bounded by bytes (QUEUE_MAX_BYTES).
 * Lost if the process is killed; a graceful stop delivers for as long as it may.
 */
import type { Claimed, DeadLetter, Letter, Settlement, WaitingLetter } from './letter';
import { letterBytes } from './letter';
import type { AppendResult, Spool, SpoolStats } from './spool';
import { MinHeap } from './min-heap';

export interface MemorySpoolOptions {
  /** Bytes of stored letters before new ones are refused (QUEUE_MAX_BYTES). */
  readonly maxBytes: number;
  /** Dead letters kept, the oldest dropped first (DEAD_LETTER_MAX). */
  readonly maxDead: number;
}

/** One key's letters, in arrival order; only the head is ever in flight or waiting for a retry. */
interface Mailbox {
  readonly id: string;
  readonly letters: Letter[];
  /** The head's attempts so far, and when the first was made. */
  attempts: number;
  firstAttemptAt: number | undefined;
  /** The head may not be handed out before this (a retry's time). */
  dueAt: number;
  inFlight: boolean;
  /** Its wait may be cut short (see Spool.wake). */
  early: boolean;
}

export class MemorySpool implements Spool {
  private readonly mailboxes = new Map<string, Mailbox>();
  /** Mailboxes whose head is due now, in the order they became due (a Set keeps insertion order). */
  private readonly due = new Set<Mailbox>();
  /** Mailboxes whose head waits for a retry, earliest first. */
  private readonly waiting = new MinHeap<Mailbox>((a, b) => a.dueAt - b.dueAt);
  private dead: DeadLetter[] = [];
  private stored = 0;
  private keyless = 0;
  private bytes = 0;
  private inFlight = 0;
  private deadDropped = 0;

  readonly shared = false;

  constructor(private readonly options: MemorySpoolOptions) {}

  /** One process holds the claim for as long as it likes. */
  renew(): boolean {
    return true;
  }

  close(): void {}

  async ready(): Promise<void> {}

  append(letter: Letter): AppendResult {
    const size = letterBytes(letter);
    if (this.bytes + size > this.options.maxBytes) return 'full';
    // Keyless letters are not ordered among themselves: each is a mailbox of its own.
    const id = letter.key ?? `\0${letter.id}`;
    let mailbox = this.mailboxes.get(id);
    if (mailbox === undefined) {
      mailbox = { id, letters: [], attempts: 0, firstAttemptAt: undefined, dueAt: 0, inFlight: false, early: false };
      this.mailboxes.set(id, mailbox);
      this.due.add(mailbox);
    }
    mailbox.letters.push(letter);
    this.stored++;
    if (letter.key === undefined) this.keyless++;
    this.bytes += size;
    return 'stored';
  }

  claim(now: number, max: number): Claimed[] {
    for (let next = this.waiting.peek(); next !== undefined && next.dueAt <= now; next = this.waiting.peek()) {
      this.waiting.pop();
      this.due.add(next);
    }
    const claimed: Claimed[] = [];
    for (const mailbox of this.due) {
      if (claimed.length >= max) break;
      this.due.delete(mailbox);
      const letter = mailbox.letters[0];
      if (letter === undefined) continue;
      mailbox.inFlight = true;
      mailbox.attempts++;
      mailbox.firstAttemptAt ??= now;
      this.inFlight++;
      claimed.push({ letter, attempt: mailbox.attempts });
    }
    return claimed;
  }

  settle(claimed: Claimed, settlement: Settlement, now: number): void {
    const letter = claimed.letter;
    const mailbox = this.mailboxes.get(letter.key ?? `\0${letter.id}`);
    if (mailbox === undefined || !mailbox.inFlight || mailbox.letters[0] !== letter) return;
    mailbox.inFlight = false;
    this.inFlight--;
    if (settlement.kind === 'retry' || settlement.kind === 'hold') {
      // A hold made no attempt: the next one keeps this one's number.
      if (settlement.kind === 'hold') mailbox.attempts--;
      mailbox.dueAt = settlement.at;
      mailbox.early = settlement.kind === 'retry' && settlement.early === true;
      this.waiting.push(mailbox);
      return;
    }
    if (settlement.kind === 'dead') {
      this.keepDead({ letter, attempts: mailbox.attempts, firstAttemptAt: mailbox.firstAttemptAt, lastAttemptAt: now, reason: settlement.reason });
    }
    this.removeHead(mailbox);
  }

  wake(now: number): number {
    const kept: Mailbox[] = [];
    let woken = 0;
    for (let next = this.waiting.pop(); next !== undefined; next = this.waiting.pop()) {
      if (!next.early) kept.push(next);
      else {
        next.dueAt = now;
        next.early = false;
        this.due.add(next);
        woken++;
      }
    }
    for (const mailbox of kept) this.waiting.push(mailbox);
    return woken;
  }

  nextDueAt(): number | undefined {
    return this.waiting.peek()?.dueAt;
  }

  depth(): number {
    return this.stored;
  }

  stats(now: number): SpoolStats {
    let oldest = now;
    for (const mailbox of this.mailboxes.values()) {
      const head = mailbox.letters[0];
      if (head !== undefined && head.arrivedAt < oldest) oldest = head.arrivedAt;
    }
    return {
      depth: this.stored,
      keyless: this.keyless,
      bytes: this.bytes,
      mailboxes: this.mailboxes.size,
      inFlight: this.inFlight,
      oldestAgeMs: now - oldest,
      dead: this.dead.length,
      deadDropped: this.deadDropped,
    };
  }

  deadLetters(): readonly DeadLetter[] {
    return [...this.dead].reverse();
  }

  pendingFor(key: string, max: number): readonly WaitingLetter[] {
    const mailbox = this.mailboxes.get(key);
    if (mailbox === undefined) return [];
    return mailbox.letters.slice(0, max).map((l, i) => ({ id: l.id, url: l.url, arrivedAt: l.arrivedAt, attempts: i === 0 ? mailbox.attempts : 0 }));
  }

  replay(id: string, now: number): boolean {
    const at = this.dead.findIndex((d) => d.letter.id === id);
    const found = this.dead[at];
    if (found === undefined || this.append({ ...found.letter, replayedAt: now }) !== 'stored') return false;
    this.dead.splice(at, 1);
    return true;
  }

  forget(id: string): boolean {
    const before = this.dead.length;
    this.dead = this.dead.filter((d) => d.letter.id !== id);
    return this.dead.length < before;
  }

  private removeHead(mailbox: Mailbox): void {
    const letter = mailbox.letters.shift();
    if (letter !== undefined) {
      this.stored--;
      if (letter.key === undefined) this.keyless--;
      this.bytes -= letterBytes(letter);
    }
    mailbox.attempts = 0;
    mailbox.firstAttemptAt = undefined;
    mailbox.dueAt = 0;
    if (mailbox.letters.length > 0) this.due.add(mailbox);
    else this.mailboxes.delete(mailbox.id);
  }

  private keepDead(dead: DeadLetter): void {
    this.dead.push(dead);
    if (this.dead.length > this.options.maxDead) {
      this.dead.shift();
      this.deadDropped++;
    }
  }
}
