/**
 * The delivery mailbox on Redis Sentinel and Redis Cluster, started by the test from Debian's
 * redis-server: a stream of webhooks over many keys, a primary killed (-9) in the middle, and
 * then every webhook answered "queued" is delivered, in order per key, by a proxy that never
 * fell over.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { Bot } from './helpers/bot';
import { request, webhook } from './helpers/http';
import { heard, startServerProcess, type ServerProcess } from './helpers/process';
import { RedisClusterSet, redisServerAvailable, SentinelSet } from './helpers/redis-ha';
import { NO_AUTH, testPrefix } from './helpers/redis';
import { waitFor } from './helpers/wait';
import { spoolContract } from './helpers/spool-contract';
import { RedisSpool } from '../src/delivery/redis-spool';
import { RedisConnection } from '../src/store/redis-connection';

const skip = redisServerAvailable() ? false : 'redis-server and redis-cli are not installed';
if (skip !== false && process.env.REQUIRE_REDIS === '1') throw new Error('REQUIRE_REDIS=1 but redis-server is not installed');

const KEYS = 200;
const ROUNDS = 10;
const LANES = 20;

interface StreamResult {
  /** Delivery ids answered "queued", with their key and sequence number. */
  readonly queued: Map<string, { key: string; seq: number }>;
  readonly direct: number;
  readonly refused: number;
  readonly ackMs: number[];
  /** How long after the stream the proxy took to queue a webhook again (the failover, as it saw it). */
  readonly queueingAgainAfterMs?: number;
}

/**
 * 2 000 webhooks over 200 keys: 20 lanes, each sending its 10 keys' webhooks one after another
 * (so each key's arrival order is its sequence), `fault` run once a third are answered.
 */
async function stream(port: number, fault: () => Promise<void>, resumes: boolean): Promise<StreamResult> {
  const queued = new Map<string, { key: string; seq: number }>();
  const result = { queued, direct: 0, refused: 0, ackMs: [] as number[] };
  let answered = 0;
  let faulted: Promise<void> | undefined;
  const lane = async (l: number) => {
    for (let seq = 0; seq < ROUNDS; seq++) {
      for (let k = l; k < KEYS; k += LANES) {
        const key = `person-${k}`;
        const started = performance.now();
        const res = await request(port, { body: JSON.stringify({ actorId: key, seq }) });
        const body = res.body.toString();
        if (res.status === 200 && body.startsWith('{"queued"')) {
          queued.set(String(res.json().queued), { key, seq });
          result.ackMs.push(performance.now() - started);
        } else if (res.status === 503) result.refused++;
        else result.direct++;
        if (++answered === Math.floor((KEYS * ROUNDS) / 3)) faulted = fault();
      }
    }
  };
  await Promise.all(Array.from({ length: LANES }, (_v, l) => lane(l)));
  await faulted;
  // The failover is over for the proxy only once it queues again: a webhook a second until one is.
  // (With QUEUE_ACK_REPLICAS=1 a promoted replica has no replica of its own: nothing can be acked,
  // and every webhook is rightly forwarded directly.)
  if (!resumes) return result;
  const tailStarted = performance.now();
  let seq = 0;
  await waitFor(
    async () => {
      const res = await request(port, { body: JSON.stringify({ actorId: 'after-failover', seq }) });
      const resumed = res.status === 200 && res.body.toString().startsWith('{"queued"');
      if (resumed) queued.set(String(res.json().queued), { key: 'after-failover', seq });
      seq++;
      return resumed || undefined;
    },
    'queueing again after the failover',
    { ms: 60_000, pauseMs: 1000 },
  );
  return { ...result, queueingAgainAfterMs: performance.now() - tailStarted };
}

