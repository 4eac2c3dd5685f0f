/**
 * The Redis backend (one server, Sentinel or Cluster): one affinity map, one delivery spool and
 * one set of delivery ids shared by every proxy replica and worker, over one connection per
 * process (two with QUEUE_ACK_REPLICAS: WAIT blocks the connection it is sent on).
 */
import { RedisSpool } from '../delivery/redis-spool';
import type { DeliveryIds } from '../dedupe/delivery-ids';
import { logError } from '../log';
import type { StoreBackend, StoreSession } from './backend';
import { RedisConnection } from './redis-connection';
import { watchPersistence } from './redis-persistence';
import { describeTopology, readTopology, type RedisAuth, type RedisTopology } from './redis-topology';
import type { AffinityStore, StoreHealth } from './store';

export interface RedisBackendOptions {
  readonly topology: RedisTopology;
  readonly auth: RedisAuth;
  /** REDIS_PREFIX, default webhook-affinity:. */
  readonly prefix: string;
  /** SPOOL_SHARDS: the delivery spool's shards (spread over a cluster's primaries). */
  readonly shards: number;
}

/** The affinity map: one string key per affinity key, with its TTL. */
export class RedisStore implements AffinityStore {
  constructor(
    private readonly connection: RedisConnection,
    private readonly prefix: string,
    private readonly timeoutMs: number,
  ) {}

  health(): StoreHealth {
    return { remote: true, up: this.connection.up, detail: this.connection.up ? 'Redis connected' : 'Redis unreachable' };
  }

  /** Redis is not counted (DBSIZE would count every key of the database, not ours). */
  size(): undefined {
    return undefined;
  }

  ready(): Promise<void> {
    return this.connection.ready();
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.connection.call(this.timeoutMs, (c) => c.get(this.prefix + key))) ?? undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.connection.call(this.timeoutMs, (c) => c.set(this.prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs))));
  }

  async delete(key: string): Promise<void> {
    await this.connection.call(this.timeoutMs, (c) => c.del(this.prefix + key));
  }

  /** The connection is the session's: closed with it. */
  async close(): Promise<void> {}
}

/** DEDUPE's ids: SET NX, so only the first copy's claim succeeds, whichever replica it reached. */
function redisDeliveryIds(connection: RedisConnection, prefix: string, timeoutMs: number): DeliveryIds {
  const key = (id: string) => `${prefix}ids:${id}`;
  return {
    claim: async (id, ttlMs) => (await connection.call(timeoutMs, (c) => c.set(key(id), '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'))) === 'OK',
    release: async (id) => void (await connection.call(timeoutMs, (c) => c.del(key(id)))),
    ready: () => connection.ready(),
    close: () => {},
  };
}

/** STORE=redis: REDIS_URL, or REDIS_SENTINELS, or REDIS_CLUSTER_NODES; shared by every replica and worker. */
export const redisBackend: StoreBackend<RedisBackendOptions> = {
  shared: true,
  readOptions(read) {
    return { ...readTopology(read), prefix: read.string('REDIS_PREFIX', 'webhook-affinity:'), shards: read.integer('SPOOL_SHARDS', 16, 1, 1024) };
  },
  describe: (options) => `${describeTopology(options.topology)} (prefix ${options.prefix})`,
  connect(options, { timeoutMs }): StoreSession {
    let connection: RedisConnection | undefined;
    let ackConnection: RedisConnection | undefined;
    const connected = (): RedisConnection => (connection ??= new RedisConnection(options.topology, options.auth, 'webhook-affinity'));
    return {
      store() {
        const c = connected();
        c.use({ part: 'affinity store', fallback: 'webhooks are forwarded without learned cookies' });
        return new RedisStore(c, options.prefix, timeoutMs);
      },
      deliveryIds() {
        const c = connected();
        c.use({ part: 'dedupe', fallback: 'copies of a delivery are not recognised' });
        return redisDeliveryIds(c, options.prefix, timeoutMs);
      },
      spool(common) {
        const c = connected();
        c.use({ part: 'delivery mailbox', fallback: 'webhooks are not stored (QUEUE_WHEN_STORE_DOWN says what happens to them)' });
        if (common.ackReplicas > 0) ackConnection ??= new RedisConnection(options.topology, options.auth, 'webhook-affinity-acks');
        watchPersistence(c, common.ackReplicas);
        return new RedisSpool(c, {
          prefix: `${options.prefix}mailbox:`,
          shards: options.shards,
          timeoutMs: common.timeoutMs,
          maxBytes: common.maxBytes,
          maxDead: common.maxDead,
          leaseMs: common.leaseMs,
          ackReplicas: common.ackReplicas,
          ackConnection,
          onReset: (shards, lost) => {
            logError(
              `delivery mailbox: ${c.where} came back without the spool's data (${shards.length} of ${options.shards} shard(s)); ${lost} stored webhook(s) it held when last seen are lost. Give Redis persistence (appendonly yes) or a replica with QUEUE_ACK_REPLICAS`,
            );
            common.onReset?.(lost);
          },
        });
      },
      async close() {
        await Promise.all([connection?.close(), ackConnection?.close()]);
      },
    };
  },
};
