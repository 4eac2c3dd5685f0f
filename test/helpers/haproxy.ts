/**
 * A real HAProxy (Debian's package) for end-to-end tests, started in the foreground on free
 * loopback ports with a config the test writes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { foregroundDaemon, type ForegroundDaemon } from './process';

export { freePort } from './net';

/** The haproxy binary, or undefined when it is not installed. */
export function haproxyBinary(): string | undefined {
  for (const candidate of ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy', '/usr/bin/haproxy']) {
    if (spawnSync(candidate, ['-v']).status === 0) return candidate;
  }
  return undefined;
}

/** Why an e2e test must skip, or false. With REQUIRE_HAPROXY=1 (CI) a missing HAProxy fails instead. */
export function haproxySkipReason(): string | false {
  if (haproxyBinary() !== undefined) return false;
  if (process.env.REQUIRE_HAPROXY === '1') throw new Error('REQUIRE_HAPROXY=1 but haproxy is not installed (apt-get install haproxy)');
  return 'haproxy is not installed (apt-get install haproxy); set REQUIRE_HAPROXY=1 to make this a failure';
}

/** The `global` and `defaults` sections every test config starts with (HTTP mode, short timeouts), plus `extraDefaults` lines. */
export function haproxyPreamble(extraDefaults: string[] = []): string {
  return ['global', '  maxconn 256', 'defaults', '  mode http', '  timeout connect 2s', '  timeout client 10s', '  timeout server 10s', ...extraDefaults.map((l) => `  ${l}`), ''].join('\n');
}

export type RunningHaproxy = ForegroundDaemon;

/** Starts `haproxy -db -f <config>` and resolves once `readyPort` accepts connections. */
export async function startHaproxy(config: string, readyPort: number): Promise<RunningHaproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'webhook-affinity-haproxy-'));
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  const child = spawn(haproxyBinary()!, ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  return foregroundDaemon(child, dir, readyPort, 'haproxy');
}
