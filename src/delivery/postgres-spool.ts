/**
 * The shared spool in PostgreSQL: mailboxes as rows, one per key across every replica, their
 * steps as functions (postgres-spool-sql.ts). A webhook is acknowledged once the append's
 * transaction has committed (on disk, and on a synchronous standby when there is one); a replica
 * that dies while delivering leaves its claim to run out (QUEUE_LEASE_MS), and another delivers
 * that webhook again, with the same delivery id and the next attempt number.
 *
 * Wake-ups: each append NOTIFYs, and every replica's pump LISTENs (`listen`), so another
 * replica's webhook is claimed at once rather than at the next poll; the mailbox still polls,
 * slowly, as the safety net (and for claims that ran out).
 */
import { randomUUID } from 'node:crypto';
import type { Row } from 'postgres';
import type { PostgresConnection, Sql } from '../store/postgres-connection';
import { quoted, workChannel } from '../store/postgres-schema';
import type { Claimed, DeadLetter, Letter, Settlement, WaitingLetter } from './letter';
import { letterBytes } from './letter';
import { Batcher } from './batcher';
import { mailboxOf } from './packed-letter';
import type { AppendResult, Spool, SpoolStats } from './spool';

export interface PostgresSpoolOptions {
  /** A call slower than this fails (SPOOL_TIMEOUT_MS): the webhook then takes QUEUE_WHEN_STORE_DOWN's path. */
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly maxDead: number;
  /** How long a claim lasts unless renewed (QUEUE_LEASE_MS). */
  readonly leaseMs: number;
}

/** The counters table's rows: each call picks one at random (postgres-spool-sql.ts says why). */
const COUNTER_ROWS = 16;
const counterRow = (): number => Math.floor(Math.random() * COUNTER_ROWS);

/**
 * How calls are batched (batcher.ts), measured with `npm run bench -- backlog --postgres`: two
 * lanes of appends (a mailbox's in one, so in order) took 20 % more webhooks a second than four
 * (bigger batches, fewer commits); one lane of settlements drained as fast as two or four. Up
 * to 200 calls a batch. With the claims and look-ups beside them, within the pool's ten
 * connections.
 */
const APPEND_BATCHES = { lanes: 2, maxBatch: 200 };
const SETTLE_BATCHES = { lanes: 1, maxBatch: 200 };

/** Element types of the arrays sent (PostgreSQL type oids): the client sends each as that type's array. */
const [BOOL, INT8, INT4, TEXT] = [16, 20, 23, 25];

/** One settlement waiting for its batch. */
interface Settling {
  readonly claimed: Claimed;
  readonly settlement: Settlement;
  readonly now: number;
}

export class PostgresSpool implements Spool {
  readonly shared = true;
  /** This process, in its claims and in the notifications it sends (it ignores its own). */
  private readonly owner = randomUUID();
  private readonly s: string;
  /**
   * Letters stored, and when a mailbox next falls due, as the last claim counted them (other
   * replicas' work is heard of by LISTEN, and the pump claims again then).
   */
  private depthSeen = 0;
  private nextDue: number | undefined;
  /** Appends and settlements made while one is in flight go together in the next (batcher.ts). */
  private readonly appends = new Batcher<Letter, number>((letters) => this.appendMany(letters), APPEND_BATCHES);
  private readonly settlements = new Batcher<Settling, boolean>((settling) => this.settleMany(settling), SETTLE_BATCHES);

  constructor(
    private readonly connection: PostgresConnection,
    private readonly options: PostgresSpoolOptions,
  ) {
    this.s = quoted(connection.schema);
  }

  ready(): Promise<void> {
    return this.connection.ready();
  }

  listen(onWork: () => void): void {
    this.connection.listen(
      workChannel(this.connection.schema),
      (payload) => {
        if (payload !== this.owner) onWork();
      },
      onWork,
    );
  }

  async append(letter: Letter): Promise<AppendResult> {
    const stored = await this.appends.add(mailboxOf(letter), letter);
    if (stored !== 1) return 'full';
    this.depthSeen++;
    return 'stored';
  }

