/**
 * Real Redis for the tests: the machine's (REDIS_URL, default redis://127.0.0.1:6379) with a
 * random key prefix per run, and private redis-server processes that can be stopped, paused and
 * started again.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { freePort, untilAccepting } from './net';
import type { RedisAuth } from '../../src/store/redis-topology';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** No credentials, no TLS: the test servers'. */
export const NO_AUTH: RedisAuth = { username: undefined, password: undefined, tls: false, sentinelPassword: undefined };

/** A prefix no other run uses. */
export const testPrefix = (): string => `webhook-affinity-test:${randomUUID()}:`;

/** Why Redis tests must skip, or false. With REQUIRE_REDIS=1 (CI) an unreachable Redis fails instead. */
export function redisSkipReason(): string | false {
  const probe = spawnSync(
    process.execPath,
    [
      '-e',
      `const {Redis}=require('ioredis');const r=new Redis(${JSON.stringify(REDIS_URL)},{lazyConnect:true,connectTimeout:1000,maxRetriesPerRequest:0,retryStrategy:()=>null});r.connect().then(()=>r.ping()).then(()=>process.exit(0),()=>process.exit(1))`,
    ],
    { cwd: __dirname, timeout: 5000 },
  );
  if (probe.status === 0) return false;
  if (process.env.REQUIRE_REDIS === '1') throw new Error(`REQUIRE_REDIS=1 but Redis at ${REDIS_URL} does not answer`);
  return `Redis at ${REDIS_URL} does not answer; set REQUIRE_REDIS=1 to make this a failure`;
}

/** Deletes every key under `prefix`. */
export async function deletePrefix(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** A private redis-server on a free port, that a test may stop, pause and start again. */
export class PrivateRedis {
  private child: ChildProcess | undefined;
  port = 0;
  /** Its working directory: DEBUG RELOAD writes dump.rdb there, and a restart must not read it back. */
  private readonly dir = mkdtempSync(join(tmpdir(), 'wa-redis-'));

  static available(): boolean {
    return spawnSync('redis-server', ['--version']).status === 0;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    if (this.port === 0) this.port = await freePort();
    // Each start empty (restarted empty is a test case); DEBUG RELOAD lets a test watch Redis
    // answer LOADING while it reads its data back.
    rmSync(join(this.dir, 'dump.rdb'), { force: true });
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--enable-debug-command', 'local'];
    const child = spawn('redis-server', args, {
      stdio: 'ignore',
    });
    this.child = child;
    await untilAccepting(this.port, 'redis-server', () => child.exitCode !== null);
    return this;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    rmSync(join(this.dir, 'dump.rdb'), { force: true });
  }

  /** Freezes the process: connections stay open, nothing is answered. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }
}
