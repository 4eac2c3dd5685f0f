/**
 * The strategies a mode uses, built from the configuration.
 */
import type { Config } from '../config';
import type { ProxyObserver } from '../observer';
import type { AffinityStore, Clock } from '../store/store';
import { cookieAffinity } from './cookie';
import { headerAffinity } from './header';
import type { AffinityStrategy } from './strategy';

/** The strategies of config.mode, in the order they apply (header before cookie in both mode). */
export function strategiesFor(config: Config, store: AffinityStore | undefined, clock: Clock, observer: ProxyObserver): AffinityStrategy[] {
  const header = () => (config.affinityHeader === undefined ? [] : [headerAffinity(config.affinityHeader)]);
  const cookie = () => [
    cookieAffinity({
      store: store!,
      names: config.affinityCookies,
      ttlMs: config.affinityTtlMs,
      clock,
      onLookup: observer.storeLookup,
      onWriteFailed: observer.storeWriteFailed,
    }),
  ];
  switch (config.mode) {
    case 'header':
    case 'hash': // the upstream is chosen by the pool; the header lets the bot read the key
      return header();
    case 'cookie':
      return cookie();
    case 'both':
      return [...header(), ...cookie()];
  }
}
