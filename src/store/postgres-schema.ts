/**
 * The PostgreSQL schema (POSTGRES_SCHEMA, default webhook_affinity), created and migrated by the
 * proxy itself at its first connection: versioned migrations, each applied once, in one
 * transaction under an advisory lock, so replicas that start together wait for one another and
 * the second finds the work done. `--check` reads the version without changing anything.
 */
import type postgres from 'postgres';
import { spoolSchema } from '../delivery/postgres-spool-sql';

type Sql = postgres.Sql;

/** Tables and functions in schema `s` (quoted); `channel`: where appends NOTIFY. */
type Migration = (s: string, channel: string) => string;

const MIGRATIONS: readonly Migration[] = [
  // 1: learned cookies, dedupe ids, the delivery spool.
  (s, channel) => `
create table ${s}.affinity (key text primary key, value text not null, expires_at bigint not null);
create index affinity_expiry on ${s}.affinity (expires_at);
create table ${s}.delivery_ids (id text primary key, expires_at bigint not null);
create index delivery_ids_expiry on ${s}.delivery_ids (expires_at);
${spoolSchema(s, channel)}`,
];

/** The version this proxy's code reads and writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The schema as an identifier, quoted (its name is checked when read: letters, digits, _). */
export const quoted = (schema: string): string => `"${schema}"`;

/** The NOTIFY channel of a schema's spool. */
export const workChannel = (schema: string): string => `${schema}_work`;

class SchemaTooNewError extends Error {
  readonly code = 'SCHEMA_TOO_NEW';
}

/** The schema's version in the database: 0 when it has none yet. */
export async function schemaVersion(sql: Sql, schema: string): Promise<number> {
  const [row] = await sql`select to_regclass(${`${quoted(schema)}.schema_version`}) is not null as present`;
  if (row?.present !== true) return 0;
  const [version] = await sql.unsafe(`select version from ${quoted(schema)}.schema_version`);
  return Number(version?.version ?? 0);
}

/** Brings the schema to SCHEMA_VERSION (nothing to do, usually: one query). */
export async function migrate(sql: Sql, schema: string, timeoutMs: number): Promise<void> {
  const found = await schemaVersion(sql, schema);
  if (found === SCHEMA_VERSION) return;
  if (found > SCHEMA_VERSION) throw tooNew(schema, found);
  const s = quoted(schema);
  await sql.begin(async (tx) => {
    // Migrations may take longer than a call: the lock waits for another replica's.
    await tx.unsafe(`set local lock_timeout = ${Math.max(10_000, timeoutMs * 10)}`);
    await tx`select pg_advisory_xact_lock(hashtext(${`webhook-affinity schema ${schema}`}))`;
    await tx.unsafe(`create schema if not exists ${s}; create table if not exists ${s}.schema_version (version integer not null)`);
    const [row] = await tx.unsafe(`select version from ${s}.schema_version`);
    let version = Number(row?.version ?? 0);
    if (row === undefined) await tx.unsafe(`insert into ${s}.schema_version values (0)`);
    if (version > SCHEMA_VERSION) throw tooNew(schema, version);
    for (; version < SCHEMA_VERSION; version++) await tx.unsafe(MIGRATIONS[version]!(s, workChannel(schema)));
    await tx.unsafe(`update ${s}.schema_version set version = ${SCHEMA_VERSION}`);
  });
}

function tooNew(schema: string, found: number): SchemaTooNewError {
  return new SchemaTooNewError(`schema ${schema} is at version ${found}, newer than this proxy's ${SCHEMA_VERSION}: a newer webhook-affinity migrated it; run that version`);
}
