/**
 * The shared spool: mailboxes in Redis, one per key across every replica (the layout and why:
 * redis-scripts.ts). A webhook is acknowledged only once Redis has it; a replica that dies while
 * delivering leaves its claim to run out (QUEUE_LEASE_MS) and another one delivers that webhook
 * again, with the same delivery id and the next attempt number.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { redisClient } from '../store/redis-client';
import type { Claimed, DeadLetter, Letter, Settlement, WaitingLetter } from './letter';
import { letterBytes } from './letter';
import { APPEND, CLAIM, FORGET, RENEW, REPLAY, SETTLE, WAKE } from './redis-scripts';
import type { Spool, SpoolStats } from './spool';

export interface RedisSpoolOptions {
  readonly url: string;
  /** Prepended to every key (REDIS_PREFIX + "mailbox:"). */
  readonly prefix: string;
  /** A command slower than this fails (STORE_TIMEOUT_MS): the webhook is then forwarded directly. */
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly maxDead: number;
  /** How long a claim lasts unless renewed (QUEUE_LEASE_MS). */
  readonly leaseMs: number;
  readonly onConnectionError?: (err: Error) => void;
  /** Called when the connection is ready again after an error. */
  readonly onBack?: () => void;
}

type Script = (...args: (string | number | Buffer)[]) => Promise<unknown>;

/** The mailbox a letter belongs to: its key's, or its own when it has no key. */
const mailboxOf = (letter: Pick<Letter, 'key' | 'id'>): string => (letter.key === undefined ? `n:${letter.id}` : `k:${letter.key}`);

export class RedisSpool implements Spool {
  readonly shared = true;
  private readonly client: Redis;
  /** This process, in the claims it holds. */
  private readonly owner = randomUUID();
  private readonly scripts: Record<'append' | 'claim' | 'settle' | 'renew' | 'wake' | 'replay' | 'forget', Script>;

  constructor(private readonly options: RedisSpoolOptions) {
    this.client = redisClient(options.url, options.timeoutMs, 'webhook-affinity-mailbox', options.onConnectionError, options.onBack);
    const sources = { append: APPEND, claim: CLAIM, settle: SETTLE, renew: RENEW, wake: WAKE, replay: REPLAY, forget: FORGET };
    for (const [name, lua] of Object.entries(sources)) this.client.defineCommand(`mailbox_${name}`, { numberOfKeys: 0, lua });
    const call = (name: string): Script => {
      // The Buffer variant keeps bodies as bytes.
      const command: unknown = Reflect.get(this.client, `mailbox_${name}Buffer`);
      if (typeof command !== 'function') throw new Error(`ioredis did not define mailbox_${name}`);
      return (...args) => Promise.resolve(command.apply(this.client, args));
    };
    this.scripts = { append: call('append'), claim: call('claim'), settle: call('settle'), renew: call('renew'), wake: call('wake'), replay: call('replay'), forget: call('forget') };
  }

  /** Resolves once connected (the proxy does not wait for it: accepting falls back to direct meanwhile). */
  ready(): Promise<void> {
    if (this.client.status === 'ready') return Promise.resolve();
    return new Promise((resolve) => this.client.once('ready', () => resolve()));
  }

  async append(letter: Letter): Promise<boolean> {
    const fields: (string | Buffer)[] = ['mb', mailboxOf(letter), 'method', letter.method, 'url', letter.url, 'headers', JSON.stringify(letter.headers), 'body', letter.body];
    fields.push('arrivedAt', String(letter.arrivedAt), 'bytes', String(letterBytes(letter)));
    if (letter.key !== undefined) fields.push('key', letter.key);
    const stored = await this.scripts.append(this.options.prefix, letter.id, mailboxOf(letter), letter.arrivedAt, this.options.maxBytes, letterBytes(letter), ...fields);
    return stored === 1;
  }

  async claim(now: number, max: number): Promise<Claimed[]> {
    const reply = await this.scripts.claim(this.options.prefix, now, now + this.options.leaseMs, this.owner, max);
    const claimed: Claimed[] = [];
    for (const triple of Array.isArray(reply) ? reply : []) {
      const [id, attempt, fields]: unknown[] = Array.isArray(triple) ? triple : [];
      if (Buffer.isBuffer(id) && typeof attempt === 'number' && Array.isArray(fields)) claimed.push({ letter: letterFrom(id.toString(), fieldMap(fields)), attempt });
    }
    return claimed;
  }

  async settle(claimed: Claimed, settlement: Settlement, now: number): Promise<void> {
    const at = settlement.kind === 'retry' || settlement.kind === 'hold' ? settlement.at : now;
    const early = settlement.kind === 'retry' && settlement.early === true ? '1' : '0';
    const reason = settlement.kind === 'dead' ? settlement.reason : '';
    const { letter } = claimed;
    await this.scripts.settle(this.options.prefix, mailboxOf(letter), letter.id, this.owner, settlement.kind, now, at, early, reason, this.options.maxDead);
  }

