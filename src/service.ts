/**
 * One running webhook-affinity: the proxy, its metrics and access log, and the admin listener,
 * started and stopped together. server.ts runs one per process (or per worker).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { proxyBackend } from './admin/backend';
import { createAdminServer } from './admin/server';
import type { Config } from './config/types';
import { messageOf, StartupError } from './errors';
import { listen } from './listener/listener';
import { accessLog } from './observe/access-log';
import { createMetrics } from './observe/metrics';
import { combineObservers } from './observe/observer';
import { createAffinityProxy, type AffinityProxy, type ProxyDeps } from './proxy';
import type { Keeper } from './keeper/keeper';
import { keeperFor } from './keeper/run';

export interface Service {
  readonly registry: Registry;
  readonly proxy: AffinityProxy;
  /** The admin listener, unless ADMIN_PORT is off (or the primary serves it, with WORKERS > 1). */
  readonly admin: Server | undefined;
  readonly address: AddressInfo;
  readonly adminAddress: AddressInfo | undefined;
  /** The webhook registrations' keeper, when a platform's credentials are set (and this process runs it). */
  readonly keeper: Keeper | undefined;
  /** Drains the proxy (readiness turns 503 first), then closes the admin listener. Idempotent. */
  close(): Promise<void>;
}

export interface ServiceOptions {
  /** Serve the admin listener here (false in cluster workers: the primary serves it). */
  readonly admin: boolean;
  readonly deps?: ProxyDeps;
  /** Tests: the keeper runs no timer; they call its round() themselves. */
  readonly keeperByHand?: boolean;
}

export async function startService(config: Config, options: ServiceOptions): Promise<Service> {
  let proxy: AffinityProxy | undefined;
  const metrics = createMetrics(config, () => {
    const mailbox = proxy?.mailbox;
    return { store: proxy?.store, pool: proxy?.pool, bufferedBytes: proxy?.bufferedBytes ?? 0, queue: mailbox === undefined ? undefined : () => mailbox.stats() };
  });
  // A cluster worker's metrics are collected by the primary's AggregatorRegistry. Constructing
  // one is what makes prom-client answer the primary's requests in this worker.
  if (cluster.isWorker) {
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([metrics.registry]);
  }
  const log = config.accessLog === 'json' ? accessLog(config) : undefined;
  const observer = combineObservers(metrics.observer, log, options.deps?.observer);
  proxy = createAffinityProxy(config, { ...options.deps, observer });
  const adminPort = options.admin ? config.adminPort : undefined;
  // The keeper: in a single process, or in the one worker the primary names (WORKERS > 1).
  const keeper =
    !cluster.isWorker || process.env.WEBHOOK_AFFINITY_KEEPER === '1'
      ? keeperFor(config, proxy.sharedIds(), metrics.registry, options.deps?.clock ?? Date.now, options.keeperByHand !== true)
      : undefined;
  const admin = adminPort === undefined ? undefined : createAdminServer({ config, backend: proxyBackend(proxy, metrics.registry, config.readyRequiresStore, keeper) });

  let address: AddressInfo;
  try {
    address = await proxy.listen();
  } catch (err) {
    throw new StartupError('PROXY_LISTEN', `cannot listen on ${config.host ?? '*'}:${config.port}: ${messageOf(err)}`, { cause: err });
  }
  let adminAddress: AddressInfo | undefined;
  if (admin !== undefined && adminPort !== undefined) {
    try {
      adminAddress = await listen(admin, adminPort, config.adminHost);
    } catch (err) {
      await proxy.close();
      throw new StartupError('ADMIN_LISTEN', `cannot listen for admin on ${config.adminHost}:${adminPort}: ${messageOf(err)}`, { cause: err });
    }
  }

  let closing: Promise<void> | undefined;
  const running = proxy;
  return {
    registry: metrics.registry,
    proxy: running,
    keeper,
    admin,
    address,
    adminAddress,
    close() {
      closing ??= (async () => {
        keeper?.close();
        await running.close();
        // The last requests' lines would otherwise wait for an event-loop turn the exit skips.
        log?.flush();
        if (admin?.listening) {
          admin.closeAllConnections();
          await new Promise((resolve) => admin.close(resolve));
        }
      })();
      return closing;
    },
  };
}
