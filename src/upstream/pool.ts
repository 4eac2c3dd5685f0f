/**
 * The bot instances of hash mode and whether each is available. Choice (rendezvous order) asks
 * only `available`; health lives here: passive (connection failures), active (GET probes), and
 * a cool-down after which a passively failed upstream is tried again.
 */
import http from 'node:http';
import https from 'node:https';
import { log, logError } from '../log';
import { redactUrl } from '../config/redact';
import { latestOf } from '../throttle';
import { errnoOf } from '../errors';
import { murmur3, rendezvousOrder, type Scored } from '../affinity/hash';
import type { Config } from '../config/types';
import type { Clock } from '../core/clock';
import { forwardTarget, type Candidate, type ForwardTarget } from './sender';
import { getOrAdd } from '../core/get-or-add';

export interface PoolOptions {
  /** Consecutive failures that mark an upstream down (HEALTH_CHECK_FALL). */
  readonly fall: number;
  /** Consecutive probe successes that mark it up again (HEALTH_CHECK_RISE). */
  readonly rise: number;
  /** Without active checks: how long a passively downed upstream rests before it is tried again. */
  readonly coolDownMs: number;
  readonly clock?: Clock;
  /** Told whenever an upstream goes down or comes back. */
  readonly onChange?: ((upstream: PoolMember) => void) | undefined;
}

export interface HealthCheckOptions {
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** TARGET_INSECURE: probes of https instances skip the certificate check, as forwards do. */
  readonly insecure?: boolean;
}

export class PoolMember implements Scored, Candidate {
  readonly id: string;
  readonly seed: number;
  readonly target: ForwardTarget;
  /** Whether it takes traffic now, as far as health goes (see UpstreamPool.isAvailable). */
  up = true;
  /** Consecutive failures (passive or probe) while up; consecutive probe successes while down. */
  streak = 0;
  /** When it last went down or came back (the pool's clock); 0 before any change. */
  changedAt = 0;
  /** When a passively downed member may be tried again (no active checks). */
  retryAt = 0;
  /** Why it went down (the last failure: a probe's answer or error, a connection that failed); undefined while up. */
  downReason: string | undefined;

  constructor(readonly url: URL) {
    // Shown in metrics, logs and the status page: never with a password in it.
    this.id = redactUrl(url.href);
    // Hashed as written, so that keys stay where they were.
    this.seed = murmur3(url.href, 0);
    this.target = forwardTarget(url);
  }
}

export class UpstreamPool {
  readonly members: readonly PoolMember[];
  private readonly clock: Clock;
  private activeChecks = false;
  private check: HealthCheckOptions | undefined;
  /** Each member's probe on its way: a tick of the interval skips it rather than pile up sockets. */
  private readonly probing = new Map<PoolMember, Promise<void>>();
  private roundRobin = 0;
  private readonly stop = new AbortController();
  /** Each member's down/up lines for the operator: at most one per 5 s, the latest state always told. */
  private readonly announcers = new Map<PoolMember, (line: string) => void>();

  constructor(
    urls: readonly URL[],
    private readonly options: PoolOptions,
  ) {
    if (urls.length === 0) throw new RangeError('an upstream pool needs at least one upstream');
    this.members = urls.map((u) => new PoolMember(u));
    this.clock = options.clock ?? Date.now;
  }

  /** Up, or (without active checks) down long enough to deserve another try. */
  isAvailable(member: PoolMember): boolean {
    return member.up || (!this.activeChecks && this.clock() >= member.retryAt);
  }

  get anyAvailable(): boolean {
    return this.members.some((m) => this.isAvailable(m));
  }

  /**
   * The upstreams to try for a request, best first: the key's rendezvous order among the
   * available ones, or, without a key, the available ones starting at the next in turn.
   */
  candidates(key: string | undefined): PoolMember[] {
    if (key !== undefined) return rendezvousOrder(key, this.members).filter((m) => this.isAvailable(m));
    const available = this.members.filter((m) => this.isAvailable(m));
    if (available.length === 0) return available;
    const start = this.roundRobin++ % available.length;
    return [...available.slice(start), ...available.slice(0, start)];
  }

  /** Seconds until something may be available again: for Retry-After. */
  retryAfterSeconds(): number {
    if (this.activeChecks) return 1;
    const soonest = Math.min(...this.members.map((m) => m.retryAt)) - this.clock();
    return Math.max(1, Math.ceil(soonest / 1000));
  }

  /** A connection to `member` could not be made. */
  reportFailure(member: PoolMember, reason: string): void {
    if (!member.up) {
      // A retry after the cool-down failed: rest again.
      member.retryAt = this.clock() + this.options.coolDownMs;
      return;
    }
    member.streak++;
    if (member.streak >= this.options.fall) this.markDown(member, reason);
  }

  /** `member` answered (any status: it is alive). */
  reportSuccess(member: PoolMember): void {
    if (member.up) member.streak = 0;
    // Passive recovery only without probes: with them, only probes bring a member back.
    else if (!this.activeChecks) this.markUp(member);
  }

