/**
 * The PostgreSQL backend (STORE=postgres): learned cookies, the delivery spool and dedupe ids in
 * one schema, shared by every replica and worker, over one small pool of connections per
 * process. Expiry is kept as a time in each row (the proxy's clock, as with the spool's due
 * times), and expired rows are swept in bounded batches.
 */
import { PostgresSpool } from '../delivery/postgres-spool';
import type { DeliveryIds } from '../dedupe/delivery-ids';
import { redactUrl } from '../config/redact';
import postgres, { type Row } from 'postgres';
import { errnoOf, messageOf } from '../errors';
import type { StoreBackend, StoreSession } from './backend';
import { PostgresConnection, sqlState, type Sql } from './postgres-connection';
import { quoted, SCHEMA_VERSION, schemaVersion } from './postgres-schema';
import type { AffinityStore, StoreHealth } from './store';
import type { Clock } from '../core/clock';

export interface PostgresBackendOptions {
  /** DATABASE_URL: a libpq URL; several hosts with target_session_attrs=read-write follow a failover. */
  readonly url: string;
  /** POSTGRES_SCHEMA, default webhook_affinity. */
  readonly schema: string;
}

const DEFAULT_URL = 'postgres://127.0.0.1:5432/postgres';

/** How often expired cookies and dedupe ids are swept, and how many rows one statement deletes at most. */
const SWEEP_EVERY_MS = 60_000;
const SWEEP_BATCH = 1000;

/** The affinity map: one row per key, with when it expires. */
export class PostgresStore implements AffinityStore {
  private readonly s: string;

  constructor(
    private readonly connection: PostgresConnection,
    private readonly clock: Clock,
    private readonly timeoutMs: number,
  ) {
    this.s = quoted(connection.schema);
  }

  health(): StoreHealth {
    return { remote: true, up: this.connection.up, detail: this.connection.up ? 'PostgreSQL connected' : 'PostgreSQL unreachable' };
  }

  /** Not counted: a count is a scan. */
  size(): undefined {
    return undefined;
  }

  ready(): Promise<void> {
    return this.connection.ready();
  }

  async get(key: string): Promise<string | undefined> {
    const [row] = await this.run((sql) => sql.unsafe(`select value from ${this.s}.affinity where key = $1 and expires_at > $2`, [key, this.clock()]));
    return row === undefined ? undefined : String(row.value);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.run((sql) =>
      sql.unsafe(`insert into ${this.s}.affinity (key, value, expires_at) values ($1, $2, $3) on conflict (key) do update set value = excluded.value, expires_at = excluded.expires_at`, [
        key,
        value,
        this.clock() + Math.max(1, Math.ceil(ttlMs)),
      ]),
    );
  }

  async delete(key: string): Promise<void> {
    await this.run((sql) => sql.unsafe(`delete from ${this.s}.affinity where key = $1`, [key]));
  }

  /** The connection is the session's: closed with it. */
  async close(): Promise<void> {}

  private run(send: (sql: Sql) => Promise<readonly Row[]>): Promise<readonly Row[]> {
    return this.connection.call(this.timeoutMs, send);
  }
}

/** DEDUPE's ids: an insert that only the first copy's claim gets to make (or an expired id's). */
function postgresDeliveryIds(connection: PostgresConnection, clock: Clock, timeoutMs: number): DeliveryIds {
  const s = quoted(connection.schema);
  return {
    claim: async (id, ttlMs) => {
      const now = clock();
      const rows = await connection.call(timeoutMs, (sql) =>
        sql.unsafe(
          `insert into ${s}.delivery_ids (id, expires_at) values ($1, $2)
           on conflict (id) do update set expires_at = excluded.expires_at where ${s}.delivery_ids.expires_at <= $3 returning 1`,
          [id, now + Math.max(1, Math.ceil(ttlMs)), now],
        ),
      );
      return rows.length === 1;
    },
    release: async (id) => void (await connection.call(timeoutMs, (sql) => sql.unsafe(`delete from ${s}.delivery_ids where id = $1`, [id]))),
    ready: () => connection.ready(),
    close: () => {},
  };
}

