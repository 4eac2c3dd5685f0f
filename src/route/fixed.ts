/**
 * The fixed route of header, cookie and both modes: every request goes to TARGET_URL, and the
 * load balancer behind it does the choosing.
 */
import { forwardTarget } from '../upstream/sender';
import type { Candidate, Route } from './route';
import { redactUrl } from '../config/redact';

export function fixedRoute(target: URL): Route {
  // One array for every request: nothing is allocated per request.
  // Its id is what metrics and logs show: never with a password in it.
  const only: readonly Candidate[] = [{ id: redactUrl(target.href), target: forwardTarget(target) }];
  return {
    candidates: () => only,
    attempts: 1,
    answered() {},
    unreachable() {},
    // The load balancer behind TARGET_URL does its own waiting.
    heldUntil: () => undefined,
    retryAfterSeconds: () => 1,
    pool: undefined,
    close() {},
  };
}
