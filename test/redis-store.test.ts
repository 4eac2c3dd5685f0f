/**
 * The Redis store: the shared contract against a real Redis, proxies sharing affinity through
 * it, and a Redis that is down, stopped, paused, and back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisStore } from '../src/store/redis';
import { RedisConnection } from '../src/store/redis-connection';
import { storeContract } from './helpers/store-contract';
import { closedPortUrl, request, startProxy, startUpstream, webhook, type RunningProxy, type Upstream } from './helpers/http';
import { deletePrefix, NO_AUTH, PrivateRedis, REDIS_URL, redisSkipReason, testPrefix } from './helpers/redis';
import { waitFor } from './helpers/wait';

const skip = redisSkipReason();
const prefix = testPrefix();
let admin: Redis | undefined;
const connections: RedisConnection[] = [];

after(async () => {
  for (const connection of connections) await connection.close();
  if (admin) {
    await deletePrefix(admin, prefix);
    await admin.quit();
  }
});

function adminClient(): Redis {
  admin ??= new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  return admin;
}

storeContract(
  'redis',
  async () => {
    const storePrefix = `${prefix}contract:${Math.random().toString(36).slice(2)}:`;
    const connection = new RedisConnection({ kind: 'server', url: REDIS_URL }, NO_AUTH, 'store-contract');
    connections.push(connection);
    const store = new RedisStore(connection, storePrefix, 1000);
    await store.ready();
    return {
      store,
      // Redis keeps real time: moving "now" forward is taking `ms` off every key's remaining TTL.
      async advance(ms) {
        const client = adminClient();
        const keys = await client.keys(`${storePrefix}*`);
        for (const key of keys) {
          const left = await client.pttl(key);
          if (left >= 0 && left <= ms) await client.del(key);
          else if (left > ms) await client.pexpire(key, left - ms);
        }
      },
    };
  },
  { skip },
);

describe('affinity shared through Redis', { skip }, () => {
  let upstream: Upstream;
  let serverId = 'bot1';
  const env = { AFFINITY_MODE: 'cookie', STORE: 'redis', REDIS_URL, REDIS_PREFIX: `${prefix}shared:` };
  before(async () => {
    upstream = await startUpstream((_req, res) => {
      res.setHeader('set-cookie', `SERVERID=${serverId}`);
      res.end();
    });
  });
  after(() => upstream.close());

  /** Resolves once the cookie learned for `actor` has reached Redis. */
  const learned = (actor: string) => waitFor(async () => (await adminClient().get(`${prefix}shared:${actor}`)) ?? undefined, `${actor}'s cookie in Redis`);

  async function cookieSent(proxy: RunningProxy, actor: string): Promise<string | undefined> {
    const received = upstream.nextRequest();
    assert.equal((await request(proxy.port, { body: webhook(actor) })).status, 200);
    return (await received).headers.cookie;
  }

  it('a cookie learned through one proxy is replayed by another', async () => {
    const a = await startProxy(upstream.url, env);
    const b = await startProxy(upstream.url, env);
    try {
      serverId = 'bot7';
      await cookieSent(a, 'alice');
      assert.match(await learned('alice'), /SERVERID=bot7/);
      assert.equal(await cookieSent(b, 'alice'), 'SERVERID=bot7');
      assert.ok((await adminClient().pttl(`${prefix}shared:alice`)) > 0, 'the key expires by itself');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a restarted proxy keeps affinity', async () => {
    serverId = 'bot3';
    const first = await startProxy(upstream.url, env);
    await cookieSent(first, 'bob');
    await learned('bob');
    await first.close();
    const second = await startProxy(upstream.url, env);
    try {
      assert.equal(await cookieSent(second, 'bob'), 'SERVERID=bot3');
    } finally {
      await second.close();
    }
  });

  it('forwards every webhook when Redis is unreachable', async () => {
    const proxy = await startProxy(upstream.url, { ...env, REDIS_URL: await closedPortUrl('redis') });
    try {
      for (let i = 0; i < 3; i++) assert.equal(await cookieSent(proxy, 'carol'), undefined);
    } finally {
      await proxy.close();
    }
  });
});

describe('a Redis that stops, freezes and comes back', { skip: skip || (!PrivateRedis.available() && 'redis-server is not installed') }, () => {
  let upstream: Upstream;
  let redis: PrivateRedis;
  let proxy: RunningProxy;
  before(async () => {
    upstream = await startUpstream((_req, res) => {
      res.setHeader('set-cookie', 'SERVERID=bot2');
      res.end();
    });
    redis = await new PrivateRedis().start();
    proxy = await startProxy(upstream.url, { AFFINITY_MODE: 'cookie', STORE: 'redis', REDIS_URL: redis.url, STORE_TIMEOUT_MS: '100' });
  });
  after(async () => {
    await proxy?.close();
    await redis?.stop();
    await upstream?.close();
  });

  async function cookieSent(actor: string): Promise<{ cookie: string | undefined; ms: number }> {
    const started = performance.now();
    const received = upstream.nextRequest();
    assert.equal((await request(proxy.port, { body: webhook(actor) })).status, 200);
    const cookie = (await received).headers.cookie;
    return { cookie, ms: performance.now() - started };
  }

  it('resumes affinity without a restart once Redis is back', async () => {
    const direct = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    try {
      await cookieSent('dave');
      await waitFor(async () => (await direct.get('webhook-affinity:dave')) ?? undefined, "dave's cookie in Redis");
      assert.equal((await cookieSent('dave')).cookie, 'SERVERID=bot2');

      await redis.stop();
      assert.equal((await cookieSent('dave')).cookie, undefined, 'no store: forwarded without the cookie');

      await redis.start();
      await waitFor(() => proxy.proxy.store?.health().up, 'the proxy reconnected to Redis', { pauseMs: 10 });
      await cookieSent('dave'); // learns again into the fresh Redis
      await waitFor(async () => (await direct.get('webhook-affinity:dave')) ?? undefined, "dave's cookie in Redis");
      assert.equal((await cookieSent('dave')).cookie, 'SERVERID=bot2');
    } finally {
      direct.disconnect();
    }
  });

  it('a frozen Redis costs a webhook at most about STORE_TIMEOUT_MS, never a hang', async () => {
    await waitFor(() => proxy.proxy.store?.health().up, 'the proxy reconnected to Redis', { pauseMs: 10 });
    redis.pause();
    try {
      // Answered while Redis is still frozen (it is resumed only below): the lookup gave up after
      // STORE_TIMEOUT_MS instead of waiting. A hang would never answer, and fail by the test's timeout.
      const { cookie } = await cookieSent('erin');
      assert.equal(cookie, undefined);
    } finally {
      redis.resume();
    }
  });
});
