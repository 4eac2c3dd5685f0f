/**
 * DELIVERY=queued with STORE=redis: one mailbox per key shared by every replica, kept in order
 * across them, surviving a replica killed mid-delivery; forwarding directly while Redis is away.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type http from 'node:http';
import { Bot } from './helpers/bot';
import { request, startProxy, wasQueued, webhook, type RunningProxy } from './helpers/http';
import { startServerProcess } from './helpers/process';
import { deletePrefix, PrivateRedis, REDIS_URL, redisSkipReason, testPrefix } from './helpers/redis';
import { waitFor } from './helpers/wait';

const skip = redisSkipReason();
const prefix = testPrefix();
let runs = 0;

/** The environment of a queued proxy on a Redis spool no other test shares. */
function queuedOnRedis(extra: Record<string, string> = {}): Record<string, string> {
  runs++;
  return {
    DELIVERY: 'queued',
    STORE: 'redis',
    REDIS_URL,
    REDIS_PREFIX: `${prefix}${runs}:`,
    STORE_TIMEOUT_MS: '1000',
    QUEUE_RETRY_MIN_MS: '10',
    QUEUE_RETRY_MAX_MS: '100',
    SHUTDOWN_TIMEOUT_MS: '1000',
    ...extra,
  };
}

after(async () => {
  if (skip !== false) return;
  const client = new Redis(REDIS_URL);
  await deletePrefix(client, prefix);
  client.disconnect();
});

const body = (key: string, seq: number) => webhook(key, { seq });

describe('delivery mailbox on Redis (shared by replicas)', { skip }, () => {
  it('keeps each key in order, one at a time, when its webhooks arrive at two replicas in turn', async () => {
    const bot = await new Bot().start();
    const env = queuedOnRedis();
    const replicas: RunningProxy[] = [await startProxy(bot.url, env), await startProxy(bot.url, env)];
    const KEYS = 10;
    const EACH = 10;
    try {
      await Promise.all(
        Array.from({ length: KEYS }, async (_, k) => {
          for (let seq = 0; seq < EACH; seq++) {
            const replica = replicas[seq % 2];
            assert.ok(replica !== undefined);
            const res = await request(replica.port, { body: body(`key-${k}`, seq) });
            assert.equal(res.status, 200);
            assert.ok(wasQueued(res), res.body.toString());
          }
        }),
      );
      await waitFor(() => bot.deliveries.length >= KEYS * EACH, 'every webhook delivered', { ms: 20_000 });
      assert.equal(bot.deliveries.length, KEYS * EACH, 'none twice');
      for (let k = 0; k < KEYS; k++) {
        assert.deepEqual(
          bot.deliveries.filter((d) => d.key === `key-${k}`).map((d) => d.seq),
          [...Array(EACH).keys()],
          `key-${k} in arrival order across both replicas`,
        );
      }
      assert.deepEqual([...bot.overlapped], [], 'no key had two deliveries at once');
    } finally {
      for (const r of replicas) await r.close();
      await bot.stop();
    }
  });

  it('delivers again, with the same delivery id and the next attempt, what a killed replica was delivering', async () => {
    const bot = await new Bot().start();
    const held: http.ServerResponse[] = [];
    // The first delivery is never answered: its replica is killed while it waits.
    bot.answer = (d, res) => (d.attempt === 1 ? held.push(res) : res.end('ok'));
    const env = queuedOnRedis({ QUEUE_LEASE_MS: '300' });
    const doomed = await startServerProcess({ ...env, TARGET_URL: bot.url });
    let survivor: RunningProxy | undefined;
    try {
      const { queued } = (await request(doomed.port, { body: body('alice', 0) })).json() as { queued: string };
      await waitFor(() => held.length === 1, 'the first delivery at the bot');
      // Started only now, so the delivery held at the bot is surely the doomed replica's: a
      // survivor polling the spool already could have claimed the letter first.
      survivor = await startProxy(bot.url, env);
      doomed.child.kill('SIGKILL');
      await doomed.exited;
      await request(survivor.port, { body: body('alice', 1) });
      await waitFor(() => bot.deliveries.filter((d) => d.attempt > 0).length >= 3, 'delivered again, then the next one', { ms: 10_000 }).catch((err: unknown) => {
        throw new Error(`${String(err)}; the bot saw ${JSON.stringify(bot.deliveries.map((d) => [d.seq, d.id === queued, d.attempt]))}`);
      });
      const seen = bot.deliveries.map((d) => [d.seq, d.id === queued ? 'same id' : 'other id', d.attempt]);
      assert.deepEqual(seen, [
        [0, 'same id', 1],
        [0, 'same id', 2],
        [1, 'other id', 1],
      ]);
    } finally {
      for (const res of held) res.destroy();
      await survivor?.close();
      await bot.stop();
    }
  });

  it('forwards directly while Redis is away, and queues again once it is back', { skip: PrivateRedis.available() ? false : 'redis-server is not installed' }, async () => {
    const redis = await new PrivateRedis().start();
    const bot = await new Bot().start();
    bot.answer = (d, res) => res.end(d.id === undefined ? 'direct' : 'delivered');
    const proxy = await startProxy(bot.url, { ...queuedOnRedis(), REDIS_URL: redis.url, STORE_TIMEOUT_MS: '200' });
    try {
      await waitFor(async () => wasQueued(await request(proxy.port, { body: body('alice', 0) })), 'queued once connected', { pauseMs: 50 });
      await redis.stop();
      const away = await request(proxy.port, { body: body('alice', 1) });
      assert.equal(away.status, 200);
      assert.equal(away.body.toString(), 'direct', 'forwarded directly, answered by the bot');
      await redis.start();
      await waitFor(async () => wasQueued(await request(proxy.port, { body: body('alice', 2) })), 'queued again', {
        ms: 10_000,
        pauseMs: 100,
      });
    } finally {
      await proxy.close();
      await bot.stop();
      await redis.stop();
    }
  });
});