/** What the bot got of the queued webhooks: lost ones, and keys whose first deliveries came out of order. */
function audit(bot: Bot, result: StreamResult): { lost: string[]; outOfOrder: string[]; redelivered: number } {
  const firsts = new Map<string, number>();
  bot.deliveries.forEach((d, i) => {
    if (d.id !== undefined && result.queued.has(d.id) && !firsts.has(d.id)) firsts.set(d.id, i);
  });
  const lost = [...result.queued.keys()].filter((id) => !firsts.has(id));
  const byKey = new Map<string, number[]>();
  for (const [id] of [...firsts].sort((a, b) => a[1] - b[1])) {
    const { key, seq } = result.queued.get(id)!;
    byKey.set(key, [...(byKey.get(key) ?? []), seq]);
  }
  const outOfOrder = [...byKey].filter(([, seqs]) => seqs.some((s, i) => i > 0 && s < seqs[i - 1]!)).map(([key]) => key);
  const redelivered = bot.deliveries.filter((d) => d.id !== undefined && result.queued.has(d.id)).length - firsts.size;
  return { lost, outOfOrder, redelivered };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Where the spool holds `ids` now (for the diagnostic of a loss): in a mailbox, dead, or nowhere. */
async function locate(client: Redis, prefix: string, ids: readonly string[]): Promise<string> {
  const found = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await client.type(key);
      const text =
        type === 'list'
          ? (await client.lrange(key, 0, -1)).join('\n')
          : type === 'zset'
            ? (await client.zrange(key, '0', '-1')).join(' ')
            : type === 'hash'
              ? JSON.stringify(await client.hgetall(key))
              : '';
      for (const id of ids) if (text.includes(id)) found.set(id, `${found.get(id) ?? ''} ${key.slice(prefix.length)}`);
    }
  } while (cursor !== '0');
  return ids.map((id) => `${id}:${found.get(id) ?? ' nowhere'}`).join('; ');
}

async function run(
  t: { diagnostic(message: string): void },
  label: string,
  redisEnv: Record<string, string>,
  fault: () => Promise<void>,
  ackReplicas: number,
  primary?: () => Promise<Redis>,
  failedOver?: () => Promise<unknown>,
) {
  const prefix = testPrefix();
  const bot = await new Bot('bot').start();
  // The bot takes a little while with each: webhooks wait in the mailbox while the primary dies.
  bot.answer = (_d, res) => setTimeout(() => res.end('ok'), 2);
  let proxy: ServerProcess | undefined;
  try {
    proxy = await startServerProcess({
      TARGET_URL: `http://127.0.0.1:${bot.port}`,
      STORE: 'redis',
      DELIVERY: 'queued',
      REDIS_PREFIX: prefix,
      QUEUE_ACK_REPLICAS: String(ackReplicas),
      QUEUE_LEASE_MS: '2000',
      QUEUE_CONCURRENCY: '16',
      ...redisEnv,
    });
    const result = await stream(proxy.port, fault, ackReplicas === 0);
    const stderr = proxy.stderr;
    // Stored webhooks are delivered once there is a primary to claim them from: the failover first
    // (sentinels on a loaded machine may sit in TILT mode, acting on nothing, for 30 s).
    await failedOver?.();
    const failedOverAt = performance.now();
    // Generous: a loaded machine's sentinels and reconnections take their time; what a loss is
    // made of is in the evidence below.
    await waitFor(() => audit(bot, result).lost.length === 0 || undefined, `${label}: every queued webhook delivered`, { ms: 60_000, pauseMs: 100 }).catch(() => undefined);
    const settledAfterMs = performance.now() - failedOverAt;
    const { lost, outOfOrder, redelivered } = audit(bot, result);
    t.diagnostic(
      `${label}: ${result.queued.size} queued, ${result.direct} forwarded directly, ${result.refused} refused; ${result.queued.size - lost.length} delivered, ${lost.length} lost, ${outOfOrder.length} key(s) out of order, ${redelivered} redelivered; ack p50 ${percentile(result.ackMs, 50).toFixed(1)} ms, p99 ${percentile(result.ackMs, 99).toFixed(1)} ms; ${result.queueingAgainAfterMs === undefined ? 'not queueing after it (no replica left to confirm a webhook)' : `queueing again ${Math.round(result.queueingAgainAfterMs)} ms after the stream`}; the last delivered ${Math.round(settledAfterMs)} ms after the failover`,
    );
    // What a loss is made of, for the assertion's message (a CI log may show only that).
    let evidence = `${lost.length} of ${result.queued.size} not delivered ${Math.round(settledAfterMs)} ms after the failover`;
    if (lost.length > 0) {
      const where =
        primary === undefined
          ? 'not looked up'
          : await primary()
              .then(async (client) => locate(client, prefix, lost).finally(() => client.disconnect()))
              .catch((err: unknown) => `not found: ${String(err)}`);
      evidence += `; in Redis: ${where.slice(0, 1500)}; the proxy said:\n${stderr().slice(-3000)}`;
      t.diagnostic(`${label}: ${evidence}`);
    }
    assert.equal(proxy.child.exitCode, null, `${label}: the proxy is still running:\n${stderr()}`);
    assert.doesNotMatch(stderr(), /unhandled rejection|internal error/, 'no rejection went unhandled');
    assert.ok(result.queued.size > 0, 'webhooks were queued');
    return { lost, outOfOrder, result, evidence };
  } finally {
    proxy?.child.kill('SIGKILL');
    await bot.stop();
  }
}

