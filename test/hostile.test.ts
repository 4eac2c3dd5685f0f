/**
 * Hostile and broken input: each row of the README's Security table, tried for real.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { gzipSync } from 'node:zlib';
import { rawExchange, request, startPair, startProxy, startUpstream, stopPair, webhook, type RunningProxy, type Upstream } from './helpers/http';
import { MemoryStore } from '../src/store/memory';
import type { RequestOutcome } from '../src/observe/outcomes';
import { waitFor } from './helpers/wait';
import { ENGINES } from './helpers/engines';

describe('hostile input', () => {
  let upstream: Upstream;
  let proxy: RunningProxy;
  const outcomes: RequestOutcome[] = [];
  const lastOutcome = () => outcomes.at(-1);
  before(async () => ({ upstream, proxy } = await startPair({ MAX_BODY_BYTES: String(3 * 1024 * 1024) }, undefined, { observer: { requestEnded: (r) => outcomes.push(r.outcome) } })));
  after(() => stopPair({ upstream, proxy }));

  /** Posts `body`; resolves with what the upstream received and the outcome reported. */
  async function forwarded(body: string | Buffer, headers: Record<string, string> = {}) {
    const received = upstream.nextRequest();
    const res = await request(proxy.port, { body, headers });
    assert.equal(res.status, 200);
    const got = await received;
    assert.deepEqual(got.body, Buffer.isBuffer(body) ? body : Buffer.from(body));
    return got;
  }

  it('a key with CR/LF or control characters: no header, no split, forwarded, counted', async () => {
    for (const key of ['alice\r\nX-Evil: 1', 'bob\u0000', 'tab\tkey', 'caf\u00e9']) {
      const got = await forwarded(webhook(key));
      assert.equal(got.headers.actorid, undefined);
      assert.equal(got.headers['x-evil'], undefined);
      assert.equal(lastOutcome(), 'invalid-key');
    }
  });

  it('a key longer than AFFINITY_KEY_MAX_LENGTH is no key', async () => {
    assert.equal((await forwarded(webhook('k'.repeat(257)))).headers.actorid, undefined);
    assert.equal(lastOutcome(), 'invalid-key');
  });

  it('100 000 levels of nesting: forwarded untouched, no crash', async () => {
    const deep = `{"actorId":"deep","x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    assert.equal((await forwarded(deep)).headers.actorid, 'deep');
    const deepObject = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    assert.equal((await forwarded(deepObject)).headers.actorid, undefined);
  });

  it('a 1 MiB string as actorId: no key, forwarded untouched', async () => {
    await forwarded(webhook('x'.repeat(1024 * 1024)));
    assert.equal(lastOutcome(), 'invalid-key');
  });

  it('duplicate actorId members: the last one wins, as documented', async () => {
    assert.equal((await forwarded('{"actorId":"first","actorId":"last"}')).headers.actorid, 'last');
  });

  it('a gzip body: forwarded untouched, without affinity (never decompressed)', async () => {
    const body = gzipSync(webhook('alice'));
    const got = await forwarded(body, { 'content-encoding': 'gzip' });
    assert.equal(got.headers['content-encoding'], 'gzip');
    assert.equal(got.headers.actorid, undefined);
    assert.equal(lastOutcome(), 'encoded');
  });

  it('a flood of distinct actors keeps the cookie store within AFFINITY_MAX_ENTRIES', async () => {
    const cookies = await startUpstream((_req, res) => {
      res.setHeader('set-cookie', 'AWSALB=v; Max-Age=600');
      res.end();
    });
    const store = new MemoryStore({ maxEntries: 50 });
    const flooded = await startProxy(cookies.url, { AFFINITY_MODE: 'cookie' }, { store });
    try {
      for (let i = 0; i < 500; i++) assert.equal((await request(flooded.port, { body: webhook(`actor-${i}`) })).status, 200);
      assert.equal(store.size(), 50);
    } finally {
      await flooded.close();
      await cookies.close();
    }
  });
});

describe('request smuggling and broken framing', () => {
  let upstream: Upstream;
  let proxy: RunningProxy;
  before(async () => ({ upstream, proxy } = await startPair({})));
  after(() => stopPair({ upstream, proxy }));

  const head = 'POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n';
  const cases: [string, string][] = [
    ['both Transfer-Encoding and Content-Length', `${head}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
    ['two different Content-Length values', `${head}Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}`],
    ['invalid chunk size', `${head}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`],
    ['a chunk longer than announced', `${head}Transfer-Encoding: chunked\r\n\r\n2\r\n{"a":1}\r\n0\r\n\r\n`],
    ['an obfuscated Transfer-Encoding', `${head}Transfer-Encoding: xchunked\r\n\r\n{}`],
    ['a bare LF in headers', 'POST /webhook HTTP/1.1\nHost: x\r\nContent-Length: 2\r\n\r\n{}'],
  ];
  for (const [name, bytes] of cases) {
    it(`${name}: answered 400 and closed, never forwarded`, async () => {
      const before = upstream.requests.length;
      const reply = await rawExchange(proxy.port, bytes);
      assert.match(reply, /^HTTP\/1\.1 400 /);
      assert.match(reply, /"status":400/);
      assert.equal(upstream.requests.length, before);
    });
  }

  it('a body shorter than its Content-Length, then the client closes: never forwarded half-read', async () => {
    const before = upstream.requests.length;
    const socket = net.connect(proxy.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.resume();
    socket.end(`${head}Content-Length: 100\r\n\r\n{"actorId":"a"}`);
    await once(socket, 'close');
    const received = upstream.nextRequest();
    await request(proxy.port, { path: '/after', body: webhook('a') });
    assert.equal((await received).url, '/after');
    assert.equal(upstream.requests.length, before + 1);
  });
});

