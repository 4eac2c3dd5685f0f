/**
 * The delivery mailbox's spool and retry policy: the memory spool runs the shared contract; the
 * policy decides retry, give up or delivered from what one attempt met.
 */
import { after, describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemorySpool } from '../src/delivery/memory-spool';
import { RedisSpool } from '../src/delivery/redis-spool';
import { RedisConnection } from '../src/store/redis-connection';
import { deletePrefix, NO_AUTH, REDIS_URL, redisSkipReason, testPrefix } from './helpers/redis';
import { MinHeap } from '../src/delivery/min-heap';
import { backoffMs, retryAfterMs, settle } from '../src/delivery/retry-policy';
import { spoolContract } from './helpers/spool-contract';

spoolContract('memory', (options) => new MemorySpool(options));

const redisSkip = redisSkipReason();
const connections: RedisConnection[] = [];
const spoolPrefix = testPrefix();
for (const shards of [16, 1]) {
  spoolContract(
    `redis, ${shards} shard(s)`,
    async (options) => {
      const connection = new RedisConnection({ kind: 'server', url: REDIS_URL }, NO_AUTH, 'spool-contract');
      connections.push(connection);
      const spool = new RedisSpool(connection, { prefix: `${spoolPrefix}${randomUUID()}:`, shards, timeoutMs: 2000, leaseMs: 60_000, ackReplicas: 0, ...options });
      await spool.ready();
      return spool;
    },
    { skip: redisSkip },
  );
}
after(async () => {
  for (const connection of connections) await connection.close();
  if (redisSkip !== false) return;
  const client = new Redis(REDIS_URL);
  await deletePrefix(client, spoolPrefix);
  client.disconnect();
});

const POLICY = { minMs: 250, maxMs: 30_000, maxAgeMs: 3_600_000 };

describe('delivery retry policy', () => {
  it('2xx and 3xx are delivered', () => {
    for (const status of [200, 202, 204, 302]) assert.deepEqual(settle({ kind: 'answered', status }, 1, 0, 0, POLICY), { kind: 'delivered' });
  });

  it('connection failures, 5xx, 408 and 429 are retried; other 4xx are dead at once', () => {
    for (const result of [{ kind: 'failed', error: 'upstream unreachable (ECONNREFUSED)' } as const, ...[500, 502, 503, 408, 429].map((status) => ({ kind: 'answered', status }) as const)]) {
      assert.equal(settle(result, 1, 0, 0, POLICY).kind, 'retry', JSON.stringify(result));
    }
    for (const status of [400, 401, 403, 404, 410, 413, 422]) {
      const s = settle({ kind: 'answered', status }, 1, 0, 0, POLICY);
      assert.deepEqual(s, { kind: 'dead', reason: `answered ${status}: refused by the bot` });
    }
  });

  it('marks a retry after no answer at all as one that may go early; one after an answer not', () => {
    assert.equal(settle({ kind: 'failed', error: 'upstream unreachable (ECONNREFUSED)' }, 1, 0, 0, POLICY).kind === 'retry', true);
    assert.deepEqual(
      settle({ kind: 'failed', error: 'x' }, 1, 0, 0, POLICY, () => 0),
      { kind: 'retry', at: 250, reason: 'x', early: true },
    );
    assert.deepEqual(
      settle({ kind: 'answered', status: 503 }, 1, 0, 0, POLICY, () => 0),
      { kind: 'retry', at: 250, reason: 'answered 503', early: false },
    );
  });

  it('honours Retry-After, in seconds or as a date', () => {
    assert.deepEqual(settle({ kind: 'answered', status: 429, retryAfter: '7' }, 1, 0, 1000, POLICY), { kind: 'retry', at: 8000, reason: 'answered 429', early: false });
    const date = new Date(61_000).toUTCString();
    assert.equal(retryAfterMs(date, 1000), 60_000);
    assert.equal(retryAfterMs('soon', 0), undefined);
  });

  it('gives up on a retry that would come after QUEUE_MAX_AGE_MS', () => {
    const policy = { minMs: 100, maxMs: 100, maxAgeMs: 1000 };
    assert.equal(settle({ kind: 'answered', status: 503 }, 3, 0, 850, policy, () => 0).kind, 'retry');
    assert.deepEqual(
      settle({ kind: 'answered', status: 503 }, 3, 0, 950, policy, () => 0),
      { kind: 'dead', reason: 'answered 503: not delivered within QUEUE_MAX_AGE_MS' },
    );
  });

  it('backs off between the floor and a ceiling that doubles per attempt, up to the maximum', () => {
    assert.equal(
      backoffMs(1, POLICY, () => 0.999),
      250,
      'the first retry waits the floor',
    );
    assert.equal(
      backoffMs(3, POLICY, () => 0),
      250,
    );
    assert.equal(
      backoffMs(3, POLICY, () => 1),
      1000,
    );
    assert.equal(
      backoffMs(40, POLICY, () => 1),
      30_000,
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, r) => {
        const wait = backoffMs(attempt, POLICY, () => r);
        return wait >= POLICY.minMs && wait <= POLICY.maxMs;
      }),
    );
  });
});

describe('min-heap', () => {
  it('pops in order whatever was pushed', () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), (values) => {
        const heap = new MinHeap<number>((a, b) => a - b);
        for (const v of values) heap.push(v);
        const out: number[] = [];
        for (let v = heap.pop(); v !== undefined; v = heap.pop()) out.push(v);
        assert.deepEqual(
          out,
          [...values].sort((a, b) => a - b),
        );
      }),
    );
  });
});
