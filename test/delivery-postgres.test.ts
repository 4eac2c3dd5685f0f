/**
 * DELIVERY=queued with STORE=postgres: replicas sharing one database keep each key in order, one
 * delivery at a time, and take over what a killed replica was delivering; what was acknowledged
 * survives the proxy's kill -9, the database's restart, and a failover to a synchronous standby.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { Bot, type Delivery } from './helpers/bot';
import { request, wasQueued, webhook } from './helpers/http';
import { closedPortUrl } from './helpers/net';
import { adminSql, dropSchemas, postgresSkipReason, TEST_DATABASE_URL, testSchema } from './helpers/postgres';
import { PrivatePostgres, privatePostgresSkipReason } from './helpers/private-postgres';
import { heard, startServerProcess, type ServerProcess } from './helpers/process';
import { waitFor } from './helpers/wait';

const skip = postgresSkipReason();
const privateSkip = skip === false ? privatePostgresSkipReason() : skip;
const schemas: string[] = [];

after(async () => {
  if (skip === false) await dropSchemas(schemas);
});

/** The environment of a queued proxy on a schema no other test shares. */
function queuedOnPostgres(extra: Record<string, string> = {}): Record<string, string> {
  const schema = testSchema();
  schemas.push(schema);
  return {
    DELIVERY: 'queued',
    STORE: 'postgres',
    DATABASE_URL: TEST_DATABASE_URL,
    POSTGRES_SCHEMA: schema,
    STORE_TIMEOUT_MS: '1000',
    QUEUE_RETRY_MIN_MS: '10',
    QUEUE_RETRY_MAX_MS: '200',
    SHUTDOWN_TIMEOUT_MS: '1000',
    ...extra,
  };
}

const body = (key: string, seq: number) => webhook(key, { seq });

/** A webhook sent, and whether (under which delivery id) it was acknowledged as queued. */
interface Sent {
  readonly key: string;
  readonly seq: number;
  readonly queued: boolean;
  readonly id: string | undefined;
}

/** Sends one webhook; whether (and under which delivery id) it was queued. A refused connection is an answer not queued. */
async function sendOne(port: number, key: string, seq: number): Promise<Sent> {
  const res = await request(port, { body: body(key, seq) }).catch(() => ({ status: 0, body: Buffer.from('') }));
  const queued = wasQueued(res);
  return { key, seq, queued, id: queued ? (JSON.parse(res.body.toString()) as { queued: string }).queued : undefined };
}

/** Sends each key's webhooks in order (one key's next after the previous was answered), keys at once; returns which were queued. */
async function sendInOrder(ports: readonly number[], keys: number, each: number, first = 0): Promise<Sent[]> {
  const sent: Sent[] = [];
  await Promise.all(
    Array.from({ length: keys }, async (_, k) => {
      for (let seq = first; seq < first + each; seq++) sent.push(await sendOne(ports[(k + seq) % ports.length]!, `key-${k}`, seq));
    }),
  );
  return sent;
}

/**
 * Each key's deliveries in order: a delivery repeated (same id, the next attempt, after its
 * replica died or the bot failed) counts once; any other repeat or overtaking fails.
 */
function assertInOrder(deliveries: readonly Delivery[], key: string, expected: readonly number[]): void {
  const seqs: number[] = [];
  let last: Delivery | undefined;
  for (const d of deliveries.filter((x) => x.key === key)) {
    if (last !== undefined && d.id === last.id) {
      assert.ok(d.attempt > last.attempt, `${key}: delivery ${d.id} again with attempt ${d.attempt} after ${last.attempt}`);
    } else {
      seqs.push(d.seq);
    }
    last = d;
  }
  assert.deepEqual(seqs, expected, `${key} in order`);
}

async function stopAll(servers: readonly (ServerProcess | undefined)[]): Promise<void> {
  for (const s of servers) {
    if (s === undefined || s.child.exitCode !== null || s.child.signalCode !== null) continue;
    s.child.kill('SIGTERM');
    await s.exited;
  }
}

