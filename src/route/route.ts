/**
 * The routing seam: for each request, the upstreams to try, best first. One implementation per
 * policy (compare Caddy's reverseproxy Selector): a fixed target, or a rendezvous pool by key.
 */
import type { Candidate } from '../upstream/sender';
import type { UpstreamPool } from '../upstream/pool';

// One upstream a request may be sent to: an upstream's notion, named here for the routes.
export type { Candidate } from '../upstream/sender';

export interface Route {
  /** The upstreams to try for a request with `key` (or without one), best first; empty: none now. */
  candidates(key: string | undefined): readonly Candidate[];
  /** Most candidates tried for one request: the next only when the previous could not be connected to. */
  readonly attempts: number;
  /** `candidate` answered (any status: it is alive). */
  answered(candidate: Candidate): void;
  /** A connection to `candidate` could not be made. */
  unreachable(candidate: Candidate, reason: string): void;
  /**
   * The delivery mailbox's hold: when `key`'s own upstream went down less than `holdMs` ago, the
   * time until which its webhooks wait for it rather than move; otherwise undefined.
   */
  heldUntil(key: string | undefined, holdMs: number, now: number): number | undefined;
  /** Seconds until something may be available again: Retry-After of a 503. */
  retryAfterSeconds(): number;
  /** The pool behind the route, when there is one (health for the admin listener and metrics). */
  readonly pool: UpstreamPool | undefined;
  /** Stops timers (health probes). Idempotent. */
  close(): void;
}
