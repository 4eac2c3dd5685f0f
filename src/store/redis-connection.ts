/**
 * One Redis connection per process, shared by every part that uses Redis (the affinity store,
 * the delivery mailbox, dedupe): an ioredis client for one server or a Sentinel set, or an
 * ioredis Cluster client.
 *
 * Every call goes through `call(timeoutMs, ...)`, which bounds it and never lets Redis trouble
 * become anything but a rejection the caller turns into its fallback. ioredis reconnects by
 * itself and refuses commands at once while disconnected (enableOfflineQueue: false). A server
 * that accepts the connection but answers nothing (frozen, SIGSTOP) is what ioredis cannot see:
 * when a call times out and nothing at all was answered since it was sent, the connection is
 * taken as down, calls fail at once, and a PING probe decides when it is back; a probe that
 * times out too drops the connection (ioredis then fails what waited on it and reconnects), so
 * a frozen Redis holds no more than one timeout's worth of commands in memory.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { errnoOf, messageOf } from '../errors';
import { logError } from '../log';
import { outageLine, StoreTimeoutError, StoreUnavailableError, withDeadline, type StoreUse } from './store-call';
import { describeTopology, type RedisAuth, type RedisTopology } from './redis-topology';

export type RedisClient = Redis | Cluster;

const PROBE_EVERY_MS = 500;

export class RedisConnection {
  readonly client: RedisClient;
  readonly where: string;
  private readonly uses: StoreUse[] = [];
  private readonly readyHooks: ((client: RedisClient) => void)[] = [];
  /** Set while calls fail at once: why. */
  private downReason: string | undefined;
  private lastAnswerAt = performance.now();
  private probe: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  /** Told already that REDIS_URL points at a cluster node. */
  private toldCluster = false;

  constructor(
    readonly topology: RedisTopology,
    auth: RedisAuth,
    name: string,
  ) {
    this.where = describeTopology(topology);
    this.client = openClient(topology, auth, name);
    // Without a listener ioredis prints every connection error itself.
    this.client.on('error', (err: Error) => this.lost(err));
    this.client.on('node error', (err: Error) => this.lost(err));
    this.client.on('ready', () => this.connected());
  }

  /** Adds a part to the ones named when Redis is lost. */
  use(use: StoreUse): void {
    this.uses.push(use);
  }

  /** Run on every (re)connection: the mailbox checks persistence and whether the store was reset. */
  onReady(hook: (client: RedisClient) => void): void {
    this.readyHooks.push(hook);
    if (this.up) hook(this.client);
  }

  /** Calls can be sent now. */
  get up(): boolean {
    return this.client.status === 'ready' && this.downReason === undefined;
  }

  /** Resolves once connected; rejects with the first connection error. */
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

  /** Runs `send` unless the connection is down, failing it after `timeoutMs`. */
  async call<T>(timeoutMs: number, send: (client: RedisClient) => Promise<T>): Promise<T> {
    if (this.downReason !== undefined) throw new StoreUnavailableError(`${this.where} is unreachable (${this.downReason})`);
    const sentAt = performance.now();
    const answered = send(this.client).then(
      (value) => {
        this.lastAnswerAt = performance.now();
        return value;
      },
      (err: unknown) => {
        // An error reply (OOM, READONLY, ...) is an answer too: Redis is there, if unwell.
        if (isReply(err)) {
          this.lastAnswerAt = performance.now();
          this.hintAtCluster(err);
        }
        throw err;
      },
    );
    try {
      return await withDeadline(answered, timeoutMs, `${this.where} did not answer within ${timeoutMs} ms`);
    } catch (err) {
      // Only when Redis answered nothing at all since: a slow answer among others is not an outage.
      if (err instanceof StoreTimeoutError && this.lastAnswerAt < sentAt) this.goDown('no answer');
      throw err;
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.probe);
      this.probe = undefined;
      await this.client.quit().catch(() => undefined);
      // quit leaves ioredis's subscriptions to the sentinels (failoverDetector) open, which keeps
      // the process alive (ioredis#1362); disconnect closes them, and is a no-op otherwise.
      this.client.disconnect();
    })();
    return this.closing;
  }

  /**
   * A server that answers MOVED or ASK is a cluster node reached as one server: every call for a
   * slot it does not hold fails (and falls back) until the operator names the cluster. Said once.
   */
  private hintAtCluster(err: unknown): void {
    if (this.toldCluster || this.topology.kind === 'cluster' || !/^(MOVED|ASK) /.test(messageOf(err))) return;
    this.toldCluster = true;
    logError(
      `${this.where} is a Redis Cluster node (it answered "${messageOf(err)}"): set REDIS_CLUSTER_NODES=host:port,... instead; until then, calls for keys on other nodes fail and take each part's fallback`,
    );
  }

  private lost(err: Error): void {
    if (this.closing !== undefined) return;
    this.goDown(errnoOf(err) || err.message);
  }

  private goDown(reason: string): void {
    if (this.downReason !== undefined) return;
    this.downReason = reason;
    logError(outageLine(this.where, reason, this.uses));
    this.probe ??= setInterval(() => this.checkBack(), PROBE_EVERY_MS).unref();
  }

  /** A connection that is ready again is back; one that is up but silent is dropped and reopened. */
  private checkBack(): void {
    if (this.client.status !== 'ready') return;
    const sentAt = performance.now();
    let answered = false;
    this.client.ping().then(
      () => {
        answered = true;
        this.connected();
      },
      () => {},
    );
    setTimeout(() => {
      if (!answered && this.lastAnswerAt < sentAt && this.closing === undefined) dropSockets(this.client);
    }, PROBE_EVERY_MS).unref();
  }

  private connected(): void {
    this.lastAnswerAt = performance.now();
    if (this.downReason !== undefined) {
      this.downReason = undefined;
      clearInterval(this.probe);
      this.probe = undefined;
      logError(`${this.where} is back`);
    }
    for (const hook of this.readyHooks) {
      try {
        hook(this.client);
      } catch (err) {
        logError(`internal error after reconnecting to Redis: ${messageOf(err)}`);
      }
    }
  }
}

