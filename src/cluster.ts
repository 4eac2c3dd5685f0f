/**
 * WORKERS > 1: the primary forks the workers (node:cluster shares the port between them),
 * replaces one that dies, and drains them all on SIGTERM/SIGINT.
 */
import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { primaryBackend } from './admin/backend';
import { createAdminServer } from './admin/server';
import type { Config } from './config/types';
import { messageOf } from './errors';
import { listen } from './listener/listener';
import { log, logError } from './log';

/** More deaths than this within DEATH_WINDOW_MS: something is wrong with every worker; give up. */
const MAX_DEATHS = 5;
const DEATH_WINDOW_MS = 10_000;

export function runPrimary(config: Config, startLine: (port: number, address: string) => string): void {
  const workers = new Set<Worker>();
  const listening = new Set<Worker>();
  const admin =
    config.adminPort === undefined
      ? undefined
      : createAdminServer({
          config,
          backend: primaryBackend(
            config,
            () => listening.size,
            () => stopping,
          ),
        });
  let adminAddress: AddressInfo | undefined;
  const deaths: number[] = [];
  let printed = false;
  let stopping = false;

  // One worker runs the keeper (src/keeper/): the first, and the replacement of that one.
  let keeperWorker: Worker | undefined;
  const fork = (): void => {
    const runsKeeper = keeperWorker === undefined;
    const worker = cluster.fork(runsKeeper ? { WEBHOOK_AFFINITY_KEEPER: '1' } : {});
    if (runsKeeper) keeperWorker = worker;
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
      if (keeperWorker === worker) keeperWorker = undefined;
      listening.delete(worker);
      if (stopping) {
        if (workers.size === 0) process.exit(0);
        return;
      }
      const now = Date.now();
      deaths.push(now);
      while ((deaths[0] ?? now) < now - DEATH_WINDOW_MS) deaths.shift();
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
  if (admin === undefined || config.adminPort === undefined) forkAll();
  else {
    listen(admin, config.adminPort, config.adminHost).then(
      (address) => {
        adminAddress = address;
        forkAll();
      },
      (err: unknown) => {
        logError(`cannot listen for admin on ${config.adminHost}:${config.adminPort}: ${messageOf(err)}`);
        process.exit(1);
      },
    );
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    log.server('%s: draining %d workers', signal, workers.size);
    stop(0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