  async claim(now: number, max: number): Promise<Claimed[]> {
    const rows = await this.run((sql) => sql.unsafe(`select * from ${this.s}.claim($1, $2, $3, $4)`, [now, now + this.options.leaseMs, this.owner, max]));
    const figures = rows.at(-1);
    this.nextDue = numberOrNone(figures?.next_due);
    this.depthSeen = Number(figures?.depth ?? 0);
    return rows.slice(0, -1).map((row) => ({ letter: letterOf(row), attempt: Number(row.attempt) }));
  }

  async settle(claimed: Claimed, settlement: Settlement, now: number): Promise<void> {
    await this.settlements.add(mailboxOf(claimed.letter), { claimed, settlement, now });
    if (settlement.kind === 'delivered' || settlement.kind === 'dead') this.depthSeen = Math.max(0, this.depthSeen - 1);
    else this.dueBy(settlement.at);
  }

  async renew(claimed: Claimed, now: number): Promise<boolean> {
    const { letter } = claimed;
    const rows = await this.run((sql) =>
      sql.unsafe(`update ${this.s}.mailboxes set lease_until = $1 where mailbox = $2 and claim = $3 returning 1`, [now + this.options.leaseMs, mailboxOf(letter), this.claimOf(letter)]),
    );
    return rows.length === 1;
  }

  async wake(now: number): Promise<number> {
    const rows = await this.run((sql) => sql.unsafe(`update ${this.s}.mailboxes set due_at = $1, early = false where early and lease_until is null returning 1`, [now]));
    if (rows.length > 0) this.dueBy(now);
    return rows.length;
  }

  /** When a mailbox next falls due (a retry's time, or a claim running out), as the last claim saw it. */
  nextDueAt(): number | undefined {
    return this.nextDue;
  }

  /** A mailbox falls due at `at`: the figures say so until the next claim counts again. */
  private dueBy(at: number): void {
    this.nextDue = this.nextDue === undefined ? at : Math.min(this.nextDue, at);
  }

  depth(): number {
    return this.depthSeen;
  }

  async stats(now: number): Promise<SpoolStats> {
    const [row] = await this.run((sql) =>
      sql.unsafe(`select c.depth, c.keyless, c.bytes, c.dead_dropped,
          (select count(*) from ${this.s}.mailboxes) as mailboxes,
          (select count(*) from ${this.s}.mailboxes where lease_until is not null) as in_flight,
          (select min(head_arrived_at) from ${this.s}.mailboxes) as oldest,
          (select count(*) from ${this.s}.dead_letters) as dead
        from (select sum(depth) as depth, sum(keyless) as keyless, sum(bytes) as bytes, sum(dead_dropped) as dead_dropped from ${this.s}.counters) c`),
    );
    const n = (v: unknown) => Number(v ?? 0);
    this.depthSeen = n(row?.depth);
    const oldest = numberOrNone(row?.oldest) ?? now;
    return {
      depth: n(row?.depth),
      keyless: n(row?.keyless),
      bytes: n(row?.bytes),
      mailboxes: n(row?.mailboxes),
      inFlight: n(row?.in_flight),
      oldestAgeMs: Math.max(0, now - oldest),
      dead: n(row?.dead),
      deadDropped: n(row?.dead_dropped),
    };
  }

  async deadLetters(): Promise<readonly DeadLetter[]> {
    const rows = await this.run((sql) => sql.unsafe(`select * from ${this.s}.dead_letters order by died desc limit $1`, [this.options.maxDead]));
    return rows.map((row) => ({
      letter: letterOf(row),
      attempts: Number(row.attempts),
      firstAttemptAt: numberOrNone(row.first_attempt_at),
      lastAttemptAt: Number(row.last_attempt_at),
      reason: String(row.reason),
    }));
  }

  async pendingFor(key: string, max: number): Promise<readonly WaitingLetter[]> {
    const rows = await this.run((sql) =>
      sql.unsafe(
        `select l.id, l.url, l.arrived_at, (select m.head_attempts from ${this.s}.mailboxes m where m.mailbox = $1) as head_attempts
           from ${this.s}.letters l where l.mailbox = $1 order by l.seq limit $2`,
        [mailboxOf({ key, id: '' }), max],
      ),
    );
    // Only the head is ever attempted.
    return rows.map((row, i) => ({ id: String(row.id), url: String(row.url), arrivedAt: Number(row.arrived_at), attempts: i === 0 ? Number(row.head_attempts ?? 0) : 0 }));
  }

