/**
 * The shared spool: mailboxes in Redis, one per key across every replica, cut into shards
 * (shards.ts) whose scripts (redis-scripts.ts) each run on one shard. A webhook is acknowledged
 * only once Redis has it (and, with QUEUE_ACK_REPLICAS, its replicas); a replica that dies while
 * delivering leaves its claim to run out (QUEUE_LEASE_MS) and another one delivers that webhook
 * again, with the same delivery id and the next attempt number.
 *
 * Each script answers with its shard's figures (next due, depth, bytes): the pump's questions
 * between claims (how many are stored, when is the next retry due) are answered from those
 * without a round trip, and QUEUE_MAX_BYTES is checked against their sum.
 */
import { randomUUID } from 'node:crypto';
import { messageOf } from '../errors';
import { logError } from '../log';
import type { RedisClient, RedisConnection } from '../store/redis-connection';
import { ackedByReplicas } from './redis-acks';
import type { Claimed, DeadLetter, Letter, Settlement, WaitingLetter } from './letter';
import { letterBytes } from './letter';
import { mailboxOf, packedHead, packLetter, unpackLetter } from './packed-letter';
import { SCRIPTS, type ScriptName, type ShardKey } from './redis-scripts';
import { shardOf, shardTags } from './shards';
import type { AppendResult, Spool, SpoolStats } from './spool';

export interface RedisSpoolOptions {
  /** Prepended to every key (REDIS_PREFIX + "mailbox:"). */
  readonly prefix: string;
  /** SPOOL_SHARDS. */
  readonly shards: number;
  /** A call slower than this fails (SPOOL_TIMEOUT_MS): the webhook is then forwarded directly. */
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly maxDead: number;
  /** How long a claim lasts unless renewed (QUEUE_LEASE_MS). */
  readonly leaseMs: number;
  /** QUEUE_ACK_REPLICAS: replicas that must hold a letter before it counts as stored (0: the primary's word). */
  readonly ackReplicas: number;
  /** With ackReplicas: the connection appends and their WAIT go over (WAIT blocks its connection). */
  readonly ackConnection?: RedisConnection | undefined;
  /** The store came back without the spool's data: shards lost, webhooks they held as last seen. */
  readonly onReset?: (shards: readonly number[], lost: number) => void;
}

/** The figures a shard last answered with. */
interface ShardView {
  next: number;
  depth: number;
  bytes: number;
  /** Its alive marker has been seen: a missing one now means the store lost its data. */
  marked: boolean;
  /** Calls sent to the shard, and the latest whose figures were taken in: an answer to an older call never overwrites a newer one's. */
  sent: number;
  seen: number;
}

type Reply = unknown;

/** How often a claim asks every shard, not only those known to have work due (ms). */
const SWEEP_MS = 200;

export class RedisSpool implements Spool {
  readonly shared = true;
  /** This process, in the claims it holds. */
  private readonly owner = randomUUID();
  private readonly prefixes: readonly string[];
  private readonly views: ShardView[];
  /** Where the next claim starts, so that no shard starves another. */
  private cursor = 0;
  /** Orders dead letters that die in the same millisecond. */
  private deadSerial = 0;
  /** When every shard was last asked for work (performance.now()). */
  private sweptAt = -Infinity;

  constructor(
    private readonly connection: RedisConnection,
    private readonly options: RedisSpoolOptions,
  ) {
    this.prefixes = shardTags(options.shards).map((tag) => `${options.prefix}{${tag}}:`);
    this.views = this.prefixes.map(() => ({ next: Infinity, depth: 0, bytes: 0, marked: false, sent: 0, seen: 0 }));
    for (const c of new Set([connection, options.ackConnection ?? connection])) defineScripts(c.client);
    // Each (re)connection: read the figures, and find out whether the store lost them.
    connection.onReady(() => void this.stats(Date.now()).catch(() => {}));
  }

  ready(): Promise<void> {
    return this.connection.ready();
  }