/**
 * Cuts the connections at once: a frozen server never acknowledges a polite close (ioredis's
 * disconnect waits for it), so the sockets are destroyed; ioredis then fails what waited on
 * them and reconnects.
 */
function dropSockets(client: RedisClient): void {
  const nodes = client instanceof Cluster ? client.nodes() : [client];
  for (const node of nodes) {
    const stream: unknown = Reflect.get(node, 'stream');
    if (typeof stream === 'object' && stream !== null && 'destroy' in stream && typeof stream.destroy === 'function') stream.destroy();
  }
}

/** A reply from Redis (an error it answered), rather than a connection failure. */
function isReply(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

function openClient(topology: RedisTopology, auth: RedisAuth, name: string): RedisClient {
  const common = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    connectionName: name,
    // Many concurrent webhooks' commands share one round trip.
    enableAutoPipelining: true,
    // A primary that became a replica (failover): reconnect, to find the new primary.
    reconnectOnError: (err: Error) => err.message.startsWith('READONLY'),
    // satisfies, not a declared type: ioredis's RedisOptions says replyMapping may be undefined, and
    // its constructors say it may not (they disagree under exactOptionalPropertyTypes).
  } satisfies RedisOptions;
  // Reconnect forever, backing off to one attempt every 2 s.
  const retryStrategy = (attempt: number) => Math.min(attempt * 100, 2000);
  // Only what is set: ioredis's option types take an absent field, not one set to undefined.
  const nodeAuth = { ...definedOnly({ username: auth.username, password: auth.password }), ...(auth.tls ? { tls: {} } : {}) };
  if (topology.kind === 'server') return new Redis(topology.url, { ...common, retryStrategy });
  if (topology.kind === 'sentinel') {
    return new Redis({
      ...common,
      ...nodeAuth,
      retryStrategy,
      sentinels: topology.sentinels.map((s) => ({ host: s.host, port: s.port })),
      name: topology.name,
      ...definedOnly({ sentinelPassword: auth.sentinelPassword }),
      enableTLSForSentinelMode: auth.tls,
      sentinelRetryStrategy: retryStrategy,
      // Follow a promotion as soon as the sentinels announce it, not at the next error.
      failoverDetector: true,
    });
  }
  return new Cluster(
    topology.nodes.map((n) => ({ host: n.host, port: n.port })),
    {
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      clusterRetryStrategy: retryStrategy,
      slotsRefreshTimeout: 2000,
      redisOptions: { ...nodeAuth, maxRetriesPerRequest: 0, connectTimeout: 2000, connectionName: name },
    },
  );
}

/** The fields of `fields` that have a value. */
function definedOnly<T extends Record<string, string | undefined>>(fields: T): Partial<Record<keyof T, string>> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<Record<keyof T, string>>;
}
