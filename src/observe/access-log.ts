/**
 * ACCESS_LOG=json: one JSON line per request on stdout. The key is written as its short hash
 * (never raw) and the path without its query. Lines are batched into one write per event-loop
 * turn, so a burst costs one syscall, not one per request.
 */
import type { Config } from '../config/types';
import { keyTag, pathOnly } from '../log';
import type { ProxyObserver } from './observer';

export interface AccessLog extends ProxyObserver {
  /** Writes the lines not yet written (at shutdown, before the process exits). */
  flush(): void;
}

export function accessLog(config: Config, write: (text: string) => void = (t) => process.stdout.write(t)): AccessLog {
  let pending: string[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    write(text);
  };
  return {
    flush,
    requestEnded(r) {
      const line = JSON.stringify({
        time: new Date().toISOString(),
        method: r.method,
        path: pathOnly(r.url),
        status: r.status,
        durationMs: Math.round(r.durationMs * 1000) / 1000,
        mode: config.mode,
        outcome: r.outcome,
        upstream: r.upstream ?? null,
        bytesIn: r.bytesIn,
        bytesOut: r.bytesOut,
        key: r.key === undefined ? null : keyTag(r.key),
      });
      if (pending.push(`${line}\n`) === 1) setImmediate(flush);
    },
    deliverySettled(d) {
      // DELIVERY=queued: one line per delivery attempt, told apart by its `delivery` id.
      const line = JSON.stringify({
        time: new Date().toISOString(),
        delivery: d.id,
        attempt: d.attempt,
        path: pathOnly(d.url),
        status: d.status ?? null,
        error: d.error ?? null,
        durationMs: Math.round(d.durationMs * 1000) / 1000,
        mode: config.mode,
        outcome: d.outcome,
        upstream: d.upstream ?? null,
        key: d.key === undefined ? null : keyTag(d.key),
      });
      if (pending.push(`${line}\n`) === 1) setImmediate(flush);
    },
  };
}