  /**
   * Stores a letter; with QUEUE_ACK_REPLICAS, only once the replicas confirm it. QUEUE_MAX_BYTES
   * is checked against every shard's bytes as last seen, and the shard's own in its script.
   */
  async append(letter: Letter): Promise<AppendResult> {
    const bytes = letterBytes(letter);
    if (this.views.reduce((sum, v) => sum + v.bytes, 0) + bytes > this.options.maxBytes) return 'full';
    const mailbox = mailboxOf(letter);
    const shard = shardOf(mailbox, this.options.shards);
    const via = this.options.ackConnection ?? this.connection;
    const args = [letter.id, mailbox, letter.arrivedAt, this.options.maxBytes, bytes, packLetter(letter, bytes), letter.key === undefined ? 1 : 0];
    const ticket = this.ticket(shard);
    const [stored, figures] = list(await this.run('append', shard, mailbox, args, via));
    this.see(shard, figures, ticket);
    if (Number(stored) !== 1) return 'full';
    if (this.options.ackReplicas === 0) return 'stored';
    if (await ackedByReplicas(via, this.prefixes[shard]!, this.options.ackReplicas, this.options.timeoutMs)) return 'stored';
    const withdrawn = await this.run('withdraw', shard, mailbox, [letter.id, mailbox]).catch(() => 0);
    return Number(withdrawn) === 1 ? 'unreplicated' : 'unreplicated-in-flight';
  }

  async claim(now: number, max: number): Promise<Claimed[]> {
    const claimed: Claimed[] = [];
    // Rounds: the shards in line share the room; one that filled its share may have more, and
    // goes to the back of the line.
    const line = this.shardsDueAt(now);
    this.cursor = (this.cursor + 1) % this.options.shards;
    while (claimed.length < max && line.length > 0) {
      const room = max - claimed.length;
      const round = line.splice(0, room);
      const shares = round.map((shard, i) => ({ shard, share: Math.floor(room / round.length) + (i < room % round.length ? 1 : 0) }));
      const batches = await Promise.all(shares.map(({ shard, share }) => this.claimIn(shard, now, share)));
      shares.forEach(({ shard, share }, i) => {
        if (batches[i]!.length === share) line.push(shard);
      });
      for (const batch of batches) claimed.push(...batch);
    }
    return claimed;
  }

  async settle(claimed: Claimed, settlement: Settlement, now: number): Promise<void> {
    const at = settlement.kind === 'retry' || settlement.kind === 'hold' ? settlement.at : now;
    const early = settlement.kind === 'retry' && settlement.early === true ? 1 : 0;
    const reason = settlement.kind === 'dead' ? settlement.reason : '';
    const { letter } = claimed;
    const mailbox = mailboxOf(letter);
    const shard = shardOf(mailbox, this.options.shards);
    const deadScore = now * 1024 + (this.deadSerial++ % 1024);
    const ticket = this.ticket(shard);
    const [, figures] = list(await this.run('settle', shard, mailbox, [mailbox, letter.id, this.owner, settlement.kind, now, at, early, reason, deadScore]));
    this.see(shard, figures, ticket);
    // Settled either way: a trim that fails is made at the next dead letter.
    if (settlement.kind === 'dead') await this.trimDead().catch(() => {});
  }

  async renew(claimed: Claimed, now: number): Promise<boolean> {
    const mailbox = mailboxOf(claimed.letter);
    const shard = shardOf(mailbox, this.options.shards);
    return Number(await this.run('renew', shard, mailbox, [mailbox, `${this.owner} ${claimed.letter.id}`, now + this.options.leaseMs])) === 1;
  }

  async wake(now: number): Promise<number> {
    const woken = await this.everyShard((shard) => this.run('wake', shard, undefined, [now]));
    // Made due now: the next claim asks those shards.
    woken.forEach((n, shard) => {
      if (Number(n) > 0) this.views[shard]!.next = Math.min(this.views[shard]!.next, now);
    });
    return woken.reduce<number>((sum, n) => sum + Number(n), 0);
  }

  /** From the figures the shards last answered with (other replicas' work is found by polling). */
  nextDueAt(): number | undefined {
    const next = Math.min(...this.views.map((v) => v.next));
    return Number.isFinite(next) ? next : undefined;
  }

  depth(): number {
    return this.views.reduce((sum, v) => sum + v.depth, 0);
  }

  async stats(now: number): Promise<SpoolStats> {
    const tickets = this.views.map((_v, shard) => this.ticket(shard));
    const replies = await this.everyShard((shard) => this.run('stats', shard, undefined, []));
    const total = { depth: 0, keyless: 0, bytes: 0, mailboxes: 0, inFlight: 0, oldestAt: now, dead: 0, deadDropped: 0 };
    const reset: number[] = [];
    let lost = 0;
    replies.forEach((reply, shard) => {
      const [depth, keyless, bytes, due, leases, oldest, dead, dropped, missing] = list(reply).map((v) => String(v));
      const view = this.views[shard]!;
      if (missing === '1' && view.marked) {
        reset.push(shard);
        lost += view.depth;
      }
      view.marked = true;
      if (tickets[shard]! > view.seen) {
        view.seen = tickets[shard]!;
        view.depth = Number(depth);
        view.bytes = Number(bytes);
      }
      total.depth += Number(depth);
      total.keyless += Number(keyless);
      total.bytes += Number(bytes);
      total.mailboxes += Number(due) + Number(leases);
      total.inFlight += Number(leases);
      if (oldest !== '' && Number(oldest) < total.oldestAt) total.oldestAt = Number(oldest);
      total.dead += Number(dead);
      total.deadDropped += Number(dropped);
    });
    if (reset.length > 0) this.options.onReset?.(reset, lost);
    const { oldestAt, ...figures } = total;
    return { ...figures, oldestAgeMs: Math.max(0, now - oldestAt) };
  }

