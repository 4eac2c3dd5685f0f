/**
 * WORKERS > 1: the primary forks the workers (node:cluster shares the port between them),
 * replaces one that dies, and drains them all on SIGTERM/SIGINT.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Config } from './config';
import { log, logError } from './log';

/** More deaths than this within DEATH_WINDOW_MS: something is wrong with every worker; give up. */
const MAX_DEATHS = 5;
const DEATH_WINDOW_MS = 10_000;

export function runPrimary(config: Config, startLine: (port: number, address: string) => string): void {
  const workers = new Set<Worker>();
  const deaths: number[] = [];
  let printed = false;
  let stopping = false;

  const fork = (): void => {
    const worker = cluster.fork();
    workers.add(worker);
    worker.on('listening', (address) => {
      log.server('worker %d listening', worker.process.pid);
      if (!printed) {
        printed = true;
        console.log(`${startLine(address.port, address.address ?? '')}, ${config.workers} workers`);
      }
    });
    worker.on('exit', (code, signal) => {
      workers.delete(worker);
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
    for (const worker of workers) worker.process.kill('SIGTERM');
    if (workers.size === 0) process.exit(exitCode);
    // Each worker drains for up to SHUTDOWN_TIMEOUT_MS; past that and a margin, end them.
    setTimeout(() => {
      logError('workers did not stop in time: killing them');
      for (const worker of workers) worker.process.kill('SIGKILL');
      process.exit(1);
    }, config.shutdownTimeoutMs + 5000).unref();
  };

  for (let i = 0; i < config.workers; i++) fork();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    log.server('%s: draining %d workers', signal, workers.size);
    stop(0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