/** Deletes expired rows, a bounded batch per statement, until a batch comes back short (or ten have run). */
export async function sweepExpired(connection: PostgresConnection, now: number, timeoutMs: number): Promise<void> {
  const s = quoted(connection.schema);
  for (const table of ['affinity', 'delivery_ids']) {
    for (let batch = 0; batch < 10; batch++) {
      const rows = await connection.call(timeoutMs, (sql) =>
        sql.unsafe(`delete from ${s}.${table} where ctid = any(array(select ctid from ${s}.${table} where expires_at <= $1 limit ${SWEEP_BATCH})) returning 1`, [now]),
      );
      if (rows.length < SWEEP_BATCH) break;
    }
  }
}

/** STORE=postgres: DATABASE_URL and POSTGRES_SCHEMA; shared by every replica and worker. */
export const postgresBackend: StoreBackend<PostgresBackendOptions> = {
  shared: true,
  readOptions(read) {
    const url = read.string('DATABASE_URL', DEFAULT_URL);
    if (!/^postgres(ql)?:\/\/\S*$/.test(url)) read.problem('DATABASE_URL', redactUrl(url), 'a postgres:// or postgresql:// URL, such as postgres://user:password@db.internal:5432/bots');
    const schema = read.string('POSTGRES_SCHEMA', 'webhook_affinity');
    if (!/^[a-z_][a-z0-9_]{0,49}$/.test(schema)) read.problem('POSTGRES_SCHEMA', schema, 'a schema name of lower-case letters, digits and _ (at most 50), such as webhook_affinity');
    return { url, schema };
  },
  describe: (options) => `PostgreSQL at ${redactUrl(options.url)} (schema ${options.schema})`,
  async inspect({ url, schema }) {
    const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
    try {
      const version = await schemaVersion(sql, schema);
      if (version === SCHEMA_VERSION) return { ok: true, text: `reachable; schema ${schema} is current (version ${version})` };
      if (version === 0) return { ok: true, text: `reachable; schema ${schema} does not exist yet: the proxy creates it at start` };
      if (version < SCHEMA_VERSION) return { ok: true, text: `reachable; schema ${schema} is at version ${version}: the proxy migrates it to ${SCHEMA_VERSION} at start` };
      return { ok: false, text: `reachable, but schema ${schema} is at version ${version}, newer than this proxy's ${SCHEMA_VERSION}: run the newer webhook-affinity` };
    } catch (err) {
      return { ok: false, text: `unreachable (${sqlState(err) ?? (errnoOf(err) || messageOf(err))})` };
    } finally {
      await sql.end({ timeout: 1 }).catch(() => {});
    }
  },
  connect(options, { clock, timeoutMs }): StoreSession {
    let connection: PostgresConnection | undefined;
    let sweeper: NodeJS.Timeout | undefined;
    const connected = (): PostgresConnection => {
      if (connection !== undefined) return connection;
      const opened = new PostgresConnection(options.url, options.schema, postgresBackend.describe(options), Math.max(timeoutMs, 1000));
      sweeper = setInterval(() => {
        if (opened.up) void sweepExpired(opened, clock(), Math.max(timeoutMs, 5000)).catch(() => {});
      }, SWEEP_EVERY_MS).unref();
      connection = opened;
      return opened;
    };
    return {
      store() {
        const c = connected();
        c.use({ part: 'affinity store', fallback: 'webhooks are forwarded without learned cookies' });
        return new PostgresStore(c, clock, timeoutMs);
      },
      deliveryIds() {
        const c = connected();
        c.use({ part: 'dedupe', fallback: 'copies of a delivery are not recognised' });
        return postgresDeliveryIds(c, clock, timeoutMs);
      },
      spool(common) {
        const c = connected();
        c.use({ part: 'delivery mailbox', fallback: 'webhooks are not stored (QUEUE_WHEN_STORE_DOWN says what happens to them)' });
        return new PostgresSpool(c, { timeoutMs: common.timeoutMs, maxBytes: common.maxBytes, maxDead: common.maxDead, leaseMs: common.leaseMs });
      },
      async close() {
        clearInterval(sweeper);
        await connection?.close();
      },
    };
  },
};