  async pendingFor(key: string, max: number): Promise<readonly WaitingLetter[]> {
    const mailbox = mailboxOf({ key, id: '' });
    const [letters, tried] = list(await this.run('peek', shardOf(mailbox, this.options.shards), mailbox, [max]));
    const attempts = Number(String(tried).split(' ')[0] || 0);
    return list(letters).map((packed, i) => ({ ...packedHead(asBuffer(packed)), attempts: i === 0 ? attempts : 0 }));
  }

  async deadLetters(): Promise<readonly DeadLetter[]> {
    const replies = await this.everyShard((shard) => this.run('dead', shard, undefined, [this.options.maxDead]));
    const dead: { score: number; letter: DeadLetter }[] = [];
    for (const reply of replies) {
      for (const entry of list(reply)) {
        const [, score, packed, info] = list(entry);
        try {
          const facts = deadFacts(String(info));
          dead.push({ score: Number(score), letter: { letter: unpackLetter(asBuffer(packed), facts.mailbox, undefined), ...facts.shown } });
        } catch (err) {
          logError(`delivery mailbox: a dead letter in Redis cannot be read (${messageOf(err)})`);
        }
      }
    }
    return dead.sort((a, b) => b.score - a.score).map((d) => d.letter);
  }

  async replay(id: string, now: number): Promise<boolean> {
    // QUEUE_MAX_BYTES bounds every shard together: each shard's script may use what the others
    // leave, as they stand now (a replay is an operator's act: the figures are read fresh).
    await this.stats(now);
    const total = this.views.reduce((sum, v) => sum + v.bytes, 0);
    // Only the shard holding it answers 1; a shard without room answers -1.
    const answers = await this.everyShard((shard) => {
      const room = this.options.maxBytes - (total - this.views[shard]!.bytes);
      return this.run('replay', shard, undefined, [id, now, room, `${this.prefixes[shard]}m:`]);
    });
    return answers.some((a) => Number(a) === 1);
  }

  async forget(id: string): Promise<boolean> {
    const answers = await this.everyShard((shard) => this.run('dropDead', shard, undefined, [0, id]));
    return answers.some((a) => Number(a) === 1);
  }

  /** The connection is shared: it is closed by its owner (the store backend's session). */
  close(): void {}

  /** Claims up to `max` heads in one shard. */
  private async claimIn(shard: number, now: number, max: number): Promise<Claimed[]> {
    const ticket = this.ticket(shard);
    const reply = list(await this.run('claim', shard, undefined, [now, now + this.options.leaseMs, this.owner, max, `${this.prefixes[shard]}m:`]));
    this.see(shard, reply.pop(), ticket);
    const claimed: Claimed[] = [];
    for (const entry of reply) {
      const [packed, attempt, , replayedAt, mailbox] = list(entry);
      try {
        claimed.push({ letter: unpackLetter(asBuffer(packed), String(mailbox), String(replayedAt) === '' ? undefined : Number(String(replayedAt))), attempt: Number(attempt) });
      } catch (err) {
        logError(`delivery mailbox: a stored webhook cannot be read (${messageOf(err)}); it stays in Redis`);
      }
    }
    return claimed;
  }

  /**
   * Shards that may have work due at `now`: earliest due first (a shard waiting longest goes
   * first, so none starves), ties from the cursor on. Every SWEEP_MS all shards are asked, for
   * what other replicas stored and for claims that ran out.
   */
  private shardsDueAt(now: number): number[] {
    const sweep = performance.now() - this.sweptAt >= SWEEP_MS;
    if (sweep) this.sweptAt = performance.now();
    const due: number[] = [];
    for (let i = 0; i < this.options.shards; i++) {
      const shard = (this.cursor + i) % this.options.shards;
      if (sweep || this.views[shard]!.next <= now) due.push(shard);
    }
    // Known due first, oldest first (stable: ties keep the cursor's turn); the swept ones after.
    return due.sort((a, b) => (this.views[a]!.next === this.views[b]!.next ? 0 : this.views[a]!.next < this.views[b]!.next ? -1 : 1));
  }

