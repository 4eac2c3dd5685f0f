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

export class PostgresSpool implements Spool {
  readonly shared = true;
  /** This process, in its claims and in the notifications it sends (it ignores its own). */
  private readonly owner = randomUUID();
  private readonly s: string;
  /** Letters stored, as last counted (the pump asks after every pass; nextDueAt counts again). */
  private depthSeen = 0;

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
    const bytes = letterBytes(letter);
    const [row] = await this.run((sql) =>
      sql.unsafe(`select ${this.s}.append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) as stored`, [
        letter.id,
        mailboxOf(letter),
        letter.method,
        letter.url,
        JSON.stringify(letter.headers),
        letter.body,
        bytes,
        letter.arrivedAt,
        this.options.maxBytes,
        counterRow(),
        this.owner,
      ]),
    );
    if (Number(row?.stored) !== 1) return 'full';
    this.depthSeen++;
    return 'stored';
  }

  async claim(now: number, max: number): Promise<Claimed[]> {
    const rows = await this.run((sql) => sql.unsafe(`select * from ${this.s}.claim($1, $2, $3, $4)`, [now, now + this.options.leaseMs, this.owner, max]));
    return rows.map((row) => ({ letter: letterOf(row), attempt: Number(row.attempt) }));
  }

  async settle(claimed: Claimed, settlement: Settlement, now: number): Promise<void> {
    const at = settlement.kind === 'retry' || settlement.kind === 'hold' ? settlement.at : now;
    const early = settlement.kind === 'retry' && settlement.early === true;
    const reason = settlement.kind === 'dead' ? settlement.reason : '';
    const { letter } = claimed;
    await this.run((sql) =>
      sql.unsafe(`select ${this.s}.settle($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, [
        mailboxOf(letter),
        letter.id,
        this.claimOf(letter),
        settlement.kind,
        now,
        at,
        early,
        reason,
        counterRow(),
        this.options.maxDead,
      ]),
    );
    if (settlement.kind === 'delivered' || settlement.kind === 'dead') this.depthSeen = Math.max(0, this.depthSeen - 1);
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
    return rows.length;
  }

  /** When a mailbox next falls due (a retry's time, or a claim running out); counts the depth on the way, for depth(). */
  async nextDueAt(): Promise<number | undefined> {
    const [row] = await this.run((sql) =>
      sql.unsafe(
        `select least((select min(due_at) from ${this.s}.mailboxes where lease_until is null),
                      (select min(lease_until) from ${this.s}.mailboxes where lease_until is not null)) as next,
                (select sum(depth) from ${this.s}.counters) as depth`,
      ),
    );
    this.depthSeen = Number(row?.depth ?? 0);
    return row?.next === null || row?.next === undefined ? undefined : Number(row.next);
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
    const oldest = row?.oldest === null || row?.oldest === undefined ? now : Number(row.oldest);
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
      firstAttemptAt: row.first_attempt_at === null ? undefined : Number(row.first_attempt_at),
      lastAttemptAt: Number(row.last_attempt_at),
      reason: String(row.reason),
    }));
  }

  async pendingFor(key: string, max: number): Promise<readonly WaitingLetter[]> {
    const rows = await this.run((sql) =>
      sql.unsafe(`select id, url, arrived_at, attempts from ${this.s}.letters where mailbox = $1 order by seq limit $2`, [mailboxOf({ key, id: '' }), max]),
    );
    return rows.map((row) => ({ id: String(row.id), url: String(row.url), arrivedAt: Number(row.arrived_at), attempts: Number(row.attempts) }));
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
    replayedAt: row.replayed_at === null || row.replayed_at === undefined ? undefined : Number(row.replayed_at),
  };
}

function parseHeaders(text: string): Record<string, string> {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null) throw new Error('a stored letter has malformed headers');
  return Object.fromEntries(Object.entries(parsed).map(([name, value]) => [name, String(value)]));
}
