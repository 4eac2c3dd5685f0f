/**
 * One PostgreSQL client per process (a small pool of connections), shared by every part that
 * uses the database (the affinity store, the delivery mailbox, dedupe), with the same manners as
 * the Redis connection: every call is bounded by a timeout, trouble is one line per outage
 * naming what each part does meanwhile, calls fail at once while the database is away, and a
 * probe decides when it is back.
 *
 * Until the schema is current (postgres-schema.ts migrates it at the first connection) the
 * database counts as away: no part touches tables that may not exist yet.
 *
 * A failover: with a multi-host DATABASE_URL and `target_session_attrs=read-write`, the client
 * connects only to the host that takes writes. A connection that finds itself on a standby (the
 * old primary came back as one) is dropped and the client opened again, to find the new primary.
 */
import postgres from 'postgres';
import { errnoOf, messageOf } from '../errors';
import { logError } from '../log';
import { outageLine, StoreTimeoutError, StoreUnavailableError, withDeadline, type StoreUse } from './store-call';
import { migrate } from './postgres-schema';

export type Sql = postgres.Sql;

const PROBE_EVERY_MS = 500;

interface Listener {
  readonly channel: string;
  readonly onMessage: (payload: string) => void;
  readonly onListen: () => void;
  /** The client it listens on (it listens again by itself after a reconnection of that client). */
  on?: Sql;
}

/** SQLSTATEs that mean "no usable database here now", not "this statement failed". */
function isOutage(err: unknown): boolean {
  const state = sqlState(err);
  if (state === undefined) return true; // no answer at all: refused, reset, closed, timed out connecting
  return state.startsWith('08') || state === '57P01' || state === '57P02' || state === '57P03' || state === '25006' || state === '3D000' || state.startsWith('28');
}

/** The SQLSTATE of an error the server answered; undefined for a connection failure. */
export function sqlState(err: unknown): string | undefined {
  if (!(err instanceof Error) || err.name !== 'PostgresError') return undefined;
  const code: unknown = Reflect.get(err, 'code');
  return typeof code === 'string' ? code : undefined;
}

function reasonOf(err: unknown): string {
  const state = sqlState(err);
  if (state === '25006') return 'read-only: a standby';
  return state === undefined ? errnoOf(err) || messageOf(err) : `${state}: ${messageOf(err)}`;
}

export class PostgresConnection {
  readonly where: string;
  private sql: Sql;
  private readonly uses: StoreUse[] = [];
  private readonly listeners: Listener[] = [];
  /** Set while calls fail at once: why. */
  private downReason: string | undefined = 'not connected yet';
  private lastAnswerAt = performance.now();
  private probe: NodeJS.Timeout | undefined;
  private probing = false;
  private closing: Promise<void> | undefined;
  private readonly waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  /** The first connection attempt has ended (well or not): ready() no longer waits. */
  private firstAttemptDone = false;
  private firstError: unknown;
  /** Said already that the outage began (the start's first failure is said as one too). */
  private said = false;

  constructor(
    private readonly url: string,
    readonly schema: string,
    where: string,
    private readonly timeoutMs: number,
  ) {
    this.where = where;
    this.sql = this.open();
    void this.tryToConnect();
  }

  /** Adds a part to the ones named when the database is lost. */
  use(use: StoreUse): void {
    this.uses.push(use);
  }

  get up(): boolean {
    return this.downReason === undefined;
  }

