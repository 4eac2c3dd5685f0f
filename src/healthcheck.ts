/**
 * The container's HEALTHCHECK (`node dist/healthcheck.js`), run with the proxy's environment:
 * GET /healthz on the admin listener where it listens (ADMIN_HOST; a wildcard address is asked
 * on loopback), or, with ADMIN_PORT=off, a connection to the proxy's own port. Exit 0 when
 * healthy, 1 when not, with one line saying why (Docker keeps it in `docker inspect`).
 */
import http from 'node:http';
import net from 'node:net';
import { parseConfig } from './config/config';
import { messageOf } from './errors';

/** How long one check may take: under the Dockerfile's `--timeout=3s`. */
const TIMEOUT_MS = 2500;

/** Where a wildcard listener is reached from inside its own container. */
function reachable(host: string | undefined): string {
  if (host === undefined || host === '' || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host.replace(/^\[(.*)\]$/, '$1');
}

function healthz(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/healthz', timeout: TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? undefined : `/healthz answered ${res.statusCode}`);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', (err) => resolve(`/healthz on ${host}:${port}: ${messageOf(err)}`));
  });
}

function accepts(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: TIMEOUT_MS }, () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.on('timeout', () => socket.destroy(new Error(`no connection within ${TIMEOUT_MS} ms`)));
    socket.on('error', (err) => resolve(`the proxy's port ${host}:${port}: ${messageOf(err)}`));
  });
}

async function check(): Promise<string | undefined> {
  const config = parseConfig(process.env);
  if (config.adminPort !== undefined) return healthz(reachable(config.adminHost), config.adminPort);
  return accepts(reachable(config.host), config.port);
}

check()
  .catch((err: unknown) => messageOf(err))
  .then((problem) => {
    if (problem === undefined) return;
    console.error(`unhealthy: ${problem}`);
    process.exitCode = 1;
  });