describe('the mailbox on Redis Sentinel, across a primary killed mid-stream', { skip, timeout: 180_000 }, () => {
  let set: SentinelSet;
  before(async () => {
    set = await SentinelSet.start();
  });
  after(async () => {
    await set?.stop();
  });

  it('QUEUE_ACK_REPLICAS=1: every webhook answered queued is delivered, in order per key; the replica is promoted', async (t) => {
    const before = await set.primaryPort();
    const promoted = () => waitFor(async () => ((await set.primaryPort()) !== before ? true : undefined), 'the sentinels promoted the replica', { ms: 90_000, pauseMs: 200 });
    const { lost, outOfOrder, evidence } = await run(
      t,
      'Sentinel, QUEUE_ACK_REPLICAS=1',
      { REDIS_SENTINELS: set.sentinelList, REDIS_SENTINEL_NAME: set.name },
      () => set.primary.kill(),
      1,
      async () => new Redis(await set.primaryPort(), '127.0.0.1'),
      promoted,
    );
    assert.deepEqual(lost, [], `no acked webhook lost: ${evidence}`);
    assert.deepEqual(outOfOrder, [], 'each key in order');
    assert.notEqual(await set.primaryPort(), before, 'the sentinels promoted the replica');
  });

  it('QUEUE_ACK_REPLICAS=0: the proxy rides the failover without falling over (what it may lose is reported)', async (t) => {
    // The old primary comes back as an empty process; the sentinels make it a replica of the new one.
    await set.primary.start();
    set = await set.swapped();
    await run(t, 'Sentinel, QUEUE_ACK_REPLICAS=0', { REDIS_SENTINELS: set.sentinelList, REDIS_SENTINEL_NAME: set.name }, () => set.primary.kill(), 0);
  });
});

