/**
 * The delivery ids seen lately (DEDUPE): a platform that re-sends a delivery (Slack after 3 s,
 * Teams after 15 s, Telegram, GitHub redeliveries) sends the same id, and the copy is answered
 * without reaching the bot. An id is claimed when its delivery arrives, and released when that
 * delivery failed, so the platform's next copy goes through.
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../core/clock';
import type { Maybe } from '../core/maybe';

export interface DeliveryIds {
  /** True when `id` was not claimed within the last `ttlMs` (now it is); false for a copy. */
  claim(id: string, ttlMs: number): Maybe<boolean>;
  /** Forgets `id`: its delivery failed, and the next copy should go through. */
  release(id: string): Maybe<void>;
  /** Resolves once claims can succeed (a networked store: connected); the proxy waits briefly for it. */
  ready(): Promise<void>;
  /** Releases connections. */
  close(): Maybe<void>;
}

/** In this process: an LRU bounded like the affinity map, each id with its TTL. */
export function memoryDeliveryIds(maxEntries: number, clock: Clock): DeliveryIds {
  const seen = new LRUCache<string, true>({ max: maxEntries, ttlAutopurge: false, ttlResolution: 0, perf: { now: clock } });
  return {
    claim(id, ttlMs) {
      if (seen.get(id) !== undefined) return false;
      seen.set(id, true, { ttl: Math.max(1, ttlMs) });
      return true;
    },
    release(id) {
      seen.delete(id);
    },
    ready: async () => {},
    close() {
      seen.clear();
    },
  };
}
