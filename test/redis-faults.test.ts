/**
 * A proxy whose Redis misbehaves — refused, frozen, restarted empty, out of memory, read-only,
 * loading its data, its scripts flushed, replaced by something that is not Redis — keeps running, answers every
 * webhook as documented (queued, forwarded directly, or 503 for a platform that sends again),
 * lets no rejection go unhandled, and says what the store can lose.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { Bot } from './helpers/bot';
import { closeServer, request, webhook } from './helpers/http';
import { freePort } from './helpers/net';
import { heard, startServerProcess, type ServerProcess } from './helpers/process';
import { PrivateRedis, redisSkipReason, testPrefix } from './helpers/redis';
import { waitFor } from './helpers/wait';

const skip = redisSkipReason() || (!PrivateRedis.available() && 'redis-server is not installed');

/** Metrics and the status page read the mailbox's figures: the path that crashed replicas once. */
async function scrape(adminPort: number): Promise<string> {
  const metrics = await request(adminPort, { method: 'GET', path: '/metrics' });
  await request(adminPort, { method: 'GET', path: '/status.json' });
  return metrics.body.toString();
}

describe('a misbehaving Redis under a queued proxy', { skip, timeout: 120_000 }, () => {
  let redis: PrivateRedis;
  let bot: Bot;
  let server: ServerProcess;
  let adminPort: number;
  before(async () => {
    redis = await new PrivateRedis().start();
    bot = await new Bot().start();
    adminPort = await freePort();
    server = await startServerProcess({
      TARGET_URL: bot.url,
      AFFINITY_MODE: 'cookie',
      STORE: 'redis',
      DELIVERY: 'queued',
      DEDUPE: 'on',
      PLATFORM: 'webex',
      SIGNATURE_SCHEME: 'none',
      REDIS_URL: redis.url,
      REDIS_PREFIX: testPrefix(),
      STORE_TIMEOUT_MS: '100',
      SPOOL_TIMEOUT_MS: '300',
      ADMIN_PORT: String(adminPort),
    });
  });
  after(async () => {
    server?.child.kill('SIGKILL');
    await bot?.stop();
    await redis?.stop();
  });

  /** Five webhooks: each answered 200 (queued, or the bot's own answer when forwarded directly). */
  async function stillServing(label: string): Promise<void> {
    for (let i = 0; i < 5; i++) {
      const res = await request(server.port, { body: webhook(`${label}-${i}`) });
      assert.equal(res.status, 200, `${label}: ${res.body.toString()}`);
    }
    await scrape(adminPort);
    assert.equal(server.child.exitCode, null, `${label}: the proxy is running:\n${server.stderr()}`);
    assert.doesNotMatch(server.stderr(), /unhandled rejection|internal error/, `${label}: nothing unhandled`);
  }

  /** Until a webhook is queued again (the store is back and taken as up). */
  async function untilQueued(what: string): Promise<void> {
    await waitFor(async () => (await request(server.port, { body: webhook('probe') })).body.toString().startsWith('{"queued"') || undefined, `${what}: queued again`, { ms: 10_000, pauseMs: 50 });
  }

  it('warns at start that a Redis without AOF, RDB or replica loses acked webhooks when it restarts', async () => {
    await heard(server, /warning: delivery mailbox: Redis at redis:\/\/127\.0\.0\.1:\d+: 127\.0\.0\.1:\d+ keep\(s\) no AOF, no RDB snapshot and no replica/, 'the persistence warning');
    await stillServing('healthy');
  });

  it('refused: alive, forwarding directly, and back to queueing when Redis returns', async () => {
    await redis.stop();
    await waitFor(async () => (await scrape(adminPort)).includes('webhook_affinity_store_up 0') || undefined, 'store_up 0', { ms: 10_000, pauseMs: 50 });
    await stillServing('refused');
    // Past the 2 s sampling of the status page: the crash this guards against came from there.
    await heard(server, /unreachable \(ECONNREFUSED\); until it returns, affinity store: .*; delivery mailbox: webhooks are not stored/, 'one line for every part');
    await redis.start();
    await heard(server, /Redis at redis:\/\/127\.0\.0\.1:\d+ is back/, 'the back line');
    await untilQueued('after the outage');
  });

  it('frozen (SIGSTOP): webhooks are answered while it is frozen (after about SPOOL_TIMEOUT_MS, then at once)', async () => {
    redis.pause();
    try {
      // Resumed only below: a webhook that waited on the frozen Redis would never be answered,
      // and the test would fail by its timeout.
      await stillServing('frozen');
    } finally {
      redis.resume();
    }
    await untilQueued('after the freeze');
  });

  it('out of memory, read-only, scripts flushed: each an answer, never a crash', async () => {
    const admin = new Redis(redis.url);
    try {
      await admin.config('SET', 'maxmemory', '1');
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await stillServing('oom');
      await admin.config('SET', 'maxmemory', '0');

      await admin.script('FLUSH');
      await stillServing('noscript');
      assert.ok((await request(server.port, { body: webhook('after-flush') })).body.toString().startsWith('{"queued"'), 'scripts loaded again');

      // A replica of a port nobody answers on: every write is refused READONLY.
      await admin.replicaof('127.0.0.1', await freePort());
      await stillServing('readonly');
      await admin.replicaof('NO', 'ONE');
      await untilQueued('after read-only');
    } finally {
      await admin.config('SET', 'maxmemory', '0').catch(() => {});
      await admin.replicaof('NO', 'ONE').catch(() => {});
      admin.disconnect();
    }
  });

  it('loading its data (LOADING): alive and answering, and queueing again once loaded', async () => {
    const admin = new Redis(redis.url);
    const reloader = new Redis(redis.url);
    try {
      // Enough keys, read back slowly, with clients answered while it reads: seconds of LOADING.
      await admin.eval(`for i = 1, 20000 do redis.call('SET', '${testPrefix()}load:' .. i, 'x') end`, 0);
      await admin.config('SET', 'key-load-delay', '100');
      await admin.config('SET', 'loading-process-events-interval-bytes', '1024');
      const reloaded = reloader.call('DEBUG', 'RELOAD');
      await waitFor(
        async () =>
          await admin.ping().then(
            () => undefined,
            (err: Error) => /LOADING/.test(err.message) || undefined,
          ),
        'Redis answering LOADING',
        { ms: 10_000, pauseMs: 20 },
      );
      await stillServing('loading');
      assert.match(String(await admin.ping().catch((err: Error) => err.message)), /LOADING/, 'still loading after the webhooks were answered');
      await reloaded;
    } finally {
      await admin.config('SET', 'key-load-delay', '0').catch(() => {});
      admin.disconnect();
      reloader.disconnect();
    }
    await untilQueued('after loading');
  });

  it('restarted empty with webhooks waiting: reported as a store reset, with how many it held', async () => {
    await untilQueued('before the reset');
    // The outage above restarted Redis empty too: that one counted already.
    const resets = () => scrape(adminPort).then((text) => Number(/webhook_affinity_store_resets_total (\d+)/.exec(text)?.[1]));
    const before = await resets();
    const answered: string[] = [];
    bot.answer = (_d, res) => res.writeHead(503).end('not now');
    try {
      for (let i = 0; i < 3; i++) answered.push((await request(server.port, { body: webhook(`waiting-${i}`) })).body.toString());
      assert.ok(
        answered.every((a) => a.startsWith('{"queued"')),
        answered.join(),
      );
      await waitFor(async () => /webhook_affinity_queue_depth [1-9]/.test(await scrape(adminPort)) || undefined, 'the depth seen', { ms: 10_000, pauseMs: 50 });
      await redis.stop();
      await redis.start();
      await heard(server, /delivery mailbox: Redis at .* came back without the spool's data \(\d+ of 16 shard\(s\)\); [1-9]\d* stored webhook\(s\) it held when last seen are lost/, 'the reset event');
      assert.equal(await resets(), before + 1);
    } finally {
      bot.answer = (_d, res) => res.end('ok');
    }
    await stillServing('after-reset');
  });

  it('replaced by a server that is not Redis: alive and forwarding', async () => {
    const port = redis.port;
    await redis.stop();
    const impostor = http.createServer((_req, res) => res.end('I am not Redis'));
    impostor.listen(port, '127.0.0.1');
    await once(impostor, 'listening');
    try {
      await stillServing('impostor');
    } finally {
      await closeServer(impostor);
      await redis.start();
    }
  });
});

describe('QUEUE_WHEN_STORE_DOWN', { skip, timeout: 60_000 }, () => {
  const telegramUpdate = (from: number) => JSON.stringify({ update_id: from, message: { message_id: 1, from: { id: from }, chat: { id: from }, text: 'hi' } });

  async function withRedisDown(env: Record<string, string>, body: string): Promise<{ status: number; retryAfter: string | undefined; botGot: number }> {
    const bot = await new Bot().start();
    const server = await startServerProcess({ TARGET_URL: bot.url, STORE: 'redis', DELIVERY: 'queued', REDIS_URL: `redis://127.0.0.1:${await freePort()}`, WEBHOOK_SECRET: 'telegram-secret', ...env });
    try {
      // Signed as each platform signs: Telegram's secret token header; Webex's is not checked without one.
      const res = await request(server.port, { body, headers: { 'x-telegram-bot-api-secret-token': 'telegram-secret' } });
      return { status: res.status, retryAfter: res.headers['retry-after'] as string | undefined, botGot: bot.deliveries.length };
    } finally {
      server.child.kill('SIGKILL');
      await bot.stop();
    }
  }

  it('auto: 503 with Retry-After for a platform that sends again (telegram), forwarded for one that does not (webex)', async () => {
    const telegram = await withRedisDown({ PLATFORM: 'telegram', SIGNATURE_SCHEME: 'none' }, telegramUpdate(7));
    assert.deepEqual([telegram.status, telegram.retryAfter, telegram.botGot], [503, '5', 0]);
    const webex = await withRedisDown({ PLATFORM: 'webex', SIGNATURE_SCHEME: 'none' }, webhook('alice'));
    assert.deepEqual([webex.status, webex.botGot], [200, 1]);
  });

  it('direct and refuse say so for every platform', async () => {
    assert.equal((await withRedisDown({ PLATFORM: 'telegram', SIGNATURE_SCHEME: 'none', QUEUE_WHEN_STORE_DOWN: 'direct' }, telegramUpdate(8))).status, 200);
    const refused = await withRedisDown({ PLATFORM: 'webex', SIGNATURE_SCHEME: 'none', QUEUE_WHEN_STORE_DOWN: 'refuse' }, webhook('bob'));
    assert.deepEqual([refused.status, refused.botGot], [503, 0]);
  });
});
