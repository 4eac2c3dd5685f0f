/**
 * The delivery mailbox DELIVERY=queued asks for: the spool, the deliverer over the proxy's own
 * route and strategies, and the pump.
 */
import type { AffinityStrategy } from '../affinity/strategy';
import type { Config } from '../config/config';
import type { ProxyObserver } from '../observe/observer';
import type { Route } from '../route/route';
import type { Clock } from '../store/store';
import { createDeliverer } from './deliverer';
import { createMailbox, type Mailbox } from './mailbox';
import { openSpool } from '../store/backends';

export function mailboxFromConfig(config: Config, route: Route, strategies: readonly AffinityStrategy[], clock: Clock, observer: ProxyObserver): Mailbox | undefined {
  if (config.delivery !== 'queued') return undefined;
  const deliverer = createDeliverer({
    route,
    strategies,
    policy: { minMs: config.queueRetryMinMs, maxMs: config.queueRetryMaxMs, maxAgeMs: config.queueMaxAgeMs },
    holdMs: config.queueHoldMs,
    timeoutMs: config.upstreamTimeoutMs,
    keepAliveMs: config.upstreamKeepAliveMs,
    changeOrigin: config.changeOrigin,
    targetInsecure: config.targetInsecure,
    clock,
  });
  return createMailbox({
    spool: openSpool(config.store, config.storeOptions, {
      maxBytes: config.queueMaxBytes,
      maxDead: config.deadLetterMax,
      leaseMs: config.queueLeaseMs,
      timeoutMs: config.storeTimeoutMs,
      clock,
    }),
    deliverer,
    concurrency: config.queueConcurrency,
    // A shared spool: work other replicas stored is looked for this often.
    pollMs: Math.min(250, config.queueRetryMinMs),
    leaseMs: config.queueLeaseMs,
    clock,
    onSettled: (record) => observer.deliverySettled?.(record),
  });
}
