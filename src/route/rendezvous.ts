/**
 * Hash mode's route: the key's rendezvous order over the available UPSTREAMS (a keyless request
 * takes them in turn); a refused connection moves on to the next, up to RETRIES more.
 */
import { rendezvousOrder } from '../affinity/hash';
import { PoolMember, type UpstreamPool } from '../upstream/pool';
import type { Route } from './route';

export function rendezvousRoute(pool: UpstreamPool, retries: number): Route {
  // The candidates are the pool's members themselves: health reports go straight to them.
  return {
    candidates: (key) => pool.candidates(key),
    attempts: retries + 1,
    answered(candidate) {
      if (candidate instanceof PoolMember) pool.reportSuccess(candidate);
    },
    unreachable(candidate, reason) {
      if (candidate instanceof PoolMember) pool.reportFailure(candidate, reason);
    },
    heldUntil(key, holdMs, now) {
      if (key === undefined) return undefined;
      const own = rendezvousOrder(key, pool.members)[0];
      if (own === undefined || pool.isAvailable(own)) return undefined;
      const until = own.changedAt + holdMs;
      return until > now ? until : undefined;
    },
    retryAfterSeconds: () => pool.retryAfterSeconds(),
    pool,
    close: () => pool.close(),
  };
}
