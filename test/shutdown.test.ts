import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { heldAnswers, request, startProxy, startUpstream, webhook } from './helpers/http';
import { startServerProcess } from './helpers/process';

describe('graceful shutdown', () => {
  it('lets a request in flight finish, refuses new connections, then resolves', async () => {
    const answers = heldAnswers();
    const upstream = await startUpstream(answers.handler);
    const proxy = await startProxy(upstream.url);
    try {
      const order: string[] = [];
      const inFlight = request(proxy.port, { body: webhook('a') });
      await answers.waitFor(1);
      const closed = proxy.close().then(() => order.push('closed'));
      await assert.rejects(request(proxy.port, { body: webhook('b') }), { code: 'ECONNREFUSED' });
      order.push('released');
      answers.releaseAll();
      const res = await inFlight;
      await closed;
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'released');
      assert.deepEqual(order, ['released', 'closed'], 'close() waited for the request in flight');
    } finally {
      answers.releaseAll();
      await proxy.close();
      await upstream.close();
    }
  });

  it('cuts requests still in flight after SHUTDOWN_TIMEOUT_MS', async () => {
    const answers = heldAnswers();
    const upstream = await startUpstream(answers.handler);
    const proxy = await startProxy(upstream.url, { SHUTDOWN_TIMEOUT_MS: '100' });
    const inFlight = request(proxy.port, { body: webhook('a') });
    await answers.waitFor(1);
    await proxy.close();
    await assert.rejects(inFlight);
    await upstream.close();
  });

  it('does not wait for idle keep-alive connections', { timeout: 5000 }, async () => {
    const upstream = await startUpstream();
    const proxy = await startProxy(upstream.url);
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => http.get({ host: '127.0.0.1', port: proxy.port, path: '/', agent }, (res) => res.resume().on('end', resolve)).on('error', reject));
    assert.equal(Object.keys(agent.freeSockets).length, 1, 'the client keeps an idle connection open');
    await proxy.close();
    agent.destroy();
    await upstream.close();
  });

  it('can be called twice', async () => {
    const upstream = await startUpstream();
    const proxy = await startProxy(upstream.url);
    const first = proxy.close();
    assert.equal(proxy.close(), first);
    await first;
    await upstream.close();
  });

  it('on SIGTERM the process answers its request in flight, then exits 0', async () => {
    const answers = heldAnswers();
    const upstream = await startUpstream(answers.handler);
    const server = await startServerProcess({ TARGET_URL: upstream.url });
    const inFlight = request(server.port, { body: webhook('a') });
    await answers.waitFor(1);
    server.child.kill('SIGTERM');
    // The listener closes first; the held request is still answered.
    answers.releaseAll();
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal(await server.exited, 0);
    await upstream.close();
  });

  it('a stop that drops accepted webhooks (queued, memory spool, bot down past SHUTDOWN_TIMEOUT_MS) exits 3, not 0', async () => {
    const bot = await startUpstream((_req, res) => res.writeHead(503).end());
    const server = await startServerProcess({ TARGET_URL: bot.url, DELIVERY: 'queued', SHUTDOWN_TIMEOUT_MS: '200', QUEUE_RETRY_MIN_MS: '50' });
    try {
      assert.match((await request(server.port, { body: webhook('a') })).body.toString(), /"queued"/);
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 3);
      assert.match(server.stderr(), /1 webhook\(s\) not delivered are dropped with the process/);
    } finally {
      await bot.close();
    }
  });

  it('a queued stop that delivered everything exits 0', async () => {
    const bot = await startUpstream();
    const server = await startServerProcess({ TARGET_URL: bot.url, DELIVERY: 'queued' });
    try {
      assert.match((await request(server.port, { body: webhook('a') })).body.toString(), /"queued"/);
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
      assert.equal(bot.requests.length, 1);
    } finally {
      await bot.close();
    }
  });
});