describe('slow and idle clients', () => {
  let upstream: Upstream;
  let proxy: RunningProxy;
  before(async () => ({ upstream, proxy } = await startPair({ HEADERS_TIMEOUT_MS: '300', REQUEST_TIMEOUT_MS: '600' })));
  after(() => stopPair({ upstream, proxy }));

  it('slow headers (slowloris) are cut with 408 while others are served', async () => {
    const socket = net.connect(proxy.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('POST /webhook HTTP/1.1\r\nHost: x\r\n');
    let reply = '';
    socket.on('data', (c) => (reply += c.toString('latin1')));
    assert.equal((await request(proxy.port, { body: webhook('a') })).status, 200, 'others are served meanwhile');
    await once(socket, 'close');
    assert.match(reply, /^HTTP\/1\.1 408 /);
  });

  it('a slow body is cut with 408 and never forwarded', async () => {
    const before = upstream.requests.length;
    const socket = net.connect(proxy.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"actorId":');
    let reply = '';
    socket.on('data', (c) => (reply += c.toString('latin1')));
    await once(socket, 'close');
    assert.match(reply, /^HTTP\/1\.1 408 /);
    assert.equal(upstream.requests.length, before);
  });

  it('500 idle connections are closed by the timeouts, and others keep being served', async () => {
    const idle = await Promise.all(
      Array.from({ length: 500 }, async () => {
        const s = net.connect(proxy.port, '127.0.0.1');
        s.on('error', () => {});
        s.resume(); // read, so the server's close is seen
        await once(s, 'connect');
        return s;
      }),
    );
    assert.equal((await request(proxy.port, { body: webhook('a') })).status, 200);
    await Promise.all(idle.map((s) => (s.closed ? undefined : once(s, 'close'))));
    assert.equal((await request(proxy.port, { body: webhook('b') })).status, 200);
  });
});

for (const engine of ENGINES)
  describe(`clients that abort (FORWARD_ENGINE=${engine})`, () => {
    it('leak no proxy sockets and no upstream connections', async () => {
      let upstreamSockets = 0;
      const upstream = await startUpstream((req, res) => {
        if (req.url === '/slow') return; // holds the answer until the proxy gives up on it
        res.end('ok');
      });
      upstream.server.on('connection', (s: net.Socket) => {
        upstreamSockets++;
        s.on('close', () => upstreamSockets--);
      });
      const proxy = await startProxy(upstream.url, { FORWARD_ENGINE: engine });
      const proxySockets = new Set<net.Socket>();
      proxy.proxy.server.on('connection', (s: net.Socket) => {
        proxySockets.add(s);
        s.on('close', () => proxySockets.delete(s));
      });
      try {
        for (let i = 0; i < 20; i++) {
          // Mid-body:
          const a = net.connect(proxy.port, '127.0.0.1');
          await once(a, 'connect');
          a.write('POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"act');
          a.destroy();
          // Mid-response:
          const b = net.connect(proxy.port, '127.0.0.1');
          await once(b, 'connect');
          const received = upstream.nextRequest();
          b.write(`POST /slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`);
          await received;
          b.destroy();
        }
        assert.equal((await request(proxy.port, { path: '/ok', body: webhook('a') })).status, 200);
        // Wait until every proxy-side socket has closed; the upstream keeps at most the free
        // keep-alive connections of the agent, not one per aborted request.
        await Promise.all([...proxySockets].map((s) => once(s, 'close')));
        // An aborted upstream request's connection is closed by the proxy; the upstream hears it a moment later.
        await waitFor(() => upstreamSockets <= 1 || undefined, 'at most the one kept-alive upstream connection left open');
      } finally {
        await proxy.close();
        await upstream.close();
      }
    });
  });

describe('hostile upstream answers', () => {
  it('a huge Set-Cookie is not learned, and the response is still relayed', async () => {
    const upstream = await startUpstream((_req, res) => {
      res.setHeader('set-cookie', [`AWSALB=${'v'.repeat(10_000)}`, 'SERVERID=ok']);
      res.end('body');
    });
    const proxy = await startProxy(upstream.url, { AFFINITY_MODE: 'cookie' });
    try {
      const res = await request(proxy.port, { body: webhook('a') });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'body');
      const received = upstream.nextRequest();
      await request(proxy.port, { body: webhook('a') });
      assert.equal((await received).headers.cookie, 'SERVERID=ok');
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });

  it('response headers over the parser limit are a 502, and the proxy keeps serving', async () => {
    const upstream = await startUpstream((req, res) => {
      if (req.url !== '/ok') res.setHeader('set-cookie', `AWSALB=${'v'.repeat(20_000)}`);
      res.end('body');
    });
    const proxy = await startProxy(upstream.url, { AFFINITY_MODE: 'cookie' });
    try {
      assert.equal((await request(proxy.port, { body: webhook('a') })).status, 502);
      assert.equal((await request(proxy.port, { path: '/ok', body: webhook('a') })).status, 200);
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });
});
