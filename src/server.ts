#!/usr/bin/env node
/**
 * Entry point (dist/server.js): read the environment, start the proxy, stop gracefully on
 * SIGTERM/SIGINT. Exit 2 on bad configuration, 1 when the port cannot be bound.
 */
import { ConfigError, parseConfig, type Config } from './config';
import { log, logError } from './log';
import { createAffinityProxy } from './proxy';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = parseConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const line of err.message.split('\n')) logError(`config: ${line}`);
    process.exit(2);
  }

  for (const warning of config.warnings) logError(`warning: ${warning}`);
  const proxy = createAffinityProxy(config);
  let address;
  try {
    address = await proxy.listen();
  } catch (err) {
    logError(`cannot listen on ${config.host ?? '*'}:${config.port}: ${(err as Error).message}`);
    process.exit(1);
  }

  const where = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const destination =
    config.mode === 'hash' ? `${config.upstreams.length} upstream(s) ${config.upstreams.map(redacted).join(', ')}` : redacted(config.target);
  console.log(`webhook-affinity listening on http://${where}:${address.port}, forwarding to ${destination} in ${config.mode} mode`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logError(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    log.server('%s: draining', signal);
    proxy.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logError(`shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** The target without its password, fit for a log line. */
function redacted(url: URL): string {
  if (url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.password = '***';
  return copy.href;
}

main().catch((err: unknown) => {
  logError(`fatal: ${(err as Error)?.stack ?? String(err)}`);
  process.exit(1);
});