  async replay(id: string, now: number): Promise<boolean> {
    const [row] = await this.run((sql) => sql.unsafe(`select ${this.s}.replay($1, $2, $3, $4) as replayed`, [id, now, this.options.maxBytes, counterRow()]));
    return Number(row?.replayed) === 1;
  }

  async forget(id: string): Promise<boolean> {
    const rows = await this.run((sql) => sql.unsafe(`delete from ${this.s}.dead_letters where id = $1 returning 1`, [id]));
    return rows.length === 1;
  }

  /** The connection is the session's: closed with it. */
  close(): void {}

  /** Stores letters in one transaction: 1 stored, 0 full, per letter. */
  private appendMany(letters: readonly Letter[]): Promise<number[]> {
    return this.arrayCall(
      `select ${this.s}.append_many($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) as out`,
      (sql) => {
        const column = (type: number, pick: (l: Letter) => unknown) => sql.array(letters.map(pick) as never[], type);
        return [
          column(TEXT, (l) => l.id),
          column(TEXT, mailboxOf),
          column(TEXT, (l) => l.method),
          column(TEXT, (l) => l.url),
          column(TEXT, (l) => JSON.stringify(l.headers)),
          column(TEXT, (l) => l.body.toString('base64')),
          column(INT4, letterBytes),
          column(INT8, (l) => l.arrivedAt),
          this.options.maxBytes,
          counterRow(),
          this.owner,
        ];
      },
      Number,
    );
  }

  /** Records attempts' outcomes in one transaction (a claim lost is settled by nobody: it was another's). */
  private settleMany(settling: readonly Settling[]): Promise<boolean[]> {
    const at = ({ settlement, now }: Settling) => (settlement.kind === 'retry' || settlement.kind === 'hold' ? settlement.at : now);
    return this.arrayCall(
      `select ${this.s}.settle_many($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) as out`,
      (sql) => {
        const column = (type: number, pick: (s: Settling) => unknown) => sql.array(settling.map(pick) as never[], type);
        return [
          column(TEXT, (s) => mailboxOf(s.claimed.letter)),
          column(TEXT, (s) => s.claimed.letter.id),
          column(TEXT, (s) => this.claimOf(s.claimed.letter)),
          column(TEXT, (s) => s.settlement.kind),
          column(INT8, at),
          column(BOOL, (s) => s.settlement.kind === 'retry' && s.settlement.early === true),
          column(TEXT, (s) => (s.settlement.kind === 'dead' ? s.settlement.reason : '')),
          Math.max(...settling.map((s) => s.now)),
          counterRow(),
          this.options.maxDead,
        ];
      },
      (v) => v === true,
    );
  }

  /** Calls a function that answers an array (one element per input), each element read by `read`. */
  private async arrayCall<T>(text: string, params: (sql: Sql) => unknown[], read: (v: unknown) => T): Promise<T[]> {
    const [row] = await this.run((sql) => sql.unsafe(text, params(sql) as never[]));
    const out: unknown = row?.out;
    if (!Array.isArray(out)) throw new Error('the database answered no array');
    return out.map(read);
  }

  private claimOf(letter: Letter): string {
    return `${this.owner} ${letter.id}`;
  }

  private run(send: (sql: Sql) => Promise<readonly Row[]>): Promise<readonly Row[]> {
    return this.connection.call(this.options.timeoutMs, send);
  }
}

/** A letter (stored, or dead) from its row. */
function letterOf(row: Row): Letter {
  const mailbox = String(row.mailbox);
  return {
    id: String(row.id),
    key: mailbox.startsWith('k:') ? mailbox.slice(2) : undefined,
    method: String(row.method),
    url: String(row.url),
    headers: parseHeaders(String(row.headers)),
    body: Buffer.isBuffer(row.body) ? row.body : Buffer.from(String(row.body)),
    arrivedAt: Number(row.arrived_at),
    replayedAt: numberOrNone(row.replayed_at),
  };
}

/** A nullable bigint column (the client answers text): its number, or undefined for SQL null. */
function numberOrNone(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

function parseHeaders(text: string): Record<string, string> {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null) throw new Error('a stored letter has malformed headers');
  return Object.fromEntries(Object.entries(parsed).map(([name, value]) => [name, String(value)]));
}
