/**
 * The keeper: every KEEPER_INTERVAL_S, the platforms' webhook registrations are looked at and
 * put right (keeper/webex.ts, telegram.ts, github.ts). One replica of the fleet acts: intervals
 * are numbered from the clock, and each is claimed in the store (the delivery ids' claim, shared
 * by replicas: the first claim wins). The replica that holds an interval claims the next one
 * too, so it keeps the lease while it lives; when it dies, the interval after its last goes to
 * whichever replica claims it first: another takes over within two intervals. A platform whose API fails is looked at less often (up to 16 intervals apart), or
 * after the wait it asked for.
 */
import type { Clock } from '../core/clock';
import { isPending, type Maybe } from '../core/maybe';
import { messageOf } from '../errors';
import { logError } from '../log';
import type { KeeperReport, KeptPlatform } from './platform';

export interface KeeperOptions {
  readonly platforms: readonly KeptPlatform[];
  readonly intervalMs: number;
  readonly clock: Clock;
  /** True when this replica acts in the interval numbered `window` (first claim wins). */
  readonly lease: (window: number) => Maybe<boolean>;
  /** Each check's report, as it comes. */
  readonly onReport: (report: KeeperReport) => void;
  /** False: no timer, rounds are run by calling round() (tests). Default true. */
  readonly timers?: boolean;
}

export interface Keeper {
  /** Each platform's latest report (none before its first check). */
  reports(): readonly KeeperReport[];
  /** Whether this replica acted in the latest interval. */
  readonly acting: boolean;
  /** One round now: what the timer runs. */
  round(): Promise<void>;
  close(): void;
}

export function startKeeper(options: KeeperOptions): Keeper {
  const latest = new Map<string, KeeperReport>();
  const backoff = new Map<string, { failures: number; nextAt: number }>();
  let acting = false;
  /** The intervals this replica holds the lease for. */
  const held = new Set<number>();
  let running: Promise<void> | undefined;
  let closed = false;

  async function checkOne(platform: KeptPlatform, now: number): Promise<void> {
    const wait = backoff.get(platform.name);
    if (wait !== undefined && now < wait.nextAt) return;
    let report: KeeperReport;
    try {
      report = await platform.check(now);
    } catch (err) {
      report = { platform: platform.name, state: 'failing', detail: `internal error: ${messageOf(err)}`, checkedAt: now, figures: {}, changes: [] };
    }
    if (report.state === 'failing') {
      const failures = (wait?.failures ?? 0) + 1;
      // Looked at again 1, 2, 4, 8, then 16 intervals later (half an interval early: ticks drift),
      // or once the wait the API asked for is over, if that is later.
      const backedOff = now + options.intervalMs * (Math.min(2 ** (failures - 1), 16) - 0.5);
      backoff.set(platform.name, { failures, nextAt: Math.max(backedOff, now + (report.retryAfterMs ?? 0)) });
    } else backoff.delete(platform.name);
    latest.set(platform.name, report);
    options.onReport(report);
  }

  /** True when this replica holds `window` now, or claims it first. */
  async function hold(window: number): Promise<boolean> {
    if (held.has(window)) return true;
    const claim = options.lease(window);
    if (isPending(claim) ? await claim : claim) held.add(window);
    return held.has(window);
  }

  async function once(): Promise<void> {
    if (closed) return;
    const now = options.clock();
    const window = Math.floor(now / options.intervalMs);
    for (const old of held) if (old < window) held.delete(old);
    try {
      acting = await hold(window);
      // The holder claims the next interval too: the lease stays with it while it lives, and
      // runs out (another replica takes the interval after) when it dies.
      if (acting) await hold(window + 1).catch(() => false);
    } catch {
      // The store away: nobody can be sure to be alone; this interval is skipped.
      acting = false;
    }
    if (!acting) return;
    for (const platform of options.platforms) await checkOne(platform, now);
  }

  /** One round at a time: a round asked for while one runs shares it. */
  const round = (): Promise<void> => {
    running ??= once().finally(() => {
      running = undefined;
    });
    return running;
  };
  const tick = () => {
    // A bug in a report's handling, not the platform: said, and the next interval tries again.
    round().catch((err: unknown) => logError(`keeper: internal error: ${messageOf(err)}`));
  };
  const timers = options.timers ?? true;
  const timer = timers ? setInterval(tick, options.intervalMs).unref() : undefined;
  // The first look soon after start, not an interval later.
  const first = timers ? setTimeout(tick, 1000).unref() : undefined;

  return {
    reports: () => [...latest.values()],
    get acting() {
      return acting;
    },
    round,
    close() {
      closed = true;
      clearInterval(timer);
      clearTimeout(first);
    },
  };
}
