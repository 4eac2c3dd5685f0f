/**
 * The embedded default store: an LRU map bounded by entry count, with per-entry TTLs.
 */
import { LRUCache } from 'lru-cache';
import type { EnvReader } from '../config/env-reader';
import { memoryDeliveryIds } from '../dedupe/delivery-ids';
import { MemorySpool } from '../delivery/memory-spool';
import type { StoreBackend } from './backend';
import type { AffinityStore, StoreHealth } from './store';
import type { Clock } from '../core/clock';

export interface MemoryStoreOptions {
  /** Most keys kept; the least recently used is evicted beyond it (AFFINITY_MAX_ENTRIES). */
  readonly maxEntries: number;
  /** Time source for expiry (default Date.now). */
  readonly clock?: Clock;
}

const HEALTH: StoreHealth = { remote: false, up: true, detail: 'in memory' };

export class MemoryStore implements AffinityStore {
  private readonly cache: LRUCache<string, string>;

  constructor(options: MemoryStoreOptions) {
    if (!Number.isSafeInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`maxEntries must be a whole number ≥ 1, got ${options.maxEntries}`);
    }
    const clock = options.clock ?? Date.now;
    this.cache = new LRUCache<string, string>({
      max: options.maxEntries,
      // Per-entry TTLs, checked lazily on read against the injected clock: no timers.
      ttlAutopurge: false,
      // lru-cache would otherwise cache the time for 1 ms behind a setTimeout per refresh: a
      // timer every other webhook, where reading the clock costs less.
      ttlResolution: 0,
      perf: { now: clock },
    });
  }

  /** How many keys are held (expired ones included until they are read or evicted). */
  size(): number {
    return this.cache.size;
  }

  get(key: string): string | undefined {
    return this.cache.get(key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.cache.set(key, value, { ttl: Math.max(1, Math.ceil(ttlMs)) });
  }

  async delete(key: string): Promise<void> {
    this.cache.delete(key);
  }

  async close(): Promise<void> {
    this.cache.clear();
  }

  async ready(): Promise<void> {}

  health(): StoreHealth {
    return HEALTH;
  }
}

/** STORE=memory: AFFINITY_MAX_ENTRIES bounds it; each process (worker) has its own. */
export const memoryBackend: StoreBackend<{ readonly maxEntries: number }> = {
  shared: false,
  readOptions: (read: EnvReader) => ({ maxEntries: read.integer('AFFINITY_MAX_ENTRIES', 100_000, 1, 100_000_000) }),
  describe: () => 'memory',
  connect: (options, { clock }) => ({
    store: () => new MemoryStore({ maxEntries: options.maxEntries, clock }),
    spool: ({ maxBytes, maxDead }) => new MemorySpool({ maxBytes, maxDead }),
    deliveryIds: () => memoryDeliveryIds(options.maxEntries, clock),
    close: async () => {},
  }),
};
