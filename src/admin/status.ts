/**
 * GET /status.json: what the status page shows at the top, in one answer. Open like /metrics
 * (which says as much): no secret, no key, URLs without passwords.
 */
import type { Config } from '../config/types';
import { redactUrl } from '../config/redact';
import { modeOf } from '../modes';
import { packageVersion } from '../package-files';
import { checksSignatures } from '../signature/verifier';
import type { AdminBackend } from './backend';
import type { TrafficSample } from './traffic';
import { lastMinuteOf, verdictOf } from './verdict';

const STARTED = Date.now();

export async function statusFacts(config: Config, backend: AdminBackend, now: number, traffic: readonly TrafficSample[] = []): Promise<Record<string, unknown>> {
  const mode = modeOf(config.mode);
  const health = backend.store?.health();
  const checks = backend.readiness();
  // A store that cannot answer leaves the mailbox's figures out; the store's state says why.
  const stats = backend.mailbox === undefined ? undefined : await Promise.resolve(backend.mailbox.stats()).catch(() => undefined);
  const upstreams = (backend.upstreamHealth?.() ?? []).map((u) => ({
    url: redactUrl(u.url),
    state: u.up === undefined ? 'unknown' : u.up ? 'up' : 'down',
    since: u.changedAt === undefined ? null : new Date(u.changedAt).toISOString(),
    // Why it is down, with any URL in it shown without its password.
    reason: u.up === false && u.reason !== undefined ? redactUrl(u.reason) : null,
  }));
  return {
    verdict: verdictOf({ checks, upstreams, deadLetters: stats?.dead, lastMinute: lastMinuteOf(traffic), lastMinuteDeliveries: lastMinuteOf(traffic, 'deliveries') }),
    version: packageVersion(),
    startedAt: new Date(STARTED).toISOString(),
    uptimeSeconds: Math.round((now - STARTED) / 1000),
    ready: Object.values(checks).every((c) => c.ok),
    mode: config.mode,
    platform: config.platform,
    // What is checked, not what would be: 'none' when no delivery is verified.
    signatures: checksSignatures(config) ? config.signatureScheme : 'none',
    delivery: config.delivery,
    listen: backend.listenAddress(),
    target: mode.route === 'pool' ? null : redactUrl(config.target.href),
    upstreams,
    store:
      backend.store === undefined || health === undefined
        ? null
        : { name: config.store, remote: health.remote, state: health.up ? 'connected' : 'degraded', detail: health.detail, keys: backend.store.size() ?? null },
    queue: stats === undefined ? null : { depth: stats.depth, inFlight: stats.inFlight, oldestSeconds: stats.oldestAgeMs / 1000, dead: stats.dead },
    // The keeper's view of each platform's webhook registration; null when it does not run here.
    keeper:
      backend.keeperReports === undefined
        ? null
        : backend.keeperReports().map((r) => ({ platform: r.platform, state: r.state, detail: r.detail, checkedAt: new Date(r.checkedAt).toISOString(), figures: r.figures })),
    // What the page may offer: look-up and replay need ADMIN_TOKEN.
    token: config.adminToken !== undefined,
  };
}
