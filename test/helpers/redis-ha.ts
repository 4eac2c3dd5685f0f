/**
 * Redis Sentinel sets and Redis Clusters started by a test from Debian's redis-server, on free
 * ports in a temporary folder, and stopped by their own PIDs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, untilAccepting } from './net';
import { waitFor } from './wait';

/** One redis-server (or sentinel) process on a free port. */
export class RedisNode {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly args: readonly string[],
    readonly dir: string,
  ) {}

  static async start(dir: string, args: readonly string[], port?: number): Promise<RedisNode> {
    // A port found free can be taken by a parallel test before redis-server binds it: when the
    // port was ours to choose, another one is tried.
    for (let attempt = 1; ; attempt++) {
      const node = new RedisNode(port ?? (await freePort()), args, dir);
      try {
        await node.start();
        return node;
      } catch (err) {
        if (port !== undefined || attempt >= 5) throw err;
      }
    }
  }

  async start(): Promise<void> {
    // No 5 s wait before a replica's first sync (repl-diskless-sync-delay's default).
    const args = [...this.args, '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0'];
    const child = spawn('redis-server', args, {
      cwd: this.dir,
      stdio: 'ignore',
    });
    this.child = child;
    await untilAccepting(this.port, `redis-server ${this.port}`, () => child.exitCode !== null);
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** kill -9: no goodbye, no save. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }

  client(): Redis {
    const client = new Redis({ port: this.port, host: '127.0.0.1', maxRetriesPerRequest: 1, lazyConnect: false, retryStrategy: () => null });
    // A node killed under it: its commands fail, and that is all the test needs to know.
    client.on('error', () => {});
    return client;
  }
}

/**
 * One cluster node. Its cluster bus listens on its port + 10 000, which must be free too (and a
 * port): a port whose bus port is taken meanwhile by a parallel test's server makes redis-server
 * exit at once, and another port is tried.
 */
async function clusterNode(dir: string): Promise<RedisNode> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    if (port + 10_000 > 65_535) continue;
    try {
      return await RedisNode.start(dir, ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '1000'], port);
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
}

export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0 && spawnSync('redis-cli', ['--version']).status === 0;
}

/** A primary, a replica and three sentinels watching them as `name`. */
export class SentinelSet {
  private constructor(
    readonly dir: string,
    readonly name: string,
    public primary: RedisNode,
    public replica: RedisNode,
    readonly sentinels: RedisNode[],
  ) {}

