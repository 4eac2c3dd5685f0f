import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { closedPortUrl, dripAnswer, rawExchange, request, startProxy, startUpstream, webhook, type UpstreamHandler } from './helpers/http';
import type { Env } from '../src/config/env-reader';
import { ENGINES } from './helpers/engines';

/** Runs `body` against a proxy in front of an upstream with `handler`, then checks it still serves. */
async function withProxy(handler: UpstreamHandler | undefined, env: Env, body: (ctx: { port: number; upstream: Awaited<ReturnType<typeof startUpstream>> }) => Promise<void>) {
  const upstream = await startUpstream(handler);
  const proxy = await startProxy(upstream.url, env);
  try {
    await body({ port: proxy.port, upstream });
  } finally {
    await proxy.close();
    await upstream.close();
  }
}

function assertErrorShape(res: { status: number; headers: http.IncomingHttpHeaders; json(): any }, status: number) {
  assert.equal(res.status, status);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json();
  assert.equal(body.status, status);
  assert.equal(typeof body.error, 'string');
  assert.equal(typeof body.message, 'string');
}

for (const engine of ENGINES)
  describe(`upstream errors (FORWARD_ENGINE=${engine})`, () => {
    it('answers 502 when the upstream refuses the connection, and keeps serving', async () => {
      const proxy = await startProxy(await closedPortUrl(), { FORWARD_ENGINE: engine });
      try {
        for (let i = 0; i < 3; i++) assertErrorShape(await request(proxy.port, { body: webhook('a') }), 502);
      } finally {
        await proxy.close();
      }
    });

    it('answers 502 when the upstream name does not resolve', async () => {
      const proxy = await startProxy('http://no-such-host.invalid:8080', { FORWARD_ENGINE: engine });
      try {
        assertErrorShape(await request(proxy.port, { body: webhook('a') }), 502);
      } finally {
        await proxy.close();
      }
    });

    it('answers 502 when the upstream resets the connection before answering', async () => {
      const reset: UpstreamHandler = (req, res) => (req.url === '/ok' ? res.end('fine') : req.socket.destroy());
      await withProxy(reset, { FORWARD_ENGINE: engine }, async ({ port }) => {
        assertErrorShape(await request(port, { body: webhook('a') }), 502);
        const ok = await request(port, { path: '/ok', body: webhook('a') });
        assert.equal(ok.status, 200);
        assert.equal(ok.body.toString(), 'fine');
      });
    });

    it('answers 504 when the upstream is silent past UPSTREAM_TIMEOUT_MS', async () => {
      const silent: UpstreamHandler = (req, res) => {
        if (req.url === '/ok') res.end('fine');
      };
      await withProxy(silent, { FORWARD_ENGINE: engine, UPSTREAM_TIMEOUT_MS: '150' }, async ({ port }) => {
        assertErrorShape(await request(port, { body: webhook('a') }), 504);
        assert.equal((await request(port, { path: '/ok', body: webhook('a') })).status, 200);
      });
    });

    it('cuts the client connection when the upstream stalls mid-answer past UPSTREAM_TIMEOUT_MS', async () => {
      const stalls: UpstreamHandler = (req, res) => {
        if (req.url === '/ok') return void res.end('fine');
        res.writeHead(200, { 'content-length': '1000' });
        res.write('partial'); // and nothing more, with the connection left open
      };
      await withProxy(stalls, { FORWARD_ENGINE: engine, UPSTREAM_TIMEOUT_MS: '150' }, async ({ port }) => {
        const started = performance.now();
        await assert.rejects(request(port, { body: webhook('a') }), (err: NodeJS.ErrnoException) => {
          assert.ok(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE'].includes(err.code ?? '') || /aborted/.test(err.message), String(err));
          return true;
        });
        assert.ok(performance.now() - started >= 150, 'not before the timeout');
        assert.equal((await request(port, { path: '/ok', body: webhook('a') })).status, 200);
      });
    });

    it('lets a slow upstream that keeps sending finish: UPSTREAM_TIMEOUT_MS is a time without progress', async () => {
      // 8 bytes, one every 50 ms: 400 ms in all, never 150 ms without a byte.
      const drips: UpstreamHandler = (_req, res) => dripAnswer(res, 8, 50);
      await withProxy(drips, { FORWARD_ENGINE: engine, UPSTREAM_TIMEOUT_MS: '150' }, async ({ port }) => {
        const reply = await request(port, { body: webhook('a') });
        assert.equal(reply.status, 200);
        assert.equal(reply.body.toString(), '.'.repeat(8));
      });
    });

    it('cuts the client connection when the upstream dies mid-response, rather than hang', async () => {
      const dies: UpstreamHandler = (req, res) => {
        res.writeHead(200, { 'content-length': '1000' });
        res.write('partial');
        setImmediate(() => req.socket.destroy());
      };
      await withProxy(dies, { FORWARD_ENGINE: engine }, async ({ port }) => {
        await assert.rejects(request(port, { body: webhook('a') }), (err: NodeJS.ErrnoException) => {
          assert.ok(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE'].includes(err.code ?? '') || /aborted/.test(err.message), String(err));
          return true;
        });
      });
    });
  });

describe('request body limits', () => {
  const env = { MAX_BODY_BYTES: '1000' };

  it('answers 413 at once to a declared Content-Length over MAX_BODY_BYTES; the upstream sees nothing', async () => {
    await withProxy(undefined, env, async ({ port, upstream }) => {
      // Only the headers are sent: the answer must not wait for a body that never comes.
      const reply = await rawExchange(port, 'POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1001\r\n\r\n');
      assert.match(reply, /^HTTP\/1\.1 413 /);
      assert.match(reply, /"status":413/);
      assert.match(reply, /Connection: close/i);
      assert.equal(upstream.requests.length, 0);
    });
  });

  it('answers 413 to a chunked body as soon as it grows past MAX_BODY_BYTES', async () => {
    await withProxy(undefined, env, async ({ port, upstream }) => {
      const chunk = (s: string) => `${s.length.toString(16)}\r\n${s}\r\n`;
      // 1200 bytes announced in chunks, never terminated: the 413 must come anyway.
      const reply = await rawExchange(
        port,
        `POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk('{"actorId":"a","pad":"')}${chunk('x'.repeat(600))}${chunk('x'.repeat(600))}`,
      );
      assert.match(reply, /^HTTP\/1\.1 413 /);
      assert.equal(upstream.requests.length, 0);
    });
  });

  it('accepts a body of exactly MAX_BODY_BYTES', async () => {
    await withProxy(undefined, env, async ({ port, upstream }) => {
      const body = webhook('a', { pad: '' });
      const exact = `${body.slice(0, -1) + ' '.repeat(1000 - body.length)}}`;
      assert.equal(Buffer.byteLength(exact), 1000);
      const received = upstream.nextRequest();
      assert.equal((await request(port, { body: exact })).status, 200);
      assert.equal((await received).body.toString(), exact);
    });
  });
});

for (const engine of ENGINES)
  describe(`clients that go away (FORWARD_ENGINE=${engine})`, () => {
    it('drops a client that disconnects mid-body without forwarding half a request', async () => {
      await withProxy(undefined, { FORWARD_ENGINE: engine }, async ({ port, upstream }) => {
        const socket = net.connect(port, '127.0.0.1');
        await once(socket, 'connect');
        socket.write('POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"actorId":');
        socket.destroy();
        await once(socket, 'close');
        const received = upstream.nextRequest();
        assert.equal((await request(port, { path: '/after', body: webhook('a') })).status, 200);
        assert.equal((await received).url, '/after');
        assert.equal(upstream.requests.length, 1, 'the half-sent request never reached the upstream');
      });
    });

    it('closes the upstream request when the client leaves while waiting for the answer', async () => {
      let upstreamSawClose!: Promise<unknown>;
      const holds: UpstreamHandler = (req, res) => {
        if (req.url === '/after') return void res.end('fine');
        upstreamSawClose = once(res, 'close');
      };
      await withProxy(holds, { FORWARD_ENGINE: engine }, async ({ port, upstream }) => {
        const received = upstream.nextRequest();
        const client = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/hold', agent: false, headers: { 'content-type': 'application/json' } });
        client.on('error', () => {});
        client.end(webhook('a'));
        await received;
        client.destroy();
        await upstreamSawClose;
        assert.equal((await request(port, { path: '/after', body: webhook('a') })).status, 200);
      });
    });
  });