describe('delivery mailbox on PostgreSQL (shared by replicas)', { skip }, () => {
  it('two replicas: 2 000 webhooks over 200 keys stay in order, one in flight per key; a replica killed mid-delivery is taken over, same id, next attempt', async () => {
    const bot = await new Bot().start();
    // Once 300 are delivered, first attempts are held (both replicas then have deliveries in
    // flight) until the kill; the survivor's are answered after it, the dead one's never.
    const held: http.ServerResponse[] = [];
    let holding = false;
    bot.answer = (d, res) => {
      if (holding && d.attempt === 1) held.push(res);
      else setTimeout(() => res.end('ok'), 2);
    };
    const env = { ...queuedOnPostgres({ QUEUE_LEASE_MS: '1000', QUEUE_CONCURRENCY: '32' }) };
    const [doomed, survivor] = await Promise.all([startServerProcess({ ...env, TARGET_URL: bot.url }), startServerProcess({ ...env, TARGET_URL: bot.url })]);
    try {
      const sent = await sendInOrder([doomed.port, survivor.port], 200, 10);
      assert.equal(sent.filter((s) => s.queued).length, 2000, 'every webhook acknowledged as queued');
      await waitFor(() => bot.deliveries.length >= 300, '300 delivered', { ms: 30_000 });
      holding = true;
      await waitFor(() => held.length >= 8, 'deliveries held at the bot', { ms: 10_000 });
      doomed.child.kill('SIGKILL');
      await doomed.exited;
      holding = false;
      for (const res of held.splice(0)) if (!res.destroyed) res.end('ok');
      const distinct = () => new Set(bot.deliveries.map((d) => d.id)).size;
      await waitFor(() => distinct() >= 2000, 'every webhook delivered by the survivor', { ms: 60_000 }).catch((err: unknown) => {
        throw new Error(`${String(err)}: ${distinct()} distinct; survivor said:\n${survivor.stderr()}`);
      });
      for (let k = 0; k < 200; k++) assertInOrder(bot.deliveries, `key-${k}`, [...Array(10).keys()]);
      assert.deepEqual([...bot.overlapped], [], 'no key had two deliveries at once');
      // Each delivery (a first attempt or one made again) carries the id its webhook was acknowledged with.
      const ackedAs = new Map(sent.map((s) => [`${s.key}/${s.seq}`, s.id]));
      for (const d of bot.deliveries) assert.equal(d.id, ackedAs.get(`${d.key}/${d.seq}`), `${d.key}/${d.seq}: the delivery id it was acknowledged with`);
      assert.ok(
        bot.deliveries.some((d) => d.attempt > 1),
        'the killed replica’s deliveries were made again, as later attempts',
      );
      assert.equal(survivor.child.exitCode, null, 'the survivor is still running');
    } finally {
      for (const res of held) res.destroy();
      await stopAll([doomed, survivor]);
      await bot.stop();
    }
  });

  it('keeps what it acknowledged through kill -9: 500 waiting webhooks are all delivered after a restart', async () => {
    // Claims the killed proxy held run out after a second.
    const env = queuedOnPostgres({ QUEUE_LEASE_MS: '1000' });
    // The bot is not there yet: every webhook waits in the database.
    const first = await startServerProcess({ ...env, TARGET_URL: await closedPortUrl() });
    let second: ServerProcess | undefined;
    const bot = await new Bot().start();
    try {
      const sent = await sendInOrder([first.port], 50, 10);
      assert.equal(sent.filter((s) => s.queued).length, 500);
      first.child.kill('SIGKILL');
      await first.exited;
      second = await startServerProcess({ ...env, TARGET_URL: bot.url });
      await waitFor(() => new Set(bot.deliveries.map((d) => d.id)).size >= 500, 'all 500 delivered after the restart', { ms: 30_000 });
      for (let k = 0; k < 50; k++) assertInOrder(bot.deliveries, `key-${k}`, [...Array(10).keys()]);
    } finally {
      await stopAll([first, second]);
      await bot.stop();
    }
  });
});