describe('the mailbox on a Redis Cluster, across a primary killed mid-stream', { skip, timeout: 180_000 }, () => {
  let cluster: RedisClusterSet;
  before(async () => {
    cluster = await RedisClusterSet.start();
  });
  after(async () => {
    await cluster?.stop();
  });

  it('REDIS_URL pointed at one cluster node: alive, every webhook answered, and told to set REDIS_CLUSTER_NODES', async () => {
    const bot = await new Bot('bot').start();
    const [node] = await cluster.primaries();
    const proxy = await startServerProcess({
      TARGET_URL: `http://127.0.0.1:${bot.port}`,
      STORE: 'redis',
      DELIVERY: 'queued',
      AFFINITY_MODE: 'cookie',
      DEDUPE: 'on',
      PLATFORM: 'webex',
      SIGNATURE_SCHEME: 'none',
      REDIS_URL: `redis://127.0.0.1:${node!.port}`,
      REDIS_PREFIX: testPrefix(),
    });
    try {
      // Twenty keys: their shards fall on every node, so most calls are answered MOVED.
      for (let i = 0; i < 20; i++) {
        const res = await request(proxy.port, { body: webhook(`person-${i}`) });
        assert.equal(res.status, 200, res.body.toString());
      }
      await heard(proxy, /redis:\/\/127\.0\.0\.1:\d+ is a Redis Cluster node \(it answered "MOVED \d+ [\d.:]+"\): set REDIS_CLUSTER_NODES/, 'the hint');
      assert.equal(proxy.stderr().match(/is a Redis Cluster node/g)?.length, 1, 'said once');
      assert.equal(proxy.child.exitCode, null, proxy.stderr());
      assert.doesNotMatch(proxy.stderr(), /unhandled rejection|internal error/);
    } finally {
      proxy.child.kill('SIGKILL');
      await bot.stop();
    }
  });

  it('spreads the shards over every primary; QUEUE_ACK_REPLICAS=1 loses nothing acked and keeps order when one dies', async (t) => {
    const prefix = testPrefix();
    const primaries = await cluster.primaries();
    assert.equal(primaries.length, 3);
    const victim = primaries[1]!;
    const { lost, outOfOrder, evidence } = await run(
      t,
      'Cluster, QUEUE_ACK_REPLICAS=1',
      { REDIS_CLUSTER_NODES: cluster.nodeList, REDIS_PREFIX: prefix },
      async () => {
        // Before the kill: every primary holds some of the mailbox's keys.
        for (const node of primaries) {
          const c = node.client();
          try {
            const [, keys] = await c.scan('0', 'MATCH', `${prefix}mailbox:*`, 'COUNT', 10_000);
            assert.ok(keys.length > 0, `primary ${node.port} holds mailbox keys`);
          } finally {
            c.disconnect();
          }
        }
        await victim.kill();
      },
      1,
    );
    assert.deepEqual(lost, [], `no acked webhook lost: ${evidence}`);
    assert.deepEqual(outOfOrder, [], 'each key in order');
    const after = await cluster.primaries();
    assert.equal(after.length, 3, "the victim's replica took over");
  });

  it('QUEUE_ACK_REPLICAS=0: the proxy rides a second primary kill without falling over (what it may lose is reported)', async (t) => {
    const [victim] = await cluster.primaries();
    await run(t, 'Cluster, QUEUE_ACK_REPLICAS=0', { REDIS_CLUSTER_NODES: cluster.nodeList }, () => victim!.kill(), 0);
  });
});

// The spool contract on a cluster and on Sentinel: each script's keys hash to one slot, and the
// shards answer as one spool.
let contractCluster: Promise<RedisClusterSet> | undefined;
let contractSentinel: Promise<SentinelSet> | undefined;
const contractConnections: RedisConnection[] = [];
after(async () => {
  for (const c of contractConnections) await c.close();
  await (await contractCluster)?.stop();
  await (await contractSentinel)?.stop();
});
/** One cluster and one Sentinel set for every contract test, started at first use. */
function sharedCluster(): Promise<RedisClusterSet> {
  contractCluster ??= RedisClusterSet.start();
  return contractCluster;
}
function sharedSentinels(): Promise<SentinelSet> {
  contractSentinel ??= SentinelSet.start();
  return contractSentinel;
}
async function contractSpool(topology: 'cluster' | 'sentinel', options: { maxBytes: number; maxDead: number }): Promise<RedisSpool> {
  const connection =
    topology === 'cluster'
      ? new RedisConnection({ kind: 'cluster', nodes: (await sharedCluster()).nodes.map((n) => ({ host: '127.0.0.1', port: n.port })) }, NO_AUTH, 'contract')
      : new RedisConnection({ kind: 'sentinel', name: 'mymaster', sentinels: (await sharedSentinels()).sentinels.map((n) => ({ host: '127.0.0.1', port: n.port })) }, NO_AUTH, 'contract');
  contractConnections.push(connection);
  const spool = new RedisSpool(connection, { prefix: testPrefix(), shards: 16, timeoutMs: 5000, leaseMs: 60_000, ackReplicas: 0, ...options });
  await spool.ready();
  return spool;
}
spoolContract('Redis Cluster (3 primaries, 16 shards)', (options) => contractSpool('cluster', options), { skip });
spoolContract('Redis Sentinel', (options) => contractSpool('sentinel', options), { skip });
