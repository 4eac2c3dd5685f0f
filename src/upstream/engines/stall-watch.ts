/**
 * UPSTREAM_TIMEOUT_MS for every upstream request at once: one timer looks at the agents'
 * connections in use and destroys those that have moved no byte either way for the timeout; the
 * request on it then fails with UPSTREAM_TIMEOUT (504, or a cut connection mid-answer). Nothing
 * is armed per request (why: docs/performance.md); a stall is noticed up to one sweep late
 * (a quarter of the timeout, at most a second), as Node's own server does for its timeouts.
 */
import type { Agent } from 'node:http';
import type { Socket } from 'node:net';
import { upstreamTimeout } from '../../errors';

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
