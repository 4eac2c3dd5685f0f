/**
 * The admin listener, apart from proxied traffic so no bot path is ever shadowed: liveness,
 * readiness, Prometheus metrics, and (with ADMIN_TOKEN) what is known of one affinity key.
 */
import http from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Registry } from 'prom-client';
import { answerClientError } from './client-error';
import type { Config } from './config';
import { decodeJar } from './affinity/cookie-jar';
import { rendezvousOrder } from './affinity/hash';
import type { AffinityProxy } from './proxy';
import type { AffinityStore, Clock } from './store/store';

export interface Check {
  readonly ok: boolean;
  readonly detail: string;
  /** Working, but without something optional (Redis down: webhooks flow without learned cookies). */
  readonly degraded?: boolean;
}

/**
 * Readiness of a networked store. Webhooks keep flowing while it is down (fail open: lookups
 * miss, writes are dropped), so by default it only marks the replica degraded: a readiness
 * probe must not pull every replica out of its load balancer during a Redis outage.
 * READY_REQUIRES_STORE=true makes it part of readiness.
 */
export function storeCheck(store: AffinityStore, required: boolean): Check {
  if (store.ready !== false) return { ok: true, detail: 'Redis connected' };
  return required
    ? { ok: false, detail: 'Redis unreachable (READY_REQUIRES_STORE=true)' }
    : { ok: true, degraded: true, detail: 'Redis unreachable: webhooks are forwarded without learned cookies until it is back' };
}

/** What the admin endpoints read: one proxy's, or (WORKERS > 1) the primary's view of all. */
export interface AdminBackend {
  /** Named readiness checks; ready when all are ok. */
  readiness(): Record<string, Check>;
  /** The Prometheus exposition text and its content type. */
  metrics(): Promise<{ contentType: string; text: string }>;
  /** Cookie modes: where learned cookies live. */
  readonly store: AffinityStore | undefined;
  /** Hash mode: the key's rendezvous order; `available` when known here. */
  upstreamOrder?(key: string): { upstream: string; available?: boolean }[];
}

export interface AdminOptions {
  readonly config: Config;
  readonly backend: AdminBackend;
  readonly clock?: Clock;
  /** Time a client has to send its request headers, ms (default 5000). */
  readonly headersTimeoutMs?: number;
}

/** The backend of a single process: its proxy and its registry. */
export function proxyBackend(proxy: AffinityProxy, registry: Registry, readyRequiresStore: boolean): AdminBackend {
  const pool = proxy.pool;
  return {
    store: proxy.store,
    readiness() {
      const checks: Record<string, Check> = {
        listening: proxy.accepting && proxy.server.listening ? { ok: true, detail: 'accepting requests' } : { ok: false, detail: 'shutting down' },
      };
      if (proxy.store?.ready !== undefined) checks.store = storeCheck(proxy.store, readyRequiresStore);
      if (pool !== undefined) {
        const available = pool.members.filter((m) => pool.isAvailable(m)).length;
        checks.upstreams = { ok: available > 0, detail: `${available} of ${pool.members.length} upstreams available` };
      }
      return checks;
    },
    async metrics() {
      return { contentType: registry.contentType, text: await registry.metrics() };
    },
    upstreamOrder:
      pool === undefined ? undefined : (key) => rendezvousOrder(key, pool.members).map((m) => ({ upstream: m.id, available: pool.isAvailable(m) })),
  };
}

export function createAdminServer(options: AdminOptions): Server {
  const { config, backend } = options;
  const clock = options.clock ?? Date.now;
  const token = config.adminToken === undefined ? undefined : digest(config.adminToken);

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
      handle(req, res).catch((err: unknown) => json(res, 500, { status: 500, error: 'Internal Server Error', message: (err as Error).message }));
    },
  );
  // The proxy listener's JSON answers for malformed or slow requests (408 and the like).
  server.on('clientError', answerClientError);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET' && path === '/healthz') return json(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/readyz') return readyz(res);
    if (req.method === 'GET' && path === '/metrics') {
      const { contentType, text } = await backend.metrics();
      res.writeHead(200, { 'content-type': contentType });
      res.end(text);
      return;
    }
    if (path.startsWith('/affinity/') && token !== undefined) return affinity(req, res, path.slice('/affinity/'.length));
    json(res, 404, { status: 404, error: 'Not Found', message: `no admin endpoint ${req.method} ${path}` });
  }

  function readyz(res: ServerResponse): void {
    const checks = backend.readiness();
    const ready = Object.values(checks).every((c) => c.ok);
    const degraded = Object.keys(checks).filter((name) => checks[name]!.degraded === true);
    json(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', ...(degraded.length > 0 ? { degraded } : {}), checks });
  }

  async function affinity(req: IncomingMessage, res: ServerResponse, encodedKey: string): Promise<void> {
    if (!authorised(req)) {
      res.setHeader('www-authenticate', 'Bearer');
      return json(res, 401, { status: 401, error: 'Unauthorized', message: 'Authorization: Bearer <ADMIN_TOKEN> required' });
    }
    let key: string;
    try {
      key = decodeURIComponent(encodedKey);
    } catch {
      return json(res, 400, { status: 400, error: 'Bad Request', message: 'the key is not valid percent-encoding' });
    }
    if (key === '') return json(res, 400, { status: 400, error: 'Bad Request', message: 'a key is required: /affinity/<key>' });

    if (req.method === 'GET') return json(res, 200, await describe(key));
    if (req.method === 'DELETE') {
      if (backend.store === undefined) return json(res, 409, { status: 409, error: 'Conflict', message: `${config.mode} mode remembers nothing to forget` });
      await backend.store.delete(key);
      res.writeHead(204);
      res.end();
      return;
    }
    res.setHeader('allow', 'GET, DELETE');
    json(res, 405, { status: 405, error: 'Method Not Allowed', message: 'GET or DELETE' });
  }

  async function describe(key: string): Promise<Record<string, unknown>> {
    const known: Record<string, unknown> = { key, mode: config.mode };
    if (config.affinityHeader !== undefined && config.mode !== 'cookie') known.header = { name: config.affinityHeader, value: key };
    if (backend.store !== undefined) {
      const jar = decodeJar(await backend.store.get(key), clock());
      known.cookies = jar.map((c) => ({ name: c.name, value: c.value, expires: new Date(c.expiresAt).toISOString() }));
    }
    if (backend.upstreamOrder !== undefined) {
      // The key's whole rendezvous order; it goes to the first available one.
      const order = backend.upstreamOrder(key);
      known.upstream = order.find((o) => o.available !== false)?.upstream ?? null;
      known.order = order;
    }
    return known;
  }

  function authorised(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    // Hashes have equal lengths, so the comparison is constant-time whatever was sent.
    return m !== null && timingSafeEqual(digest(m[1]!), token!);
  }

  return server;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
