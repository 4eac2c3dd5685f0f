/**
 * UPSTREAM_TIMEOUT_MS for every upstream request at once: one timer looks at the agents'
 * connections in use and destroys those that have moved no byte either way for the timeout.
 * The request on that connection then fails with UPSTREAM_TIMEOUT (504, or a cut connection
 * when the answer had begun).
 *
 * Why not `proxyReq.setTimeout()`: per request it adds and removes listeners and re-arms a timer,
 * a measurable share of a forward (README, Performance); this costs nothing per request. (A
 * Map of requests in flight was tried too: young keys in a long-lived Map made V8's scavenges
 * copy far more, and cost more than the listeners.) Node's own server enforces its header and
 * request timeouts the same way (connectionsCheckingInterval). The price is precision: a stall
 * is noticed up to one sweep interval late (a quarter of the timeout, at most a second).
 */
import type { Agent } from 'node:http';
import type { Socket } from 'node:net';
import { upstreamTimeout } from '../errors';

/** What the last sweep saw of one connection: its byte count and since when. */
interface Progress {
  readonly bytes: number;
  readonly since: number;
}

export interface StallWatch {
  close(): void;
}

/** How often the sweep runs for a given timeout. */
function sweepIntervalMs(timeoutMs: number): number {
  return Math.max(5, Math.min(1000, Math.floor(timeoutMs / 4)));
}

export function watchForStalls(agents: readonly Agent[], timeoutMs: number): StallWatch {
  // Only connections in use are kept: one that went back to the pool is forgotten, and its next
  // request starts a fresh count.
  let seen = new Map<Socket, Progress>();

  const sweep = (): void => {
    const t = performance.now();
    const next = new Map<Socket, Progress>();
    for (const agent of agents) {
      for (const sockets of Object.values(agent.sockets)) {
        for (const socket of sockets ?? []) {
          const bytes = socket.bytesRead + socket.bytesWritten;
          const before = seen.get(socket);
          if (before === undefined || before.bytes !== bytes) next.set(socket, { bytes, since: t });
          else if (t - before.since >= timeoutMs) socket.destroy(upstreamTimeout(timeoutMs));
          else next.set(socket, before);
        }
      }
    }
    seen = next;
  };
  const timer = setInterval(sweep, sweepIntervalMs(timeoutMs));
  timer.unref();

  return {
    close() {
      clearInterval(timer);
      seen.clear();
    },
  };
}
