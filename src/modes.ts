/**
 * The affinity modes (AFFINITY_MODE) and what each one is, declared once: everything else reads
 * this table. Adding a mode is its name in core/mode-names.ts and a line here, plus a strategy
 * file when it adds affinity in a new way.
 */
import { cookieStrategy } from './affinity/cookie';
import { headerStrategy } from './affinity/header';
import type { StrategyFactory } from './affinity/strategy';
import type { RouteName } from './route/routes';
import { AFFINITY_MODES, type AffinityMode } from './core/mode-names';

export { AFFINITY_MODES, type AffinityMode };

export interface Mode {
  /** What is added to a request that has a key, in this order. */
  readonly strategies: readonly StrategyFactory[];
  /** Where requests go: `target` is TARGET_URL, `pool` the UPSTREAMS chosen by key. */
  readonly route: RouteName;
  /** Learns affinity from the answers: it needs STORE (and a shared one with WORKERS > 1). */
  readonly learns: boolean;
}

export const MODES: { readonly [M in AffinityMode]: Mode } = {
  header: { strategies: [headerStrategy], route: 'target', learns: false },
  cookie: { strategies: [cookieStrategy], route: 'target', learns: true },
  both: { strategies: [headerStrategy, cookieStrategy], route: 'target', learns: true },
  hash: { strategies: [headerStrategy], route: 'pool', learns: false },
};

/** The traits of `mode`. */
export function modeOf(mode: AffinityMode): Mode {
  return MODES[mode];
}