  async renew(claimed: Claimed, now: number): Promise<boolean> {
    const { letter } = claimed;
    return (await this.scripts.renew(this.options.prefix, mailboxOf(letter), letter.id, this.owner, now + this.options.leaseMs)) === 1;
  }

  async wake(now: number): Promise<number> {
    return Number(await this.scripts.wake(this.options.prefix, now));
  }

  async nextDueAt(): Promise<number | undefined> {
    const P = this.options.prefix;
    const [due, lease] = await Promise.all([this.client.zrange(`${P}due`, '0', '0', 'WITHSCORES'), this.client.zrange(`${P}leases`, '0', '0', 'WITHSCORES')]);
    const times = [due[1], lease[1]].filter((t): t is string => t !== undefined).map(Number);
    return times.length === 0 ? undefined : Math.min(...times);
  }

  async depth(): Promise<number> {
    return Number((await this.client.hget(`${this.options.prefix}stats`, 'depth')) ?? 0);
  }

  async stats(now: number): Promise<SpoolStats> {
    const P = this.options.prefix;
    const [stats, due, leases, oldest, dead] = await Promise.all([
      this.client.hgetall(`${P}stats`),
      this.client.zcard(`${P}due`),
      this.client.zcard(`${P}leases`),
      this.client.zrange(`${P}arrivals`, '0', '0', 'WITHSCORES'),
      this.client.llen(`${P}dead`),
    ]);
    const oldestAt = oldest[1] === undefined ? now : Number(oldest[1]);
    return {
      depth: Number(stats.depth ?? 0),
      keyless: Number(stats.keyless ?? 0),
      bytes: Number(stats.bytes ?? 0),
      mailboxes: due + leases,
      inFlight: leases,
      oldestAgeMs: Math.max(0, now - oldestAt),
      dead,
      deadDropped: Number(stats.deadDropped ?? 0),
    };
  }

  async pendingFor(key: string, max: number): Promise<readonly WaitingLetter[]> {
    const P = this.options.prefix;
    const ids = await this.client.lrange(`${P}mb:${mailboxOf({ key, id: '' })}`, 0, max - 1);
    const pipeline = this.client.pipeline();
    for (const id of ids) pipeline.hmget(`${P}letter:${id}`, 'url', 'arrivedAt', 'attempts');
    const replies = (await pipeline.exec()) ?? [];
    return ids.map((id, i) => {
      const reply = replies[i]?.[1];
      const [url, arrivedAt, attempts] = Array.isArray(reply) ? reply.map((v) => (typeof v === 'string' ? v : undefined)) : [];
      return { id, url: url ?? '/', arrivedAt: Number(arrivedAt ?? 0), attempts: Number(attempts ?? 0) };
    });
  }

  async deadLetters(): Promise<readonly DeadLetter[]> {
    const P = this.options.prefix;
    const ids = await this.client.lrange(`${P}dead`, 0, -1);
    const pipeline = this.client.pipeline();
    for (const id of ids) pipeline.hgetallBuffer(`${P}letter:${id}`);
    const replies = (await pipeline.exec()) ?? [];
    const dead: DeadLetter[] = [];
    ids.forEach((id, i) => {
      const hash = replies[i]?.[1];
      if (hash === null || typeof hash !== 'object') return;
      const fields = new Map(Object.entries(hash).map(([name, value]) => [name, Buffer.isBuffer(value) ? value : Buffer.from(String(value))]));
      const text = (name: string) => fields.get(name)?.toString();
      dead.push({
        letter: letterFrom(id, fields),
        attempts: Number(text('attempts') ?? 0),
        firstAttemptAt: text('first') === undefined ? undefined : Number(text('first')),
        lastAttemptAt: Number(text('last') ?? 0),
        reason: text('reason') ?? '',
      });
    });
    return dead;
  }

  async replay(id: string, now: number): Promise<boolean> {
    // Due at once: it has waited its turn already.
    return (await this.scripts.replay(this.options.prefix, id, 0, now)) === 1;
  }

  async forget(id: string): Promise<boolean> {
    return (await this.scripts.forget(this.options.prefix, id)) === 1;
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/** A hash's fields from a flat [name, value, ...] reply, by name. */
function fieldMap(fields: readonly unknown[]): Map<string, Buffer> {
  const map = new Map<string, Buffer>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const field = fields[i];
    const value = fields[i + 1];
    if (Buffer.isBuffer(field) && Buffer.isBuffer(value)) map.set(field.toString(), value);
  }
  return map;
}

/** A stored letter, from its hash's fields. */
function letterFrom(id: string, fields: ReadonlyMap<string, Buffer>): Letter {
  const text = (name: string) => fields.get(name)?.toString();
  const headers: unknown = JSON.parse(text('headers') ?? '{}');
  return {
    id,
    key: text('key'),
    method: text('method') ?? 'POST',
    url: text('url') ?? '/',
    headers: isStringRecord(headers) ? headers : {},
    body: fields.get('body') ?? Buffer.alloc(0),
    arrivedAt: Number(text('arrivedAt') ?? 0),
    replayedAt: text('replayedAt') === undefined ? undefined : Number(text('replayedAt')),
  };
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string');
}
