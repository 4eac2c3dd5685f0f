/**
 * Cookie mode: learn the sticky cookie the load balancer sets in its answer for a key
 * (AWSALB, SERVERID, ...) and send it back with that key's next webhooks.
 */
import { messageOf } from '../errors';
import { log, logError } from '../log';
import type { AffinityStore } from '../store/store';
import type { Clock } from '../core/clock';
import { mapMaybe } from '../core/maybe';
import { throttled } from '../throttle';
import { applySetCookies, cookieHeader, decodeJar, encodeJar, jarExpiry } from './cookie-jar';
import type { AffinityStrategy, KeyedExchange, StrategyContext } from './strategy';

export interface CookieAffinityOptions {
  readonly store: AffinityStore;
  /** Affinity cookie names, or '*' for every cookie the upstream sets. */
  readonly names: ReadonlySet<string> | '*';
  readonly ttlMs: number;
  readonly clock: Clock;
  /** Told how each lookup went. */
  readonly onLookup?: ((result: 'hit' | 'miss' | 'error') => void) | undefined;
  /** Told about each dropped write. */
  readonly onWriteFailed?: (() => void) | undefined;
}

function cookieAffinity(options: CookieAffinityOptions): AffinityStrategy {
  const { store, names, ttlMs, clock } = options;
  const accepts = names === '*' ? () => true : (name: string) => names.has(name);
  const keepInbound = (name: string) => !accepts(name);
  // A sick store fails every webhook's lookup: say so once per interval, not per request.
  const report = throttled(logError, 10_000, clock);
  const storeTrouble = (operation: 'read' | 'write', err: unknown): void => {
    if (operation === 'read') options.onLookup?.('error');
    else options.onWriteFailed?.();
    report(`affinity store ${operation} failed (${messageOf(err)}): forwarded without the learned cookie`);
  };

  /** Puts the key's learned cookies (from `stored`) into the request's Cookie header. */
  const replay = (exchange: KeyedExchange, stored: string | undefined, failed: boolean): void => {
    const jar = decodeJar(stored, clock());
    if (!failed) options.onLookup?.(jar.length > 0 ? 'hit' : 'miss');
    exchange.jar = jar;
    // A caller's own affinity cookies are dropped, so it cannot pin this key elsewhere.
    const cookie = cookieHeader(exchange.headers.cookie, jar, keepInbound);
    if (cookie !== undefined) {
      exchange.upstreamHeaders ??= {};
      exchange.upstreamHeaders.cookie = cookie;
    } else if (exchange.headers.cookie !== undefined) delete exchange.headers.cookie;
    if (jar.length > 0) log.cookie('replay %d cookie(s) for key %k', jar.length, exchange.key);
  };

  return {
    apply(exchange) {
      let stored: ReturnType<AffinityStore['get']>;
      try {
        stored = store.get(exchange.key);
      } catch (err) {
        storeTrouble('read', err);
        replay(exchange, undefined, true);
        return;
      }
      // An in-process store answers at once: the request goes on in this tick.
      return mapMaybe(
        stored,
        (value) => replay(exchange, value, false),
        (err) => {
          storeTrouble('read', err);
          replay(exchange, undefined, true);
        },
      );
    },

    learn(exchange: KeyedExchange, answer) {
      const setCookies = answer.headers['set-cookie'];
      if (setCookies === undefined || setCookies.length === 0) return;
      const now = clock();
      const next = applySetCookies(exchange.jar ?? [], setCookies, { accepts, now, ttlMs });
      if (next === undefined) return;
      exchange.jar = next;
      const write = next.length === 0 ? store.delete(exchange.key) : store.set(exchange.key, encodeJar(next), jarExpiry(next) - now);
      write.catch((err: unknown) => storeTrouble('write', err));
      log.cookie('learned %d cookie(s) for key %k', next.length, exchange.key);
    },
  };
}

/** The mode table's entry: AFFINITY_COOKIES learned into the store, replayed from it. */
export function cookieStrategy({ config, store, clock, observer }: StrategyContext): AffinityStrategy {
  if (store === undefined) throw new Error('cookie affinity needs a store: the mode table must say it learns');
  return cookieAffinity({
    store,
    names: config.affinityCookies,
    ttlMs: config.affinityTtlMs,
    clock,
    onLookup: observer.storeLookup,
    onWriteFailed: observer.storeWriteFailed,
  });
}
