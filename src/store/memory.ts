/**
 * The embedded default store: an LRU map bounded by entry count, with per-entry TTLs.
 */
import { LRUCache } from 'lru-cache';
import type { AffinityStore, Clock } from './store';

export interface MemoryStoreOptions {
  /** Most keys kept; the least recently used is evicted beyond it. */
  readonly maxEntries: number;
  /** Time source for expiry (default Date.now). */
  readonly clock?: Clock;
}

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
  get size(): number {
    return this.cache.size;
  }

  async get(key: string): Promise<string | undefined> {
    return this.cache.get(key);
  }

  getSync(key: string): string | undefined {
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
}
