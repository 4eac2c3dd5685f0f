/**
 * Hash mode's route: the key's rendezvous order over the available UPSTREAMS (a keyless request
 * takes them in turn); a refused connection moves on to the next, up to RETRIES more.
 */
import type { UpstreamPool } from '../upstream/pool';
import type { Route } from './route';

export function rendezvousRoute(pool: UpstreamPool, retries: number): Route {
  const byId = new Map(pool.members.map((m) => [m.id, m]));
  return {
    candidates: (key) => pool.candidates(key),
    attempts: retries + 1,
    answered(candidate) {
      const member = byId.get(candidate.id);
      if (member !== undefined) pool.reportSuccess(member);
    },
    unreachable(candidate, reason) {
      const member = byId.get(candidate.id);
      if (member !== undefined) pool.reportFailure(member, reason);
    },
    retryAfterSeconds: () => pool.retryAfterSeconds(),
    pool,
    close: () => pool.close(),
  };
}
