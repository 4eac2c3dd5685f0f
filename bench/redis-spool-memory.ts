/**
 * npm run bench -- memory (with Redis reachable): what one stored webhook costs in Redis's
 * memory with STORE=redis DELIVERY=queued, measured as the growth of `used_memory` while a
 * RedisSpool stores realistic Webex deliveries, one per person and ten per person.
 */
import { Redis } from 'ioredis';
import { letterBytes } from '../src/delivery/letter';
import { RedisSpool } from '../src/delivery/redis-spool';
import { RedisConnection } from '../src/store/redis-connection';
import { deletePrefix, NO_AUTH, REDIS_URL, testPrefix } from '../test/helpers/redis';
import { letterMaker } from './stored-letters';

interface Row {
  readonly webhooks: number;
  readonly perKey: number;
  readonly body: number;
  /** What QUEUE_MAX_BYTES counts of one (letterBytes). */
  readonly counted: number;
  readonly redis: number;
}

export async function redisSpoolRows(count: number): Promise<void> {
  const rows: Row[] = [];
  for (const perKey of [1, 10]) rows.push(await measure(count, perKey));
  console.log(`\nDelivery mailbox, Redis spool (${REDIS_URL}): Redis used_memory growth per stored ~1.2 KB Webex delivery.\n`);
  console.log('| webhooks stored | per person | body bytes | counted bytes | Redis bytes per webhook | beyond the counted |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) console.log(`| ${r.webhooks.toLocaleString('en')} | ${r.perKey} | ${r.body} | ${r.counted} | ${r.redis} | ${r.redis - r.counted} |`);
}

async function measure(count: number, perKey: number): Promise<Row> {
  const prefix = testPrefix().replace('-test:', '-bench:');
  const connection = new RedisConnection({ kind: 'server', url: REDIS_URL }, NO_AUTH, 'bench-memory');
  const admin = new Redis(REDIS_URL);
  const letterFor = letterMaker();
  try {
    const spool = new RedisSpool(connection, { prefix, shards: 16, timeoutMs: 10_000, leaseMs: 60_000, ackReplicas: 0, maxBytes: Number.MAX_SAFE_INTEGER, maxDead: 1 });
    await spool.ready();
    await spool.stats(Date.now()); // the shards' alive markers, before the baseline
    const before = await usedMemory(admin);
    let body = 0;
    let counted = 0;
    const keys = Math.ceil(count / perKey);
    for (let start = 0; start < count; start += 500) {
      const letters = Array.from({ length: Math.min(500, count - start) }, (_x, j) => letterFor(start + j, keys));
      for (const l of letters) {
        body += l.body.length;
        counted += letterBytes(l);
      }
      const results = await Promise.all(letters.map((l) => spool.append(l)));
      if (results.some((r) => r !== 'stored')) throw new Error(`the Redis spool refused a letter: ${results.find((r) => r !== 'stored')}`);
    }
    const growth = (await usedMemory(admin)) - before;
    const row = { webhooks: count, perKey, body: Math.round(body / count), counted: Math.round(counted / count), redis: Math.round(growth / count) };
    console.error(`  ${count} webhooks, ${perKey} per person: ${row.redis} Redis bytes each, ${row.redis - row.counted} beyond the counted`);
    return row;
  } finally {
    await deletePrefix(admin, prefix);
    admin.disconnect();
    await connection.close();
  }
}

async function usedMemory(client: Redis): Promise<number> {
  const info = await client.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}