  static async start(name = 'mymaster'): Promise<SentinelSet> {
    const dir = mkdtempSync(join(tmpdir(), 'wa-sentinel-'));
    const primary = await RedisNode.start(dir, []);
    const replica = await RedisNode.start(dir, ['--replicaof', '127.0.0.1', String(primary.port)]);
    const sentinels: RedisNode[] = [];
    for (let i = 0; i < 3; i++) {
      const file = join(dir, `sentinel-${i}.conf`);
      // A sentinel rewrites its config file: each has its own, writable.
      writeFileSync(
        file,
        [
          `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      sentinels.push(await RedisNode.start(dir, [file, '--sentinel']));
    }
    const set = new SentinelSet(dir, name, primary, replica, sentinels);
    await set.untilReplicated();
    return set;
  }

  get sentinelList(): string {
    return this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');
  }

  /** Until the replica is in sync and every sentinel knows it. */
  async untilReplicated(): Promise<void> {
    // A client per look: a Redis that the sentinels are reconfiguring closes its clients' connections.
    await waitFor(
      async () => {
        const client = this.primary.client();
        try {
          return /slave0:.*state=online/.test(await client.info('replication')) || undefined;
        } catch {
          return undefined;
        } finally {
          client.disconnect();
        }
      },
      'the replica in sync',
      { ms: 15_000, pauseMs: 50 },
    );
    for (const sentinel of this.sentinels) {
      const c = sentinel.client();
      try {
        await waitFor(
          async () => {
            const replicas: unknown = await c.call('SENTINEL', 'REPLICAS', this.name);
            return Array.isArray(replicas) && replicas.length > 0 ? true : undefined;
          },
          'the sentinels found the replica',
          { ms: 15_000, pauseMs: 50 },
        );
        // And each other: without a majority that knows of each other no failover can be voted
        // (they meet through hello messages every 2 s; a primary killed before that is never replaced).
        await waitFor(
          async () => {
            const others: unknown = await c.call('SENTINEL', 'SENTINELS', this.name);
            return Array.isArray(others) && others.length === this.sentinels.length - 1 ? true : undefined;
          },
          'the sentinels found each other',
          { ms: 15_000, pauseMs: 50 },
        );
      } finally {
        c.disconnect();
      }
    }
  }

  /**
   * After a failover: the promoted replica is the primary, and the old primary (started again)
   * the replica, once it is in sync.
   */
  async swapped(): Promise<SentinelSet> {
    const port = await this.primaryPort();
    const [primary, replica] = port === this.replica.port ? [this.replica, this.primary] : [this.primary, this.replica];
    // The old primary, back as an empty process, is made a replica of the new one now: the
    // sentinels would do the same, but only once their slow look at it (every 10 s) sees it,
    // which on a loaded machine took longer than the wait below.
    const returning = replica.client();
    try {
      await returning.call('REPLICAOF', '127.0.0.1', String(primary.port));
    } finally {
      returning.disconnect();
    }
    const set = new SentinelSet(this.dir, this.name, primary, replica, this.sentinels);
    await set.untilReplicated();
    return set;
  }

  /** The primary's port, as the sentinels say. */
  async primaryPort(): Promise<number> {
    const c = this.sentinels[0]!.client();
    try {
      const reply: unknown = await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name);
      return Array.isArray(reply) ? Number(reply[1]) : 0;
    } finally {
      c.disconnect();
    }
  }

  async stop(): Promise<void> {
    for (const node of [...this.sentinels, this.primary, this.replica]) await node.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Three primaries and three replicas, joined with `redis-cli --cluster create`. */
export class RedisClusterSet {
  private constructor(
    readonly dir: string,
    readonly nodes: RedisNode[],
  ) {}

  static async start(): Promise<RedisClusterSet> {
    const dir = mkdtempSync(join(tmpdir(), 'wa-cluster-'));
    const nodes: RedisNode[] = [];
    for (let i = 0; i < 6; i++) nodes.push(await clusterNode(dir));
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], { encoding: 'utf8', timeout: 60_000 });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}\n${created.stderr}`);
    const set = new RedisClusterSet(dir, nodes);
    await set.untilHealthy();
    return set;
  }

  get nodeList(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  }

  /** Until every live node says cluster_state:ok. */
  async untilHealthy(): Promise<void> {
    for (const node of this.nodes.filter((n) => n.alive)) {
      const c = node.client();
      try {
        await waitFor(async () => /cluster_state:ok/.test(String(await c.call('CLUSTER', 'INFO'))) || undefined, `node ${node.port} sees the cluster ok`, { ms: 20_000, pauseMs: 50 });
        // A primary's replica in sync, so that WAIT can be answered.
        const replication = await c.info('replication');
        if (/role:master/.test(replication))
          await waitFor(async () => /slave0:.*state=online/.test(await c.info('replication')) || undefined, `node ${node.port}'s replica in sync`, { ms: 20_000, pauseMs: 50 });
      } finally {
        c.disconnect();
      }
    }
  }

  /** The live nodes that are primaries now. */
  async primaries(): Promise<RedisNode[]> {
    const found: RedisNode[] = [];
    for (const node of this.nodes.filter((n) => n.alive)) {
      const c = node.client();
      try {
        if (/role:master/.test(await c.info('replication'))) found.push(node);
      } finally {
        c.disconnect();
      }
    }
    return found;
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) await node.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
