/**
 * The keeper beside a running proxy: its platforms from the configuration, its lease and memory
 * in the proxy's store, its reports turned into metrics and event lines (what was put right, and
 * a failing API once per change of state).
 */
import type { Registry } from 'prom-client';
import type { Config } from '../config/types';
import type { Clock } from '../core/clock';
import type { DeliveryIds } from '../dedupe/delivery-ids';
import { logError } from '../log';
import { waitBriefly } from '../store/backends';
import { keptPlatforms } from './from-config';
import { startKeeper, type Keeper } from './keeper';
import { keeperMetrics } from './metrics';

/** Starts the keeper when a platform's credentials are set; undefined otherwise. */
export function keeperFor(config: Config, ids: DeliveryIds, registry: Registry, clock: Clock, timers = true): Keeper | undefined {
  const platforms = keptPlatforms(config, ids);
  if (platforms.length === 0) return undefined;
  const record = keeperMetrics(registry);
  const lastState = new Map<string, string>();
  return startKeeper({
    platforms,
    intervalMs: config.keeperIntervalMs,
    clock,
    timers,
    // Held for two intervals: a late tick of the same interval still finds it taken. A store
    // still connecting is given its brief patience first (the first look follows the start).
    lease: async (window) => {
      await waitBriefly(ids);
      return ids.claim(`keeper-lease:${window}`, 2 * config.keeperIntervalMs);
    },
    onReport: (report) => {
      record(report);
      for (const line of [...report.changes, ...(report.notices ?? [])]) logError(`keeper: ${line}`);
      const before = lastState.get(report.platform);
      if (report.state === 'failing' && before !== 'failing') logError(`keeper: ${report.platform}: ${report.detail}; looked at again later, less often while it fails`);
      if (report.state !== 'failing' && before === 'failing') logError(`keeper: ${report.platform}: its API answers again`);
      lastState.set(report.platform, report.state);
    },
  });
}
