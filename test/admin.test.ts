/**
 * The admin listener: every endpoint's status and body, the token, readiness following Redis,
 * upstreams and shutdown, and metrics that move by exactly the requests sent.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { parseConfig, type Env } from '../src/config/config';
import { startService, type Service } from '../src/service';
import type { PoolMember } from '../src/upstream/pool';
import { freePort } from './helpers/haproxy';
import { waitFor } from './helpers/wait';
import { heldAnswers, request, startUpstream, webhook, type Upstream, type UpstreamHandler } from './helpers/http';
import { parseExposition, sample } from './helpers/metrics';
import { PrivateRedis, redisSkipReason } from './helpers/redis';
import { startServerProcess } from './helpers/process';

interface Running {
  service: Service;
  upstream: Upstream;
  port: number;
  admin: number;
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; json(): any; body: Buffer }>;
  close(): Promise<void>;
}

async function start(env: Env = {}, handler?: UpstreamHandler, changes?: ((m: PoolMember) => void)[]): Promise<Running> {
  const upstream = await startUpstream(handler);
  const adminPort = await freePort();
  const config = parseConfig({ PORT: '0', HOST: '127.0.0.1', TARGET_URL: upstream.url, ADMIN_PORT: String(adminPort), ...env });
  const service = await startService(config, {
    admin: true,
    deps: {
      observer: {
        upstreamChanged: (m) => {
          for (const c of changes ?? []) c(m);
        },
      },
    },
  });
  return {
    service,
    upstream,
    port: service.address.port,
    admin: adminPort,
    get: (path, headers = {}) => request(adminPort, { method: 'GET', path, headers }),
    async close() {
      await service.close();
      await upstream.close();
    },
  };
}

async function metrics(r: Running) {
  const res = await r.get('/metrics');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parseExposition(res.body.toString());
}

describe('admin listener', () => {
  it('GET /healthz answers 200 while the process serves', async () => {
    const r = await start();
    try {
      const res = await r.get('/healthz');
      assert.equal(res.status, 200);
      assert.deepEqual(res.json(), { status: 'ok' });
    } finally {
      await r.close();
    }
  });

  it('answers only an IP address, localhost or a name in ADMIN_HOSTS in Host (DNS rebinding): 421 otherwise', async () => {
    const r = await start();
    try {
      for (const host of [`127.0.0.1:${r.admin}`, `localhost:${r.admin}`, `[::1]:${r.admin}`, 'status.localhost']) {
        assert.equal((await r.get('/status.json', { host })).status, 200, host);
      }
      for (const host of [`rebind.example:${r.admin}`, 'evil.example', `127.0.0.1.evil.example:${r.admin}`]) {
        const res = await r.get('/metrics', { host });
        assert.equal(res.status, 421, host);
        assert.match(res.json().message, /DNS rebinding/);
      }
    } finally {
      await r.close();
    }
  });

  it('bound to all interfaces (a container): answers its service name once ADMIN_HOSTS lists it', async () => {
    for (const [env, status] of [
      [{ ADMIN_HOST: '0.0.0.0' }, 421],
      [{ ADMIN_HOST: '0.0.0.0', ADMIN_HOSTS: 'prometheus-target, webhook-affinity' }, 200],
    ] as const) {
      const r = await start(env);
      try {
        assert.equal((await r.get('/metrics', { host: `webhook-affinity:${r.admin}` })).status, status, JSON.stringify(env));
        assert.equal((await r.get('/metrics', { host: `10.0.0.7:${r.admin}` })).status, 200, 'an address, always');
      } finally {
        await r.close();
      }
    }
  });

  it('anything else is a 404 JSON answer, and /affinity is not served without ADMIN_TOKEN', async () => {
    const r = await start();
    try {
      for (const path of ['/nope', '/affinity/alice', '/auth']) {
        const res = await r.get(path);
        assert.equal(res.status, 404);
        assert.equal(res.json().status, 404);
      }
      assert.equal((await request(r.admin, { method: 'POST', path: '/healthz', body: '{}' })).status, 404);
    } finally {
      await r.close();
    }
  });

  it('/affinity/<key> lists the webhooks waiting in the key’s mailbox, head first', async () => {
    // A short shutdown: the memory mailbox would otherwise try to deliver what is left for 10 s.
    const r = await start({ DELIVERY: 'queued', ADMIN_TOKEN: 't', SHUTDOWN_TIMEOUT_MS: '100' }, (_req, res) => res.writeHead(503).end('not now'));
    try {
      const ids: string[] = [];
      for (const seq of [0, 1]) ids.push(((await request(r.port, { path: `/hook?n=${seq}`, body: webhook('alice') })).json() as { queued: string }).queued);
      const known = await waitFor(async () => {
        const res = await r.get('/affinity/alice', { authorization: 'Bearer t' });
        const queued = (res.json() as { queued: { id: string; path: string; attempts: number }[] }).queued;
        return queued[0]!.attempts > 0 ? queued : undefined;
      }, 'the head attempted');
      assert.deepEqual(
        known.map((q) => [q.id, q.path]),
        [
          [ids[0], '/hook'],
          [ids[1], '/hook'],
        ],
        'in order, paths without their query',
      );
      assert.equal(known[1]!.attempts, 0, 'only the head is attempted');
    } finally {
      await r.close();
    }
  });

  it('serves the status page under a strict CSP, and /status.json without keys or secrets', async () => {
    const r = await start({ WEBHOOK_SECRET: 'sekr1t', REDIS_URL: 'redis://u:pw@127.0.0.1:1' });
    try {
      for (const path of ['/', '/status']) {
        const page = await r.get(path);
        assert.equal(page.status, 200);
        assert.match(String(page.headers['content-type']), /^text\/html/);
        assert.match(String(page.headers['content-security-policy']), /^default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'/);
        assert.match(page.body.toString(), /<script type="module" src="\/status\.js"><\/script>/);
        assert.doesNotMatch(page.body.toString(), /https?:\/\/(?!www\.w3\.org)/, 'no external asset');
      }
      assert.match((await r.get('/status.js')).body.toString(), /\/status\.json/);
      assert.match(String((await r.get('/status.css')).headers['content-type']), /^text\/css/);
      const status = (await r.get('/status.json')).json() as Record<string, unknown>;
      assert.deepEqual([status.mode, status.platform, status.delivery, status.token, status.ready], ['header', 'webex', 'direct', false, true]);
      assert.equal(status.target, `${r.upstream.url}/`);
      assert.ok(!JSON.stringify(status).includes('sekr1t'));

      // The page's traffic: the listener's own samples of the counters, from a zero at start
      // (these three are unsigned, with WEBHOOK_SECRET set: refused).
      for (const actor of ['alice', 'bob', 'carol']) assert.equal((await request(r.port, { body: webhook(actor) })).status, 401);
      const traffic = await waitFor(
        async () => {
          const t = (await r.get('/status/traffic.json')).json() as { samples: { at: number; outcomes: Record<string, number> }[] };
          return t.samples.at(-1)?.outcomes['signature-rejected'] === 3 ? t : undefined;
        },
        'a sample counting the three webhooks',
        { pauseMs: 100 },
      );
      assert.deepEqual(traffic.samples[0]!.outcomes, {}, 'the first sample is the zero every counter starts from');
    } finally {
      await r.close();
    }
  });

  it('GET /readyz is 200 when ready, and 503 as soon as a graceful shutdown begins', async () => {
    const answers = heldAnswers();
    const r = await start({}, answers.handler);
    try {
      const ready = await r.get('/readyz');
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.json(), { status: 'ready', checks: { listening: { ok: true, detail: 'accepting requests' } } });
      const inFlight = request(r.port, { body: webhook('a') });
      await answers.waitFor(1);
      const closing = r.service.proxy.close();
      const draining = await r.get('/readyz');
      assert.equal(draining.status, 503);
      assert.deepEqual(draining.json().checks.listening, { ok: false, detail: 'shutting down' });
      answers.releaseAll();
      assert.equal((await inFlight).status, 200);
      await closing;
    } finally {
      await r.close();
    }
  });

  it('GET /readyz turns 503 when every upstream is down in hash mode, and 200 when one returns', async () => {
    const bots = await startUpstream();
    const changes: ((m: PoolMember) => void)[] = [];
    const r = await start({ AFFINITY_MODE: 'hash', UPSTREAMS: bots.url, HEALTH_CHECK_PATH: '/health', HEALTH_CHECK_INTERVAL_MS: '50' }, undefined, changes);
    try {
      assert.equal((await r.get('/readyz')).status, 200);
      const down = new Promise<void>((resolve) => changes.push((m) => !m.up && resolve()));
      bots.server.closeAllConnections();
      const port = bots.port;
      await new Promise((resolve) => bots.server.close(resolve));
      await down;
      const res = await r.get('/readyz');
      assert.equal(res.status, 503);
      assert.deepEqual(res.json().checks.upstreams, { ok: false, detail: '0 of 1 upstreams available' });
      const m = await metrics(r);
      assert.equal(sample(m, 'webhook_affinity_upstream_up', { upstream: `http://127.0.0.1:${port}/` }), 0);

      const up = new Promise<void>((resolve) => changes.push((m) => m.up && resolve()));
      bots.server.listen(port, '127.0.0.1');
      await up;
      assert.equal((await r.get('/readyz')).status, 200);
      assert.equal(sample(await metrics(r), 'webhook_affinity_upstream_up', { upstream: `http://127.0.0.1:${port}/` }), 1);
    } finally {
      await r.close();
      bots.server.closeAllConnections();
      bots.server.close();
    }
  });

  const redisSkip = redisSkipReason() || (!PrivateRedis.available() && 'redis-server is not installed');

  it('GET /readyz stays 200 while Redis is away, says the store is degraded, and webhooks keep flowing', { skip: redisSkip }, async () => {
    const redis = await new PrivateRedis().start();
    const r = await start({ AFFINITY_MODE: 'cookie', STORE: 'redis', REDIS_URL: redis.url });
    try {
      assert.deepEqual((await r.get('/readyz')).json(), { status: 'ready', checks: { listening: { ok: true, detail: 'accepting requests' }, store: { ok: true, detail: 'Redis connected' } } });
      await redis.stop();
      const down = await eventuallyReadiness(r, (body) => body.checks.store.degraded === true);
      assert.equal(down.status, 200);
      assert.deepEqual(down.body.degraded, ['store']);
      assert.equal(down.body.status, 'ready');
      assert.match(down.body.checks.store.detail, /Redis unreachable/);
      assert.equal(sample(await metrics(r), 'webhook_affinity_store_up'), 0);
      assert.equal((await request(r.port, { body: webhook('alice') })).status, 200, 'webhooks flow without Redis');
      await redis.start();
      const back = await eventuallyReadiness(r, (body) => body.checks.store.detail === 'Redis connected');
      assert.equal(back.body.degraded, undefined);
    } finally {
      await r.close();
      await redis.stop();
    }
  });

  it('GET /readyz with READY_REQUIRES_STORE=true: 503 when Redis goes away, 200 when it returns', { skip: redisSkip }, async () => {
    const redis = await new PrivateRedis().start();
    const r = await start({ AFFINITY_MODE: 'cookie', STORE: 'redis', REDIS_URL: redis.url, READY_REQUIRES_STORE: 'true' });
    try {
      assert.equal((await r.get('/readyz')).status, 200);
      await redis.stop();
      const down = await eventuallyReadiness(r, (body) => body.checks.store.ok === false);
      assert.equal(down.status, 503);
      assert.deepEqual(down.body.checks.store, { ok: false, detail: 'Redis unreachable (READY_REQUIRES_STORE=true)' });
      await redis.start();
      assert.equal((await eventuallyReadiness(r, (body) => body.checks.store.ok === true)).status, 200);
    } finally {
      await r.close();
      await redis.stop();
    }
  });

  it('GET /metrics counts every request exactly once by outcome, and times the upstream', async () => {
    const r = await start({ WEBHOOK_SECRET: 's', MAX_BODY_BYTES: '2000' });
    try {
      const before = await metrics(r);
      const signed = (body: string) => ({ body, headers: { 'x-spark-signature': createHmac('sha1', 's').update(body).digest('hex') } });
      for (let i = 0; i < 3; i++) assert.equal((await request(r.port, signed(webhook(`a${i}`)))).status, 200);
      for (let i = 0; i < 2; i++) assert.equal((await request(r.port, signed('{"no":"key"}'))).status, 200);
      assert.equal((await request(r.port, { body: webhook('forged') })).status, 401);
      assert.equal((await request(r.port, signed(webhook('big', { pad: 'x'.repeat(3000) })))).status, 413);
      const after = await metrics(r);
      const delta = (outcome: string) => sample(after, 'webhook_affinity_requests_total', { mode: 'header', outcome }) - sample(before, 'webhook_affinity_requests_total', { mode: 'header', outcome });
      assert.equal(delta('affinity'), 3);
      assert.equal(delta('no-key'), 2);
      assert.equal(delta('signature-rejected'), 1);
      assert.equal(delta('too-large'), 1);
      assert.equal(delta('upstream-unreachable'), 0);
      const total = [...after].filter(([k]) => k.startsWith('webhook_affinity_requests_total')).reduce((n, [, v]) => n + v, 0);
      assert.equal(total, 7, 'every request counted once, nothing else');
      const upstream = `${r.upstream.url}/`;
      assert.equal(sample(after, 'webhook_affinity_upstream_response_seconds_count', { upstream }), 5);
      assert.ok(sample(after, 'process_cpu_user_seconds_total') > 0, 'default process metrics are there');
    } finally {
      await r.close();
    }
  });

  it('GET /metrics counts store hits and misses in cookie mode', async () => {
    const r = await start({ AFFINITY_MODE: 'cookie' }, (_req, res) => {
      res.setHeader('set-cookie', 'SERVERID=b1');
      res.end();
    });
    try {
      await request(r.port, { body: webhook('alice') });
      await request(r.port, { body: webhook('alice') });
      await request(r.port, { body: webhook('bob') });
      const m = await metrics(r);
      assert.equal(sample(m, 'webhook_affinity_store_lookups_total', { result: 'miss' }), 2);
      assert.equal(sample(m, 'webhook_affinity_store_lookups_total', { result: 'hit' }), 1);
      assert.equal(sample(m, 'webhook_affinity_learned_keys'), 2);
    } finally {
      await r.close();
    }
  });

  it('/affinity/<key> needs the token, shows the learned cookies, and DELETE forgets them', async () => {
    const r = await start({ AFFINITY_MODE: 'cookie', ADMIN_TOKEN: 'let-me-in' }, (_req, res) => {
      res.setHeader('set-cookie', 'AWSALB=abc+/=; Max-Age=600');
      res.end();
    });
    const key = 'Y2lzY29zcGFyazovL3VzL1BFT1BMRS8x/+=';
    const path = `/affinity/${encodeURIComponent(key)}`;
    const auth = { authorization: 'Bearer let-me-in' };
    try {
      await request(r.port, { body: webhook(key) });
      const missing = await r.get(path);
      assert.equal(missing.status, 401);
      assert.equal(missing.headers['www-authenticate'], 'Bearer');
      assert.equal((await r.get(path, { authorization: 'Bearer wrong' })).status, 401);

      const known = await r.get(path, auth);
      assert.equal(known.status, 200);
      const body = known.json();
      assert.equal(body.key, key);
      assert.equal(body.cookies.length, 1);
      assert.equal(body.cookies[0].name, 'AWSALB');
      assert.equal(body.cookies[0].value, 'abc+/=');
      assert.ok(Date.parse(body.cookies[0].expires) > Date.now());

      const forgotten = await request(r.admin, { method: 'DELETE', path, headers: auth });
      assert.equal(forgotten.status, 204);
      assert.deepEqual((await r.get(path, auth)).json().cookies, []);
      const received = r.upstream.nextRequest();
      await request(r.port, { body: webhook(key) });
      assert.equal((await received).headers.cookie, undefined, 'the forgotten cookie is not replayed');
    } finally {
      await r.close();
    }
  });

  it('/affinity/<key> in hash mode shows the key’s instance and rendezvous order', async () => {
    const a = await startUpstream();
    const b = await startUpstream();
    const r = await start({ AFFINITY_MODE: 'hash', UPSTREAMS: `${a.url},${b.url}`, ADMIN_TOKEN: 't' });
    try {
      const res = await r.get('/affinity/alice', { authorization: 'Bearer t' });
      assert.equal(res.status, 200);
      const body = res.json();
      assert.deepEqual(body.order.map((o: { upstream: string }) => o.upstream).sort(), [`${a.url}/`, `${b.url}/`].sort());
      assert.equal(body.upstream, body.order[0].upstream);
      assert.equal(body.order[0].available, true);
      assert.equal((await request(r.admin, { method: 'DELETE', path: '/affinity/alice', headers: { authorization: 'Bearer t' } })).status, 409);
    } finally {
      await r.close();
      await a.close();
      await b.close();
    }
  });
});

/** /readyz once its body satisfies `done` (Redis reconnects on its own schedule). */
function eventuallyReadiness(r: Running, done: (body: any) => boolean): Promise<{ status: number; body: any }> {
  return waitFor(
    async () => {
      const res = await r.get('/readyz');
      const body = res.json();
      return done(body) && { status: res.status, body };
    },
    '/readyz reaching the expected state',
    { ms: 10_000, pauseMs: 20 },
  );
}

