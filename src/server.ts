#!/usr/bin/env node
/**
 * Entry point (dist/server.js): read the environment, start the proxy (or, with WORKERS > 1,
 * the workers), stop gracefully on SIGTERM/SIGINT. Exit 2 on bad configuration, 1 when the port
 * cannot be bound.
 */
import cluster from 'node:cluster';
import { checkConfiguration, commandOf, effectiveSettings, helpText } from './cli';
import { runPrimary } from './cluster';
import { ConfigError, parseConfig } from './config/config';
import type { Config } from './config/types';
import { redactUrl } from './config/redact';
import { storeParts } from './config/sections';
import { describeStore, inspectStore } from './store/backends';
import { messageOf, StartupError, stackOf } from './errors';
import { modeOf } from './modes';
import { log, logError } from './log';
import { packageVersion } from './package-files';

/** A stop that dropped accepted webhooks (DELIVERY=queued, STORE=memory, after SHUTDOWN_TIMEOUT_MS). */
const EXIT_DROPPED_WEBHOOKS = 3;
import { startService, type Service } from './service';

function main(): void {
  const args = commandOf(process.argv.slice(2));
  if ('error' in args) {
    logError(args.error);
    process.exit(2);
  }
  if (args.command !== 'run') {
    answer(args.command);
    return;
  }

  let config: Config;
  try {
    config = parseConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const line of err.message.split('\n')) logError(`config: ${line}`);
    process.exit(2);
  }
  if (cluster.isPrimary) {
    for (const warning of config.warnings) logError(`warning: ${warning}`);
    log.config('effective settings (secrets masked):\n%s', effectiveSettings(config));
  }

  if (config.workers > 1 && cluster.isPrimary) runPrimary(config, (port, address) => startLine(config, port, address));
  else void runServer(config);
}

async function runServer(config: Config): Promise<void> {
  let service: Service;
  try {
    // With workers, the primary serves the admin listener for all of them.
    service = await startService(config, { admin: cluster.isPrimary });
  } catch (err) {
    logError(err instanceof StartupError ? err.message : `fatal: ${stackOf(err)}`);
    process.exit(1);
  }
  // With workers, the primary prints the one start line.
  if (cluster.isPrimary) console.log(startLine(config, service.address.port, service.address.address) + adminLine(service));

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A worker may get a terminal's SIGINT and the primary's SIGTERM: only the primary forces.
      if (cluster.isWorker) return;
      logError(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    if (cluster.isPrimary) logError(`${signal}: stopping; answering what is in flight (up to SHUTDOWN_TIMEOUT_MS)`);
    service.close().then(
      // Acked webhooks destroyed by the stop (memory spool): a supervisor must not see a clean exit.
      () => process.exit((service.proxy.mailbox?.droppedAtClose ?? 0) > 0 ? EXIT_DROPPED_WEBHOOKS : 0),
      (err: unknown) => {
        logError(`shutdown failed: ${messageOf(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** --help, --version, --check: print, and exit once stdout has taken it all (a pipe may be slow). */
function answer(command: 'help' | 'version' | 'check'): void {
  const exitAfter = (code: number, text: string) => process.stdout.write(text, () => process.exit(code));
  if (command === 'help') exitAfter(0, helpText());
  else if (command === 'version') exitAfter(0, `${packageVersion()}\n`);
  else {
    const checked = checkConfiguration(process.env);
    if (!checked.ok) {
      for (const line of checked.text.split('\n')) logError(`config: ${line}`);
      process.exit(2);
    }
    for (const warning of checked.warnings) logError(`warning: ${warning}`);
    const text = `configuration is valid; every variable as it is in effect (secrets masked; "default" marks what was not set):\n${checked.text}`;
    const inspecting = inspectStore(checked.config.store, checked.config.storeOptions);
    if (inspecting === undefined) {
      exitAfter(0, text);
      return;
    }
    // A store that cannot be reached, or is not ready for this proxy: exit 1 (the configuration itself is valid).
    void inspecting.then((store) => exitAfter(store.ok ? 0 : 1, `${text}store: ${describeStore(checked.config.store, checked.config.storeOptions)}: ${store.text}\n`));
  }
}

function adminLine(service: Service): string {
  const a = service.adminAddress;
  return a === undefined ? '' : `; admin on http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
}

function startLine(config: Config, port: number, address: string): string {
  const where = address.includes(':') ? `[${address}]` : address || '0.0.0.0';
  const mode = modeOf(config.mode);
  const destination = mode.route === 'pool' ? `${config.upstreams.length} upstream(s) ${config.upstreams.map((u) => redactUrl(u.href)).join(', ')}` : redactUrl(config.target.href);
  const parts = storeParts(config);
  const store = parts.length === 0 ? '' : `, ${config.store} store (${parts.join(', ')})`;
  return `webhook-affinity listening on http://${where}:${port}, forwarding to ${destination} in ${config.mode} mode${store}`;
}

// The last resort: a promise rejected with nobody to handle it is a bug, not a reason to stop
// serving every other webhook (Node's default is to exit). Said with its stack, every time.
process.on('unhandledRejection', (reason) => logError(`internal error (unhandled rejection), still serving: ${stackOf(reason)}`));

try {
  main();
} catch (err) {
  logError(`fatal: ${stackOf(err)}`);
  process.exit(1);
}
