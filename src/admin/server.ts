/**
 * The admin listener, apart from proxied traffic so no bot path is ever shadowed: the status
 * page, liveness, readiness, Prometheus metrics, and (with ADMIN_TOKEN) what is known of one
 * affinity key and the delivery mailbox.
 */
import http from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { decodeJar } from '../affinity/cookie-jar';
import { headerStrategy } from '../affinity/header';
import type { Config } from '../config/types';
import { messageOf } from '../errors';
import { writeError, writeJson } from '../json-answer';
import { answerClientError } from '../listener/client-error';
import { modeOf } from '../modes';
import type { Clock } from '../core/clock';
import type { AdminBackend } from './backend';
import { allowedHostNames, hostAllowed } from './host-check';
import { answerQueue } from './queue';
import { statusFacts } from './status';
import { trafficHistory } from './traffic';
import { answerStatusPage } from './status-page';
import { keyTag, pathOnly } from '../log';

/** Most of a key's waiting webhooks a look-up lists. */
const QUEUED_SHOWN = 50;

export interface AdminOptions {
  readonly config: Config;
  readonly backend: AdminBackend;
  readonly clock?: Clock;
  /** Time a client has to send its request headers, ms (default 5000). */
  readonly headersTimeoutMs?: number;
}

export function createAdminServer(options: AdminOptions): Server {
  const { config, backend } = options;
  const clock = options.clock ?? Date.now;
  const token = config.adminToken === undefined ? undefined : digest(config.adminToken);
  const injectsHeader = modeOf(config.mode).strategies.includes(headerStrategy);
  const hostNames = allowedHostNames(config.adminHost, config.adminHosts);

  const traffic = trafficHistory(async () => (await backend.metrics()).text, clock);

  const headersTimeout = options.headersTimeoutMs ?? 5000;
  const server = http.createServer(
    {
      headersTimeout,
      requestTimeout: Math.max(headersTimeout, 10_000),
      // Node checks the two timeouts only this often (30 s by default): a stalled client would
      // hold its connection for that long whatever the timeouts say.
      connectionsCheckingInterval: Math.min(1000, headersTimeout),
    },
    (req, res) => {
      handle(req, res).catch((err: unknown) => writeError(res, 500, messageOf(err)));
    },
  );
  // The proxy listener's JSON answers for malformed or slow requests (408 and the like).
  server.on('clientError', answerClientError);
  server.on('close', () => traffic.stop());

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostAllowed(hostNames, req.headers.host)) {
      return writeError(res, 421, 'this admin listener answers only to an IP address, localhost or a name in ADMIN_HOSTS (against DNS rebinding); add the name it is reached as to ADMIN_HOSTS');
    }
    const url = req.url ?? '/';
    const path = url.split('?', 1)[0] ?? url;
    if (req.method === 'GET' && path === '/healthz') return writeJson(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/readyz') return readyz(res);
    if (req.method === 'GET' && answerStatusPage(path, res)) return;
    if (req.method === 'GET' && path === '/status.json') return writeJson(res, 200, await statusFacts(config, backend, clock(), traffic.samples()));
    if (req.method === 'GET' && path === '/status/traffic.json') return writeJson(res, 200, { samples: traffic.samples() });
    if (req.method === 'GET' && path === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    // The status page's token check: 204 for the right ADMIN_TOKEN, 401 otherwise (404 without one).
    if (req.method === 'GET' && path === '/auth' && token !== undefined) {
      if (!authorised(req, token)) return unauthorised(res);
      res.writeHead(204);
      res.end();
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      const { contentType, text } = await backend.metrics();
      res.writeHead(200, { 'content-type': contentType });
      res.end(text);
      return;
    }
    if (path.startsWith('/affinity/') && token !== undefined) return affinity(req, res, token, path.slice('/affinity/'.length));
    if ((path === '/queue' || path.startsWith('/queue/')) && token !== undefined) {
      if (!authorised(req, token)) return unauthorised(res);
      return answerQueue(req, res, path, backend.mailbox);
    }
    writeError(res, 404, `no admin endpoint ${req.method} ${path}`);
  }

  function readyz(res: ServerResponse): void {
    const checks = backend.readiness();
    const ready = Object.values(checks).every((c) => c.ok);
    const degraded = Object.entries(checks).flatMap(([name, c]) => (c.degraded === true ? [name] : []));
    writeJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', ...(degraded.length > 0 ? { degraded } : {}), checks });
  }

  async function affinity(req: IncomingMessage, res: ServerResponse, token: Buffer, encodedKey: string): Promise<void> {
    if (!authorised(req, token)) return unauthorised(res);
    let key: string;
    try {
      key = decodeURIComponent(encodedKey);
    } catch {
      return writeError(res, 400, 'the key is not valid percent-encoding');
    }
    if (key === '') return writeError(res, 400, 'a key is required: /affinity/<key>');

    if (req.method === 'GET') return writeJson(res, 200, await describe(key));
    if (req.method === 'DELETE') {
      if (backend.store === undefined) return writeError(res, 409, `${config.mode} mode remembers nothing to forget`);
      await backend.store.delete(key);
      res.writeHead(204);
      res.end();
      return;
    }
    writeError(res, 405, 'GET or DELETE', { allow: 'GET, DELETE' });
  }

  async function describe(key: string): Promise<Record<string, unknown>> {
    // The tag is how logs and dead letters name the key: the page matches them with it.
    const known: Record<string, unknown> = { key, tag: keyTag(key), mode: config.mode };
    if (config.affinityHeader !== undefined && injectsHeader) known.header = { name: config.affinityHeader, value: key };
    if (backend.store !== undefined) {
      const jar = decodeJar(await backend.store.get(key), clock());
      known.cookies = jar.map((c) => ({ name: c.name, value: c.value, expires: new Date(c.expiresAt).toISOString() }));
    }
    if (backend.mailbox !== undefined) {
      // What waits for this key in the mailbox (this process's, or the shared one on Redis or PostgreSQL).
      const waiting = await backend.mailbox.pendingFor(key, QUEUED_SHOWN);
      known.queued = waiting.map((w) => ({ id: w.id, path: pathOnly(w.url), arrived: new Date(w.arrivedAt).toISOString(), attempts: w.attempts }));
    }
    if (backend.upstreamOrder !== undefined) {
      // The key's whole rendezvous order; it goes to the first available one.
      const order = backend.upstreamOrder(key);
      known.upstream = order.find((o) => o.available !== false)?.upstream ?? null;
      known.order = order;
    }
    return known;
  }

  return server;
}

/** Hashes have equal lengths, so the comparison is constant-time whatever was sent. */
function authorised(req: IncomingMessage, token: Buffer): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  const given = m?.[1];
  return given !== undefined && timingSafeEqual(digest(given), token);
}

function unauthorised(res: ServerResponse): void {
  writeError(res, 401, 'Authorization: Bearer <ADMIN_TOKEN> required', { 'www-authenticate': 'Bearer' });
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