describe('credentials in upstream URLs', () => {
  it('UPSTREAMS and TARGET_URL passwords appear in neither /metrics nor the access log', async () => {
    const bot = await startUpstream();
    const withPassword = (url: string) => url.replace('http://', 'http://deploy:hunter2@');
    const envs: Record<string, string>[] = [{ AFFINITY_MODE: 'hash', UPSTREAMS: withPassword(bot.url) }, { TARGET_URL: withPassword(bot.url) }];
    for (const env of envs) {
      const adminPort = await freePort();
      const server = await startServerProcess({ TARGET_URL: bot.url, ...env, ACCESS_LOG: 'json', ADMIN_PORT: String(adminPort) });
      try {
        assert.equal((await request(server.port, { body: webhook('alice') })).status, 200);
        const metrics = (await request(adminPort, { method: 'GET', path: '/metrics' })).body.toString();
        assert.match(metrics, /upstream="http:\/\/deploy:\*\*\*@127\.0\.0\.1:\d+\/"/, 'the upstream is still named, its password masked');
        await waitFor(() => server.stdout().includes('"upstream"') || undefined, 'an access log line');
        for (const [where, text] of [
          ['metrics', metrics],
          ['access log', server.stdout()],
          ['stderr', server.stderr()],
        ]) {
          assert.doesNotMatch(text!, /hunter2/, `no password in the ${where}`);
        }
      } finally {
        server.child.kill('SIGKILL');
      }
    }
    await bot.close();
  });
});
