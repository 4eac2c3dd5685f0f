/**
 * One running webhook-affinity: the proxy, its metrics and access log, and the admin listener,
 * started and stopped together. server.ts runs one per process (or per worker).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { accessLog } from './access-log';
import { createAdminServer, proxyBackend } from './admin';
import type { Config } from './config';
import { createMetrics } from './metrics';
import { combineObservers } from './observer';
import { createAffinityProxy, type AffinityProxy, type ProxyDeps } from './proxy';

export interface Service {
  readonly registry: Registry;
  readonly proxy: AffinityProxy;
  /** The admin listener, unless ADMIN_PORT is off (or the primary serves it, with WORKERS > 1). */
  readonly admin: Server | undefined;
  readonly address: AddressInfo;
  readonly adminAddress: AddressInfo | undefined;
  /** Drains the proxy (readiness turns 503 first), then closes the admin listener. Idempotent. */
  close(): Promise<void>;
}

export interface ServiceOptions {
  /** Serve the admin listener here (false in cluster workers: the primary serves it). */
  readonly admin: boolean;
  readonly deps?: ProxyDeps;
}

export async function startService(config: Config, options: ServiceOptions): Promise<Service> {
  let proxy: AffinityProxy | undefined;
  const metrics = createMetrics(config, () => ({ store: proxy?.store, pool: proxy?.pool, bufferedBytes: proxy?.bufferedBytes ?? 0 }));
  // A cluster worker's metrics are collected by the primary's AggregatorRegistry. Constructing
  // one is what makes prom-client answer the primary's requests in this worker.
  if (cluster.isWorker) {
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([metrics.registry]);
  }
  const log = config.accessLog === 'json' ? accessLog(config) : undefined;
  const observer = combineObservers(metrics.observer, log, options.deps?.observer);
  proxy = createAffinityProxy(config, { ...options.deps, observer });
  const admin = options.admin && config.adminPort !== undefined ? createAdminServer({ config, backend: proxyBackend(proxy, metrics.registry, config.readyRequiresStore) }) : undefined;

  const address = await proxy.listen();
  let adminAddress: AddressInfo | undefined;
  if (admin !== undefined) {
    try {
      adminAddress = await listen(admin, config.adminPort!, config.adminHost);
    } catch (err) {
      await proxy.close();
      throw new Error(`cannot listen for admin on ${config.adminHost}:${config.adminPort}: ${(err as Error).message}`);
    }
  }

  let closing: Promise<void> | undefined;
  const running = proxy;
  return {
    registry: metrics.registry,
    proxy: running,
    admin,
    address,
    adminAddress,
    close() {
      closing ??= (async () => {
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

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