  /** Resolves once connected with the schema current; rejects with the first attempt's error. */
  ready(): Promise<void> {
    if (this.up) return Promise.resolve();
    if (this.firstAttemptDone) return Promise.reject(this.firstError instanceof Error ? this.firstError : new Error(String(this.firstError)));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Runs `send` unless the database is away, failing it after `timeoutMs`. */
  async call<T>(timeoutMs: number, send: (sql: Sql) => Promise<T>): Promise<T> {
    if (this.downReason !== undefined) throw new StoreUnavailableError(`${this.where} is unreachable (${this.downReason})`);
    const sentAt = performance.now();
    const pending = send(this.sql);
    // A query not answered in time is cancelled, so a slow database does not pile them up.
    const cancel = () => {
      const cancelQuery: unknown = Reflect.get(pending, 'cancel');
      if (typeof cancelQuery === 'function') void Promise.resolve(cancelQuery.call(pending)).catch(() => {});
    };
    try {
      const value = await withDeadline(pending, timeoutMs, `${this.where} did not answer within ${timeoutMs} ms`, cancel);
      this.lastAnswerAt = performance.now();
      return value;
    } catch (err) {
      if (err instanceof StoreTimeoutError) {
        // Only when the database answered nothing at all since: a slow answer among others is not an outage.
        if (this.lastAnswerAt < sentAt) this.goDown('no answer');
      } else if (isOutage(err)) {
        this.goDown(reasonOf(err));
      } else {
        this.lastAnswerAt = performance.now();
      }
      throw err;
    }
  }

  /**
   * Calls `onMessage` with each notification on `channel`, over the client's own listening
   * connection (it reconnects by itself); `onListen` runs each time listening (re)starts, when
   * what was sent meanwhile may have been missed.
   */
  listen(channel: string, onMessage: (payload: string) => void, onListen: () => void): void {
    const listener: Listener = { channel, onMessage, onListen };
    this.listeners.push(listener);
    if (this.up) this.startListening(listener);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.probe);
      this.probe = undefined;
      this.settleWaiters(new StoreUnavailableError('closed'));
      await this.sql.end({ timeout: 1 }).catch(() => {});
    })();
    return this.closing;
  }

  private open(): Sql {
    return postgres(this.url, {
      max: 10,
      connect_timeout: Math.max(1, Math.ceil(this.timeoutMs / 1000)),
      idle_timeout: 60,
      // Notices (IF NOT EXISTS skipped, ...) are not the operator's business.
      onnotice: () => {},
      connection: { application_name: 'webhook-affinity' },
    });
  }

  private async tryToConnect(): Promise<void> {
    try {
      await migrate(this.sql, this.schema, this.timeoutMs);
      this.connected();
    } catch (err) {
      this.firstError ??= err;
      this.goDown(reasonOf(err));
    } finally {
      if (!this.firstAttemptDone) {
        this.firstAttemptDone = true;
        if (!this.up) this.settleWaiters(this.firstError);
      }
    }
  }

  private goDown(reason: string): void {
    if (this.closing !== undefined) return;
    if (this.downReason !== undefined && this.said) return;
    this.downReason = reason;
    this.said = true;
    logError(outageLine(this.where, reason, this.uses));
    this.probe ??= setInterval(() => void this.checkBack(), PROBE_EVERY_MS).unref();
  }

  /** Back when a probe finds a writable database with the schema current; a standby means reconnecting elsewhere. */
  private async checkBack(): Promise<void> {
    if (this.probing || this.closing !== undefined) return;
    this.probing = true;
    try {
      const [row] = await withDeadline(this.sql`select pg_is_in_recovery() as standby`, PROBE_EVERY_MS * 2, `no answer within ${PROBE_EVERY_MS * 2} ms`);
      if (row?.standby === true) {
        this.downReason = 'read-only: a standby';
        await this.reopen();
        return;
      }
      await migrate(this.sql, this.schema, this.timeoutMs);
      this.connected();
    } catch (err) {
      // A frozen server never answers: its connections are dropped and opened again.
      if (err instanceof StoreTimeoutError) await this.reopen();
      else if (!isOutage(err)) this.downReason = reasonOf(err);
    } finally {
      this.probing = false;
    }
  }

  /** Drops every connection at once and opens a new client (listeners move to it). */
  private async reopen(): Promise<void> {
    const old = this.sql;
    this.sql = this.open();
    await old.end({ timeout: 0 }).catch(() => {});
  }

  private connected(): void {
    this.lastAnswerAt = performance.now();
    const wasDown = this.said;
    this.downReason = undefined;
    this.said = false;
    clearInterval(this.probe);
    this.probe = undefined;
    if (wasDown) logError(`${this.where} is back`);
    this.settleWaiters(undefined);
    for (const listener of this.listeners) this.startListening(listener);
  }

  private startListening(listener: Listener): void {
    const sql = this.sql;
    if (listener.on === sql) return;
    listener.on = sql;
    sql
      .listen(listener.channel, (payload) => listener.onMessage(payload), listener.onListen)
      .catch((err: unknown) => {
        // The client listens again by itself once connected; a first failure is the outage's to report.
        if (sql === this.sql && !isOutage(err)) logError(`${this.where}: cannot LISTEN for new webhooks (${messageOf(err)}); other replicas' webhooks are found by polling`);
      });
  }

  private settleWaiters(err: unknown): void {
    for (const waiter of this.waiters.splice(0)) {
      if (err === undefined) waiter.resolve();
      else waiter.reject(err);
    }
  }
}
