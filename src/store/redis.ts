/**
 * The Redis backend: one affinity map shared by every proxy replica and worker (and, with
 * DELIVERY=queued, the shared delivery spool).
 */
import type { Redis } from 'ioredis';
import { redactUrl } from '../config/redact';
import { errnoOf } from '../errors';
import { logError } from '../log';
import { throttled } from '../throttle';
import { RedisSpool } from '../delivery/redis-spool';
import type { StoreBackend } from './backend';
import { redisClient } from './redis-client';
import type { AffinityStore, StoreHealth } from './store';

export interface RedisStoreOptions {
  /** Any URL ioredis accepts: redis://user:pass@host:6379/2, rediss:// for TLS. */
  readonly url: string;
  /** Prepended to every key written (REDIS_PREFIX). */
  readonly prefix: string;
  /** A command slower than this fails (STORE_TIMEOUT_MS). */
  readonly timeoutMs: number;
  /** Told about connection trouble (each failed attempt); commands report through rejections. */
  readonly onConnectionError?: (err: Error) => void;
  /** Called when the connection is ready again after an error. */
  readonly onBack?: () => void;
}

const CONNECTED: StoreHealth = { remote: true, up: true, detail: 'Redis connected' };
const UNREACHABLE: StoreHealth = { remote: true, up: false, detail: 'Redis unreachable' };

export class RedisStore implements AffinityStore {
  private readonly client: Redis;
  private readonly prefix: string;
  private closing: Promise<void> | undefined;

  constructor(options: RedisStoreOptions) {
    this.prefix = options.prefix;
    this.client = redisClient(options.url, options.timeoutMs, 'webhook-affinity', options.onConnectionError, options.onBack);
  }

  health(): StoreHealth {
    return this.client.status === 'ready' ? CONNECTED : UNREACHABLE;
  }

  /** Redis is not counted (DBSIZE would count every key of the database, not ours). */
  size(): undefined {
    return undefined;
  }

  ready(): Promise<void> {
    if (this.client.status === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onReady = () => {
        this.client.off('error', onError);
        resolve();
      };
      const onError = (err: Error) => {
        this.client.off('ready', onReady);
        reject(err);
      };
      this.client.once('ready', onReady);
      this.client.once('error', onError);
    });
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.client.get(this.prefix + key)) ?? undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.client.set(this.prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  async delete(key: string): Promise<void> {
    await this.client.del(this.prefix + key);
  }

  close(): Promise<void> {
    this.closing ??= this.client.quit().then(
      () => undefined,
      // Not connected: nothing to say goodbye to.
      () => this.client.disconnect(),
    );
    return this.closing;
  }
}

export interface RedisBackendOptions {
  /** REDIS_URL, default redis://127.0.0.1:6379. */
  readonly url: string;
  /** REDIS_PREFIX, default webhook-affinity:. */
  readonly prefix: string;
}

/** STORE=redis: REDIS_URL and REDIS_PREFIX; shared by every replica and worker. */
export const redisBackend: StoreBackend<RedisBackendOptions> = {
  shared: true,
  readOptions(read) {
    const url = read.string('REDIS_URL', 'redis://127.0.0.1:6379');
    if (!/^rediss?:\/\/[^\s]*$/.test(url)) read.problem('REDIS_URL', redactUrl(url), 'a redis:// or rediss:// URL, such as redis://127.0.0.1:6379');
    return { url, prefix: read.string('REDIS_PREFIX', 'webhook-affinity:') };
  },
  describe: (options) => `Redis at ${redactUrl(options.url)} (prefix ${options.prefix})`,
  openSpool(options, { maxBytes, maxDead, leaseMs, timeoutMs, clock }) {
    const where = redactUrl(options.url);
    const report = throttled(logError, 10_000, clock);
    return new RedisSpool({
      url: options.url,
      prefix: `${options.prefix}mailbox:`,
      timeoutMs,
      maxBytes,
      maxDead,
      leaseMs,
      onConnectionError: (err) =>
        report(`delivery mailbox: Redis at ${where} unreachable (${errnoOf(err) || err.message}); webhooks are forwarded directly until it returns`),
      onBack: () => logError(`delivery mailbox: Redis at ${where} is back; webhooks are queued again`),
    });
  },
  openDeliveryIds(options, { clock, timeoutMs }) {
    const report = throttled(logError, 10_000, clock);
    const where = redactUrl(options.url);
    const client = redisClient(options.url, timeoutMs, 'webhook-affinity-dedupe', (err) =>
      report(`dedupe: Redis at ${where} unreachable (${errnoOf(err) || err.message}); retried deliveries are forwarded again until it returns`),
      () => logError(`dedupe: Redis at ${where} is back`),
    );
    const key = (id: string) => `${options.prefix}ids:${id}`;
    return {
      // SET NX: only the first copy's claim succeeds, whichever replica it reached.
      claim: async (id, ttlMs) => (await client.set(key(id), '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK',
      release: async (id) => void (await client.del(key(id))),
      ready: () => (client.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => client.once('ready', () => resolve()))),
      close: async () => {
        await client.quit().catch(() => client.disconnect());
      },
    };
  },
  open(options, { clock, timeoutMs }) {
    const where = redactUrl(options.url);
    const report = throttled(logError, 10_000, clock);
    return new RedisStore({
      url: options.url,
      prefix: options.prefix,
      timeoutMs,
      onConnectionError: (err) =>
        report(`affinity store: Redis at ${where} unreachable (${errnoOf(err) || err.message}); webhooks are forwarded without learned cookies until it returns`),
      onBack: () => logError(`affinity store: Redis at ${where} is back`),
    });
  },
};
