/**
 * Real PostgreSQL for the tests: the machine's (TEST_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test) with a schema of its own per run, dropped after.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema no other run uses. */
export const testSchema = (): string => `wa_test_${randomBytes(6).toString('hex')}`;

/** Why PostgreSQL tests must skip, or false. With REQUIRE_POSTGRES=1 (CI) an unreachable database fails instead. */
export function postgresSkipReason(): string | false {
  const probe = spawnSync(
    process.execPath,
    ['-e', `const sql=require('postgres')(${JSON.stringify(TEST_DATABASE_URL)},{connect_timeout:2,onnotice:()=>{}});sql\`select 1\`.then(()=>sql.end()).then(()=>process.exit(0),()=>process.exit(1))`],
    { cwd: __dirname, timeout: 5000 },
  );
  if (probe.status === 0) return false;
  if (process.env.REQUIRE_POSTGRES === '1') throw new Error(`REQUIRE_POSTGRES=1 but PostgreSQL at ${TEST_DATABASE_URL} does not answer`);
  return `PostgreSQL at ${TEST_DATABASE_URL} does not answer; set REQUIRE_POSTGRES=1 to make this a failure`;
}

/** A client of the tests' own, for looking at and cleaning up after what the proxy wrote. */
export function adminSql(url = TEST_DATABASE_URL): postgres.Sql {
  return postgres(url, { max: 2, onnotice: () => {}, connect_timeout: 2 });
}

/** Drops the schemas (and all in them). */
export async function dropSchemas(schemas: readonly string[], url = TEST_DATABASE_URL): Promise<void> {
  if (schemas.length === 0) return;
  const sql = adminSql(url);
  try {
    for (const schema of schemas) await sql.unsafe(`drop schema if exists "${schema}" cascade`);
  } finally {
    await sql.end();
  }
}
