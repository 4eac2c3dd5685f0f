import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, fixture, request, startProxy, startUpstream, webhook, type RunningProxy, type Upstream } from './helpers/http';
import { waitFor } from './helpers/wait';
import { ENGINES } from './helpers/engines';

for (const engine of ENGINES)
  describe(`forwarding (FORWARD_ENGINE=${engine})`, () => {
    let upstream: Upstream;
    let proxy: RunningProxy;
    before(async () => {
      upstream = await startUpstream((req, res) => {
        res.setHeader('x-upstream', 'yes');
        res.setHeader('content-type', 'text/plain; charset=utf-8');
        res.statusCode = req.url?.startsWith('/created') ? 201 : 200;
        res.end('héllo from upstream\n');
      });
      proxy = await startProxy(upstream.url, { FORWARD_ENGINE: engine });
    });
    after(async () => {
      await proxy.close();
      await upstream.close();
    });

    it('forwards a pretty-printed, non-ASCII body byte for byte', async () => {
      const body = fixture('membership-deleted.json');
      assert.ok(body.includes(Buffer.from('\n')) && body.some((b) => b > 0x7f), 'fixture is pretty-printed and non-ASCII');
      const received = upstream.nextRequest();
      const res = await request(proxy.port, { body });
      assert.equal(res.status, 200);
      const got = await received;
      assert.deepEqual(got.body, body);
      assert.equal(got.headers['content-length'], String(body.length));
    });

    it('forwards a chunked body byte for byte, with a Content-Length instead of chunking', async () => {
      const body = fixture('message-created.json');
      const pieces = [body.subarray(0, 7), body.subarray(7, 500), body.subarray(500)];
      const received = upstream.nextRequest();
      const res = await request(proxy.port, { chunks: pieces });
      assert.equal(res.status, 200);
      const got = await received;
      assert.deepEqual(got.body, body);
      assert.equal(got.headers['content-length'], String(body.length));
      assert.equal(got.headers['transfer-encoding'], undefined);
      assert.equal(got.headers.actorid, ALICE);
    });

    it('relays the upstream status, headers and body unchanged', async () => {
      const res = await request(proxy.port, { path: '/created', body: webhook('a') });
      assert.equal(res.status, 201);
      assert.equal(res.headers['x-upstream'], 'yes');
      assert.equal(res.body.toString('utf8'), 'héllo from upstream\n');
    });

    it('keeps the path and query', async () => {
      const received = upstream.nextRequest();
      await request(proxy.port, { path: '/hooks/webex?token=abc&x=1%202', body: webhook('a') });
      assert.equal((await received).url, '/hooks/webex?token=abc&x=1%202');
    });

    it('passes a GET through unchanged, with its query and without affinity', async () => {
      const received = upstream.nextRequest();
      const res = await request(proxy.port, { method: 'GET', path: '/status?verbose=1', headers: { 'x-custom': 'kept' } });
      assert.equal(res.status, 200);
      const got = await received;
      assert.equal(got.method, 'GET');
      assert.equal(got.url, '/status?verbose=1');
      assert.equal(got.headers['x-custom'], 'kept');
      assert.equal(got.headers.actorid, undefined);
    });

    it('streams a non-JSON POST through untouched, without affinity', async () => {
      const body = Buffer.from(`actorId=${ALICE}&x=\u00e9`, 'utf8');
      const received = upstream.nextRequest();
      await request(proxy.port, { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      const got = await received;
      assert.deepEqual(got.body, body);
      assert.equal(got.headers.actorid, undefined);
    });

    it('forwards invalid JSON unchanged, without affinity', async () => {
      const body = Buffer.from('{"actorId": "abc", oops');
      const received = upstream.nextRequest();
      const res = await request(proxy.port, { body });
      assert.equal(res.status, 200);
      const got = await received;
      assert.deepEqual(got.body, body);
      assert.equal(got.headers.actorid, undefined);
    });

    it('adds X-Forwarded-For, -Proto and -Host', async () => {
      const received = upstream.nextRequest();
      await request(proxy.port, { body: webhook('a'), headers: { host: 'bots.example.com' } });
      const got = await received;
      assert.equal(got.headers['x-forwarded-for'], '127.0.0.1');
      assert.equal(got.headers['x-forwarded-proto'], 'http');
      assert.equal(got.headers['x-forwarded-host'], 'bots.example.com');
    });

    it("sets Host to the target's by default (CHANGE_ORIGIN)", async () => {
      const received = upstream.nextRequest();
      await request(proxy.port, { body: webhook('a'), headers: { host: 'bots.example.com' } });
      assert.equal((await received).headers.host, `127.0.0.1:${upstream.port}`);
    });

    it('removes hop-by-hop headers and those the Connection header names', async () => {
      const received = upstream.nextRequest();
      await request(proxy.port, {
        body: webhook('a'),
        headers: { connection: 'keep-alive, x-hop', 'x-hop': '1', 'keep-alive': 'timeout=5', te: 'trailers', 'x-end-to-end': '1' },
      });
      const got = await received;
      assert.equal(got.headers['x-hop'], undefined);
      assert.equal(got.headers.te, undefined);
      assert.equal(got.headers['keep-alive'], undefined);
      assert.equal(got.headers['x-end-to-end'], '1');
    });

    it('reuses upstream connections (keep-alive agent)', async () => {
      const before = upstream.requests.length;
      for (let i = 0; i < 5; i++) await request(proxy.port, { body: webhook(`user-${i}`) });
      const ports = new Set(upstream.requests.slice(before).map((r) => r.remotePort));
      assert.equal(ports.size, 1, `5 sequential requests used ${ports.size} upstream connections`);
    });
  });

for (const engine of ENGINES)
  describe(`forwarding to a target with a path (FORWARD_ENGINE=${engine})`, () => {
    it('joins the target path as a prefix to the request path', async () => {
      const upstream = await startUpstream();
      const proxy = await startProxy(`${upstream.url}/bots/a`, { FORWARD_ENGINE: engine, CHANGE_ORIGIN: 'false' });
      try {
        const received = upstream.nextRequest();
        await request(proxy.port, { path: '/webhook?x=1', body: webhook('a'), headers: { host: 'public.example' } });
        const got = await received;
        assert.equal(got.url, '/bots/a/webhook?x=1');
        assert.equal(got.headers.host, 'public.example', 'CHANGE_ORIGIN=false keeps the client Host');
      } finally {
        await proxy.close();
        await upstream.close();
      }
    });
  });

for (const engine of ENGINES)
  describe(`idle upstream connections (FORWARD_ENGINE=${engine})`, () => {
    it('closes an idle upstream connection after UPSTREAM_KEEP_ALIVE_MS', async () => {
      const upstream = await startUpstream();
      // Far shorter than the 4 s default, so the close seen below can only come from the setting.
      const proxy = await startProxy(upstream.url, { FORWARD_ENGINE: engine, UPSTREAM_KEEP_ALIVE_MS: '50' });
      try {
        const closed = new Promise<void>((resolve) => upstream.server.once('connection', (socket) => socket.once('close', () => resolve())));
        // A kept-alive client, so the proxy's upstream request is not told to close either.
        await request(proxy.port, { body: webhook('a'), headers: { connection: 'keep-alive' } });
        let gone = false;
        void closed.then(() => (gone = true));
        await waitFor(() => gone, 'the idle upstream connection closed by the proxy', { ms: 2000 });
      } finally {
        await proxy.close();
        await upstream.close();
      }
    });
  });
