/**
 * The store the configuration asks for: the embedded memory map, or Redis shared by replicas.
 */
import type { Config } from '../config';
import { redactUrl } from '../config';
import { log, logError } from '../log';
import { throttled } from '../throttle';
import { MemoryStore } from './memory';
import { RedisStore } from './redis';
import type { AffinityStore, Clock } from './store';

export function createStore(config: Config, clock: Clock): AffinityStore {
  if (config.store === 'memory') return new MemoryStore({ maxEntries: config.affinityMaxEntries, clock });
  const where = redactUrl(config.redisUrl);
  const report = throttled(logError, 10_000, clock);
  const store = new RedisStore({
    url: config.redisUrl,
    prefix: config.redisPrefix,
    timeoutMs: config.storeTimeoutMs,
    onConnectionError: (err) =>
      report(`affinity store: Redis at ${where} unreachable (${(err as NodeJS.ErrnoException).code ?? err.message}); webhooks are forwarded without learned cookies until it returns`),
  });
  store.waitUntilReady().then(
    () => log.store('connected to Redis at %s (prefix %s)', where, config.redisPrefix),
    () => {}, // reported through onConnectionError
  );
  return store;
}