  /** Probes every member every `intervalMs`; 2xx/3xx within `timeoutMs` is healthy. */
  startHealthChecks(check: HealthCheckOptions): void {
    this.activeChecks = true;
    this.check = check;
    const tick = () => {
      for (const m of this.members) if (!this.probing.has(m)) void this.probe(m, check);
    };
    const timer = setInterval(tick, check.intervalMs);
    timer.unref();
    this.stop.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
    tick();
  }

  /**
   * One more round of probes, resolved when each has settled: a probe already on its way is
   * waited for first. (Tests move health on with it instead of waiting for the interval.)
   */
  async probeAll(): Promise<void> {
    const check = this.check;
    if (check === undefined) return;
    await Promise.all(
      this.members.map(async (m) => {
        await this.probing.get(m);
        await this.probe(m, check);
      }),
    );
  }

  /** Stops the probes (and any probe in flight). Idempotent. */
  close(): void {
    this.stop.abort();
  }

  private probe(member: PoolMember, check: HealthCheckOptions): Promise<void> {
    const settled = probe(new URL(check.path, member.url), check.timeoutMs, check.insecure === true, this.stop.signal).then((failure) => {
      this.probing.delete(member);
      this.judge(member, failure);
    });
    this.probing.set(member, settled);
    return settled;
  }

  /** Applies one probe's result (undefined: healthy; else why not): RISE successes bring a member up, FALL failures take it down. */
  private judge(member: PoolMember, failure: string | undefined): void {
    if (this.stop.signal.aborted) return;
    const healthy = failure === undefined;
    if (!healthy && !member.up) member.downReason = `health check failed: ${failure}`;
    if (healthy === member.up) {
      member.streak = 0;
      return;
    }
    member.streak++;
    if (healthy && member.streak >= this.options.rise) this.markUp(member);
    else if (!healthy && member.streak >= this.options.fall) this.markDown(member, `health check failed: ${failure}`);
  }

  private markDown(member: PoolMember, reason: string): void {
    member.up = false;
    member.downReason = reason;
    member.changedAt = this.clock();
    member.streak = 0;
    member.retryAt = this.clock() + this.options.coolDownMs;
    log.pool('%s is down: %s', member.id, reason);
    this.announce(member, `upstream ${member.id} is down (${reason}); its keys go to the next instance`);
    this.options.onChange?.(member);
  }

  private markUp(member: PoolMember): void {
    member.up = true;
    member.downReason = undefined;
    member.changedAt = this.clock();
    member.streak = 0;
    log.pool('%s is up', member.id);
    this.announce(member, `upstream ${member.id} is up again; its keys come back to it`);
    this.options.onChange?.(member);
  }

  private announce(member: PoolMember, line: string): void {
    getOrAdd(this.announcers, member, () => latestOf(logError, 5000))(line);
  }
}

/**
 * One GET; resolves undefined for a 2xx/3xx answer received whole within `timeoutMs` of the start
 * (connect to last byte: an upstream that trickles its answer is as unwell as a silent one), or
 * why not (`status 503`, `no answer within 2000 ms`, `ECONNREFUSED`, ...). Never rejects.
 */
function probe(url: URL, timeoutMs: number, insecure: boolean, stop: AbortSignal): Promise<string | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (failure: string | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      req.destroy();
      resolve(failure);
    };
    const get = url.protocol === 'https:' ? https.get : http.get;
    let answered = false;
    const req = get(url, { agent: false, signal: stop, rejectUnauthorized: !insecure, headers: { 'user-agent': 'webhook-affinity-health' } }, (res) => {
      answered = true;
      const status = res.statusCode ?? 0;
      res.on('end', () => settle(status >= 200 && status < 400 ? undefined : `status ${status}`));
      // After 'end' this changes nothing; before it, the answer was cut.
      res.on('close', () => settle('the answer was cut'));
      res.resume();
    });
    const deadline = setTimeout(() => settle(`no answer within ${timeoutMs} ms`), timeoutMs);
    deadline.unref();
    req.on('error', (err) => settle(errnoOf(err) || err.message));
    req.on('close', () => answered || settle('the connection closed'));
  });
}

/** Hash mode's pool as the configuration describes it, its probes started when configured. */
export function poolFromConfig(config: Config, clock: Clock, onChange: ((member: PoolMember) => void) | undefined): UpstreamPool {
  const pool = new UpstreamPool(config.upstreams, {
    fall: config.healthCheckFall,
    rise: config.healthCheckRise,
    coolDownMs: config.healthCheckIntervalMs,
    clock,
    onChange,
  });
  if (config.healthCheckPath !== undefined) {
    pool.startHealthChecks({ path: config.healthCheckPath, intervalMs: config.healthCheckIntervalMs, timeoutMs: config.healthCheckTimeoutMs, insecure: config.targetInsecure });
  }
  return pool;
}