describe('delivery mailbox on a PostgreSQL that goes away', { skip: privateSkip }, () => {
  it('stays up while the database is stopped and started under load, and delivers every webhook it acknowledged', async () => {
    const db = await PrivatePostgres.primary();
    const bot = await new Bot().start();
    const proxy = await startServerProcess({ ...queuedOnPostgres({ DATABASE_URL: db.url, SPOOL_TIMEOUT_MS: '500' }), TARGET_URL: bot.url });
    try {
      const before = await sendInOrder([proxy.port], 20, 5);
      assert.ok(
        before.every((s) => s.queued),
        'queued while the database is up',
      );
      db.stop();
      // Away: each webhook is answered (forwarded directly: QUEUE_WHEN_STORE_DOWN=auto, Webex).
      const away = await sendInOrder([proxy.port], 20, 5, 5);
      assert.ok(
        away.every((s) => !s.queued),
        'none queued while away',
      );
      assert.equal(proxy.child.exitCode, null, 'still running');
      await db.start();
      await waitFor(async () => wasQueued(await request(proxy.port, { body: body('after', 0) })), 'queued again once the database is back', { ms: 15_000, pauseMs: 100 });
      const acked = [...before, ...(await sendInOrder([proxy.port], 20, 5, 10))].filter((s) => s.queued);
      await waitFor(() => acked.every((s) => bot.deliveries.some((d) => d.key === s.key && d.seq === s.seq)), 'every acknowledged webhook delivered', { ms: 20_000 });
      assert.match(proxy.stderr(), /unreachable[^\n]*until it returns, delivery mailbox/);
      assert.match(proxy.stderr(), /is back/);
    } finally {
      await stopAll([proxy]);
      await bot.stop();
      db.destroy();
    }
  });

  it('takes a frozen database (SIGSTOP) as away after one timeout, forwards directly meanwhile, and queues again once it thaws', async () => {
    const db = await PrivatePostgres.primary();
    const bot = await new Bot().start();
    const proxy = await startServerProcess({ ...queuedOnPostgres({ DATABASE_URL: db.url, SPOOL_TIMEOUT_MS: '300' }), TARGET_URL: bot.url });
    try {
      await waitFor(async () => wasQueued(await request(proxy.port, { body: body('alice', 0) })), 'queued while the database answers');
      db.signalAll('SIGSTOP');
      const frozen = await sendInOrder([proxy.port], 10, 3, 1);
      assert.ok(
        frozen.every((x) => !x.queued && x.id === undefined),
        'answered, none queued, while frozen',
      );
      await heard(proxy, /unreachable \(no answer\)/, 'the outage said once');
      db.signalAll('SIGCONT');
      await waitFor(async () => wasQueued(await request(proxy.port, { body: body('alice', 9) })), 'queued again once thawed', { ms: 15_000, pauseMs: 100 });
      assert.equal((proxy.stderr().match(/\(schema \w+\) unreachable/g) ?? []).length, 1, `the outage said once:\n${proxy.stderr()}`);
      assert.equal(proxy.child.exitCode, null, 'still running');
    } finally {
      db.signalAll('SIGCONT');
      await stopAll([proxy]);
      await bot.stop();
      db.destroy();
    }
  });

  it('fails over to a synchronous standby under load: every webhook acknowledged is delivered, no crash', async () => {
    const primary = await PrivatePostgres.primary();
    const standby = await PrivatePostgres.standbyOf(primary, 'standby1');
    const bot = await new Bot().start();
    let proxy: ServerProcess | undefined;
    try {
      // Commits wait for the standby from now on: an acknowledged webhook is on both machines.
      const admin = adminSql(primary.url);
      try {
        await admin.unsafe(`alter system set synchronous_standby_names = 'standby1'`);
        await admin.unsafe('select pg_reload_conf()');
        await waitFor(async () => (await admin.unsafe(`select 1 from pg_stat_replication where sync_state = 'sync'`)).length === 1, 'the standby synchronous', { ms: 10_000 });
      } finally {
        await admin.end();
      }
      const url = `postgres://postgres@127.0.0.1:${primary.port},127.0.0.1:${standby.port}/postgres?target_session_attrs=read-write`;
      // The bot answers no delivery until the failover is over (what was acknowledged waits in the
      // database); webhooks forwarded directly meanwhile are answered at once.
      const waiting: http.ServerResponse[] = [];
      let answering = false;
      bot.answer = (d, res) => (answering || d.id === undefined ? res.end('ok') : waiting.push(res));
      const env = queuedOnPostgres({ DATABASE_URL: url, SPOOL_TIMEOUT_MS: '1000', QUEUE_LEASE_MS: '1000' });
      proxy = await startServerProcess({ ...env, TARGET_URL: bot.url });
      await waitFor(async () => wasQueued(await request(proxy!.port, { body: body('before', 0) })), 'queued on the primary');

      // A proxy given the standby alone (read-only) forwards directly, and says why once.
      const onStandby = await startServerProcess({ ...env, DATABASE_URL: standby.url, TARGET_URL: bot.url });
      try {
        const res = await request(onStandby.port, { body: body('standby', 0) });
        assert.equal(res.status, 200);
        assert.ok(!wasQueued(res), 'not queued on a standby');
        await heard(onStandby, /unreachable \(read-only: a standby\)/, 'the standby named as read-only');
      } finally {
        await stopAll([onStandby]);
      }

      // Load, 20 keys at once, until it is stopped; the primary is killed once 100 are acknowledged.
      const sent: Sent[] = [];
      let sending = true;
      const load = Promise.all(
        Array.from({ length: 20 }, async (_, k) => {
          for (let seq = 0; sending; seq++) sent.push(await sendOne(proxy!.port, `key-${k}`, seq));
        }),
      );
      const acked = () => sent.filter((x) => x.queued);
      await waitFor(() => acked().length >= 100, '100 acknowledged before the failover', { ms: 20_000 });
      primary.kill();
      const atKill = acked().length;
      standby.promote();
      // The load goes on until the promoted standby has taken 100 more.
      await waitFor(() => acked().length >= atKill + 100, '100 acknowledged after the failover', { ms: 30_000 });
      sending = false;
      await load;
      answering = true;
      for (const res of waiting.splice(0)) res.destroy();
      const all = acked();
      await waitFor(() => all.every((x) => bot.deliveries.some((d) => d.key === x.key && d.seq === x.seq)), 'every acknowledged webhook delivered', { ms: 30_000 }).catch((err: unknown) => {
        const lost = all.filter((x) => !bot.deliveries.some((d) => d.key === x.key && d.seq === x.seq));
        throw new Error(`${String(err)}: ${lost.length} of ${all.length} acknowledged not delivered; proxy said:\n${proxy!.stderr()}`);
      });
      assert.equal(proxy.child.exitCode, null, 'no crash');
      console.log(
        `# failover: ${sent.length} sent, ${all.length} acknowledged as queued (${atKill} before the kill), all delivered, 0 lost; ${sent.length - all.length} forwarded directly or refused`,
      );
    } finally {
      await stopAll([proxy]);
      await bot.stop();
      primary.destroy();
      standby.destroy();
    }
  });
});