  /**
   * Keeps at most DEAD_LETTER_MAX across the shards, dropping the oldest: counts first, then only
   * the ids and times of each shard's oldest (a dead letter is not read whole to be dropped).
   */
  private async trimDead(): Promise<void> {
    const deadKey = (shard: number) => `${this.prefixes[shard]}dead`;
    const counts = await this.everyShard((shard) => this.connection.call(this.options.timeoutMs, (c) => c.zcard(deadKey(shard))));
    const excess = counts.reduce<number>((sum, n) => sum + Number(n), 0) - this.options.maxDead;
    if (excess <= 0) return;
    const oldestOf = await this.everyShard((shard) => this.connection.call(this.options.timeoutMs, (c) => c.zrange(deadKey(shard), '0', String(excess - 1), 'WITHSCORES')));
    const candidates = oldestOf.flatMap((reply, shard) => {
      const flat = list(reply).map(String);
      return flat.flatMap((id, i) => (i % 2 === 0 ? [{ shard, id, score: Number(flat[i + 1]) }] : []));
    });
    const oldest = candidates.sort((a, b) => a.score - b.score).slice(0, excess);
    const byShard = new Map<number, string[]>();
    for (const d of oldest) byShard.set(d.shard, [...(byShard.get(d.shard) ?? []), d.id]);
    await Promise.all([...byShard].map(([shard, ids]) => this.run('dropDead', shard, undefined, [1, ...ids])));
  }

  private everyShard(run: (shard: number) => Promise<Reply>): Promise<Reply[]> {
    return Promise.all(this.prefixes.map((_p, shard) => run(shard)));
  }

  /** Runs a script on one shard, its keys named as the script declares them. */
  private run(name: ScriptName, shard: number, mailbox: string | undefined, args: readonly (string | number | Buffer)[], via = this.connection): Promise<Reply> {
    const prefix = this.prefixes[shard]!;
    const keys = SCRIPTS[name].keys.map((k: ShardKey) => (k === 'mailbox' ? `${prefix}m:${mailbox ?? ''}` : prefix + k));
    return via.call(this.options.timeoutMs, (client) => {
      // The Buffer variant keeps bodies as bytes.
      const command: unknown = Reflect.get(client, `spool_${name}Buffer`);
      if (typeof command !== 'function') throw new Error(`ioredis did not define spool_${name}`);
      return Promise.resolve(command.apply(client, [...keys, ...args]));
    });
  }

  /** Numbers a call to `shard`, taken just before it is sent (calls are sent in that order). */
  private ticket(shard: number): number {
    return ++this.views[shard]!.sent;
  }

  /** Takes in a shard's figures {next due, depth, bytes}, unless a later call's are in already. */
  private see(shard: number, figures: unknown, ticket: number): void {
    const [next, depth, bytes] = list(figures).map((v) => String(v));
    const view = this.views[shard]!;
    if (ticket <= view.seen) return;
    view.seen = ticket;
    view.next = next === '' || next === undefined ? Infinity : Number(next);
    view.depth = Number(depth ?? 0);
    view.bytes = Number(bytes ?? 0);
  }
}

function defineScripts(client: RedisClient): void {
  for (const [name, script] of Object.entries(SCRIPTS)) {
    if (Reflect.get(client, `spool_${name}`) === undefined) client.defineCommand(`spool_${name}`, { numberOfKeys: script.keys.length, lua: script.lua });
  }
}

function list(reply: unknown): unknown[] {
  return Array.isArray(reply) ? reply : [];
}

function asBuffer(value: unknown): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(String(value ?? ''));
}

/** A dead letter's facts, from its JSON {a: attempts, f: first, l: last, r: reason, mb}: those shown, and its mailbox. */
function deadFacts(text: string): { shown: Omit<DeadLetter, 'letter'>; mailbox: string } {
  let info: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) info = Object.fromEntries(Object.entries(parsed));
  } catch {
    // Shown with what is known.
  }
  const num = (v: unknown) => (v === undefined || v === '' || v === '0' ? undefined : Number(v));
  return {
    shown: { attempts: Number(info.a ?? 0), firstAttemptAt: num(info.f), lastAttemptAt: Number(info.l ?? 0), reason: String(info.r ?? '') },
    mailbox: String(info.mb ?? ''),
  };
}
