/**
 * The README's load-balancer snippets (deploy/lb/), run for real: each file read as it is, its
 * example addresses (10.0.0.11:8080 ...) and listen port (8000) replaced by the test's, and the
 * load balancer started from Debian's package in the foreground.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haproxyBinary } from './haproxy';
import { freePort } from './net';
import { foregroundDaemon } from './process';

export const LB_DIR = join(__dirname, '..', '..', '..', 'deploy', 'lb');

export type LoadBalancerKind = 'haproxy' | 'nginx' | 'caddy';

export interface RunningLoadBalancer {
  readonly port: number;
  stop(): Promise<void>;
}

/** The snippet with the test's ports: instance N at `bots[N-1]`, the listener on `port`. */
export function withPorts(snippet: string, bots: readonly number[], port: number): string {
  const text = snippet.replace(/10\.0\.0\.1(\d):8080/g, (whole, n: string) => {
    const bot = bots[Number(n) - 1];
    if (bot === undefined) throw new Error(`no bot for ${whole}`);
    return `127.0.0.1:${bot}`;
  });
  return text
    .replace(/^(\s*)bind :8000$/m, `$1bind 127.0.0.1:${port}`)
    .replace(/^(\s*)listen 8000;$/m, `$1listen 127.0.0.1:${port};`)
    .replace(/^:8000 \{$/m, `http://127.0.0.1:${port} {`);
}

function binary(kind: LoadBalancerKind): string | undefined {
  if (kind === 'haproxy') return haproxyBinary();
  for (const candidate of kind === 'nginx' ? ['/usr/sbin/nginx', '/usr/bin/nginx'] : ['/usr/bin/caddy', '/usr/local/bin/caddy']) {
    if (spawnSync(candidate, ['-v']).error === undefined || spawnSync(candidate, ['version']).status === 0) return candidate;
  }
  return undefined;
}

/** Why a load balancer's test must skip, or false. With REQUIRE_HAPROXY=1 (CI) a missing one fails instead. */
export function loadBalancerSkipReason(kind: LoadBalancerKind): string | false {
  if (binary(kind) !== undefined) return false;
  if (process.env.REQUIRE_HAPROXY === '1') throw new Error(`REQUIRE_HAPROXY=1 but ${kind} is not installed (apt-get install ${kind})`);
  return `${kind} is not installed (apt-get install ${kind})`;
}

/** Starts `kind` on the snippet file `file` of deploy/lb/, in front of `bots`. */
export async function startLoadBalancer(kind: LoadBalancerKind, file: string, bots: readonly number[]): Promise<RunningLoadBalancer> {
  const exe = binary(kind);
  if (exe === undefined) throw new Error(`${kind} is not installed`);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `webhook-affinity-${kind}-`));
  const snippet = withPorts(readFileSync(join(LB_DIR, file), 'utf8'), bots, port);
  let child: ChildProcess;
  if (kind === 'haproxy') {
    writeFileSync(join(dir, 'haproxy.cfg'), snippet);
    child = spawn(exe, ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'ignore', 'pipe'] });
  } else if (kind === 'nginx') {
    // The snippet goes inside http { }: the rest is what running it in a test folder needs.
    writeFileSync(join(dir, 'snippet.conf'), snippet);
    for (const sub of ['logs', 'body', 'proxy']) mkdirSync(join(dir, sub));
    writeFileSync(
      join(dir, 'nginx.conf'),
      `daemon off;\nmaster_process off;\nerror_log stderr error;\npid ${dir}/nginx.pid;\nevents { worker_connections 256; }\n` +
        `http {\n  access_log off;\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n  include ${dir}/snippet.conf;\n}\n`,
    );
    child = spawn(exe, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  } else {
    // Global options first: no admin endpoint (tests run side by side), no certificates.
    writeFileSync(join(dir, 'Caddyfile'), `{\n\tadmin off\n\tauto_https off\n}\n\n${snippet}`);
    child = spawn(exe, ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH ?? '', HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    });
  }
  const daemon = await foregroundDaemon(child, dir, port, kind);
  return { port, stop: () => daemon.stop() };
}
