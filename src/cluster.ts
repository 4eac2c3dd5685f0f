/**
 * WORKERS > 1: the primary forks the workers (node:cluster shares the port between them),
 * replaces one that dies, and drains them all on SIGTERM/SIGINT.
 */
import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry } from 'prom-client';
import { createAdminServer, storeCheck, type AdminBackend, type Check } from './admin';
import { rendezvousOrder } from './affinity/hash';
import type { Config } from './config';
import { log, logError } from './log';
import { createStore } from './store/create';
import { PoolMember } from './upstream/pool';

/** More deaths than this within DEATH_WINDOW_MS: something is wrong with every worker; give up. */
const MAX_DEATHS = 5;
const DEATH_WINDOW_MS = 10_000;

export function runPrimary(config: Config, startLine: (port: number, address: string) => string): void {
  const workers = new Set<Worker>();
  const listening = new Set<Worker>();
  const admin = config.adminPort === undefined ? undefined : createAdminServer({ config, backend: primaryBackend(config, () => listening.size, () => stopping) });
  let adminAddress: AddressInfo | undefined;
  const deaths: number[] = [];
  let printed = false;
  let stopping = false;

  const fork = (): void => {
    const worker = cluster.fork();
    workers.add(worker);
    worker.on('listening', (address) => {
      listening.add(worker);
      log.server('worker %d listening', worker.process.pid);
      if (!printed) {
        printed = true;
        const adminText = adminAddress === undefined ? '' : `; admin on http://${adminAddress.address}:${adminAddress.port}`;
        console.log(`${startLine(address.port, address.address ?? '')}, ${config.workers} workers${adminText}`);
      }
    });
    worker.on('exit', (code, signal) => {
      workers.delete(worker);
      listening.delete(worker);
      if (stopping) {
        if (workers.size === 0) process.exit(0);
        return;
      }
      const now = Date.now();
      deaths.push(now);
      while (deaths.length > 0 && deaths[0]! < now - DEATH_WINDOW_MS) deaths.shift();
      if (deaths.length > MAX_DEATHS) {
        logError(`${deaths.length} workers died within ${DEATH_WINDOW_MS / 1000} s: giving up`);
        stop(1);
        return;
      }
      logError(`worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting a new one`);
      fork();
    });
  };

  const stop = (exitCode: number): void => {
    stopping = true;
    // Readiness is 503 from now on; the listener itself goes with the process.
    for (const worker of workers) worker.process.kill('SIGTERM');
    if (workers.size === 0) process.exit(exitCode);
    // Each worker drains for up to SHUTDOWN_TIMEOUT_MS; past that and a margin, end them.
    setTimeout(() => {
      logError('workers did not stop in time: killing them');
      for (const worker of workers) worker.process.kill('SIGKILL');
      process.exit(1);
    }, config.shutdownTimeoutMs + 5000).unref();
  };

  const forkAll = (): void => {
    for (let i = 0; i < config.workers; i++) fork();
  };
  if (admin === undefined) forkAll();
  else {
    admin.once('error', (err) => {
      logError(`cannot listen for admin on ${config.adminHost}:${config.adminPort}: ${err.message}`);
      process.exit(1);
    });
    admin.listen(config.adminPort, config.adminHost, () => {
      adminAddress = admin.address() as AddressInfo;
      forkAll();
    });
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    log.server('%s: draining %d workers', signal, workers.size);
    stop(0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * The admin view from the primary: metrics aggregated from every worker, readiness from the
 * workers listening, learned cookies from the shared store (Redis: the only store allowed with
 * workers in cookie modes), and hash mode's order (availability is each worker's own).
 */
function primaryBackend(config: Config, listeningWorkers: () => number, stopping: () => boolean): AdminBackend {
  const aggregator = new AggregatorRegistry();
  const learnsCookies = config.mode === 'cookie' || config.mode === 'both';
  const store = learnsCookies ? createStore(config, Date.now) : undefined;
  const members = config.upstreams.map((u) => new PoolMember(u));
  return {
    store,
    readiness() {
      const n = listeningWorkers();
      const checks: Record<string, Check> = {
        listening: !stopping() && n > 0 ? { ok: true, detail: `${n} of ${config.workers} workers listening` } : { ok: false, detail: stopping() ? 'shutting down' : 'no worker listening' },
      };
      if (store?.ready !== undefined) checks.store = storeCheck(store, config.readyRequiresStore);
      return checks;
    },
    async metrics() {
      return { contentType: aggregator.contentType, text: await aggregator.clusterMetrics() };
    },
    upstreamOrder: config.mode === 'hash' ? (key) => rendezvousOrder(key, members).map((m) => ({ upstream: m.id })) : undefined,
  };
}
