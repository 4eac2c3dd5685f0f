/**
 * STORE=postgres: the store, spool and dedupe contracts against the machine's PostgreSQL (a
 * schema of its own per suite), and the schema's migration: created at the first connection,
 * once, however many replicas start together.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { memoryDeliveryIds } from '../src/dedupe/delivery-ids';
import { PostgresSpool } from '../src/delivery/postgres-spool';
import { PostgresConnection } from '../src/store/postgres-connection';
import { PostgresStore, postgresBackend, sweepExpired } from '../src/store/postgres';
import { migrate, SCHEMA_VERSION, schemaVersion } from '../src/store/postgres-schema';
import { deliveryIdsContract } from './helpers/delivery-ids-contract';
import { adminSql, dropSchemas, postgresSkipReason, TEST_DATABASE_URL, testSchema } from './helpers/postgres';
import { spoolContract } from './helpers/spool-contract';
import { storeContract } from './helpers/store-contract';
import { freePort } from './helpers/net';
import { runServerProcess } from './helpers/process';

const skip = postgresSkipReason();
const schemas: string[] = [];
const connections: PostgresConnection[] = [];

/** A connection to a fresh schema (migrated by the connection itself). */
async function connect(schema = testSchema()): Promise<PostgresConnection> {
  if (!schemas.includes(schema)) schemas.push(schema);
  const connection = new PostgresConnection(TEST_DATABASE_URL, schema, `PostgreSQL (schema ${schema})`, 5000);
  connections.push(connection);
  await connection.ready();
  return connection;
}

after(async () => {
  for (const connection of connections) await connection.close();
  if (skip === false) await dropSchemas(schemas);
});

storeContract(
  'postgres',
  async () => {
    let now = 1_000_000;
    const store = new PostgresStore(await connect(), () => now, 2000);
    return {
      store,
      advance: async (ms) => {
        now += ms;
      },
    };
  },
  { skip },
);

spoolContract(
  'postgres',
  async (options) => {
    const spool = new PostgresSpool(await connect(), { timeoutMs: 2000, leaseMs: 60_000, ...options });
    await spool.ready();
    return spool;
  },
  { skip },
);

deliveryIdsContract('memory', async () => {
  let now = 1_000_000;
  const ids = memoryDeliveryIds(100, () => now);
  return {
    ids,
    other: ids,
    advance: async (ms) => {
      now += ms;
    },
  };
});

deliveryIdsContract(
  'postgres',
  async () => {
    let now = 1_000_000;
    const schema = testSchema();
    const open = (c: PostgresConnection) => postgresBackend.connect({ url: TEST_DATABASE_URL, schema: c.schema }, { clock: () => now, timeoutMs: 2000 });
    const [a, b] = [open(await connect(schema)), open(await connect(schema))];
    after(() => Promise.all([a.close(), b.close()]));
    const [ids, other] = [a.deliveryIds(), b.deliveryIds()];
    await Promise.all([ids.ready(), other.ready()]);
    return {
      ids,
      other,
      advance: async (ms) => {
        now += ms;
      },
    };
  },
  { skip },
);

describe('PostgreSQL store upkeep', { skip }, () => {
  it('sweeps expired cookies and dedupe ids in bounded batches, and keeps the live ones', async () => {
    const connection = await connect();
    const s = `"${connection.schema}"`;
    const sql = adminSql();
    try {
      // 2 500 expired of each (three batches of at most 1 000), 10 live.
      await sql.unsafe(`insert into ${s}.affinity select 'gone-' || i, 'v', 999 from generate_series(1, 2500) i`);
      await sql.unsafe(`insert into ${s}.affinity select 'live-' || i, 'v', 2000 from generate_series(1, 10) i`);
      await sql.unsafe(`insert into ${s}.delivery_ids select 'gone-' || i, 999 from generate_series(1, 2500) i`);
      await sweepExpired(connection, 1000, 5000);
      const [left] = await sql.unsafe(`select (select count(*)::int from ${s}.affinity) as cookies, (select count(*)::int from ${s}.delivery_ids) as ids`);
      assert.deepEqual([left?.cookies, left?.ids], [10, 0]);
    } finally {
      await sql.end();
    }
  });
});

describe('PostgreSQL schema', { skip }, () => {
  it('is created at the first connection, at the current version, by one of several replicas starting together', async () => {
    const schema = testSchema();
    schemas.push(schema);
    const sqls = Array.from({ length: 4 }, () => adminSql());
    try {
      await Promise.all(sqls.map((sql) => migrate(sql, schema, 2000)));
      assert.equal(await schemaVersion(sqls[0]!, schema), SCHEMA_VERSION);
      const [versions] = await sqls[0]!.unsafe(`select count(*)::int as n from "${schema}".schema_version`);
      assert.equal(versions?.n, 1, 'one version row');
      // Run again: nothing to do, nothing changed.
      await migrate(sqls[1]!, schema, 2000);
      assert.equal(await schemaVersion(sqls[1]!, schema), SCHEMA_VERSION);
    } finally {
      await Promise.all(sqls.map((sql) => sql.end()));
    }
  });

  it('--check says whether the database answers and the schema is current, and changes nothing', async () => {
    const schema = testSchema();
    schemas.push(schema);
    const env = { STORE: 'postgres', DELIVERY: 'queued', DATABASE_URL: TEST_DATABASE_URL, POSTGRES_SCHEMA: schema };
    const fresh = await runServerProcess(env, ['--check']);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.match(fresh.stdout, new RegExp(`store: PostgreSQL at \\S+ \\(schema ${schema}\\): reachable; schema ${schema} does not exist yet: the proxy creates it at start`));
    const sql = adminSql();
    try {
      assert.equal(await schemaVersion(sql, schema), 0, 'nothing created');
      await migrate(sql, schema, 2000);
    } finally {
      await sql.end();
    }
    const current = await runServerProcess(env, ['--check']);
    assert.match(current.stdout, new RegExp(`reachable; schema ${schema} is current \\(version ${SCHEMA_VERSION}\\)`));
    const away = await runServerProcess({ ...env, DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/test` }, ['--check']);
    assert.equal(away.code, 1, 'exit 1: the configuration is valid, the store is not there');
    assert.match(away.stdout, /unreachable \(ECONNREFUSED\)/);
  });

  it('refuses a schema that a newer proxy migrated, and says so', async () => {
    const schema = testSchema();
    schemas.push(schema);
    const sql = adminSql();
    try {
      await migrate(sql, schema, 2000);
      await sql.unsafe(`update "${schema}".schema_version set version = ${SCHEMA_VERSION + 1}`);
      await assert.rejects(migrate(sql, schema, 2000), /newer than this proxy's/);
    } finally {
      await sql.end();
    }
  });
});
