import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { keyTag } from '../src/log';
import { ALICE, closedPortUrl, fixture, heldAnswers, request, startUpstream, webhook } from './helpers/http';
import { startServerProcess } from './helpers/process';

describe('ACCESS_LOG=json', () => {
  it('writes one JSON line per request, with the key hashed and no query string', async () => {
    const upstream = await startUpstream();
    const server = await startServerProcess({ TARGET_URL: upstream.url, ACCESS_LOG: 'json' });
    try {
      const body = fixture('message-created.json');
      assert.equal((await request(server.port, { path: '/hook?token=secret', body })).status, 200);
      assert.equal((await request(server.port, { method: 'GET', path: '/status' })).status, 200);
      assert.equal((await request(server.port, { body: 'not json' })).status, 200);
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);

      const lines = server.stdout().trim().split('\n').slice(1); // after the start line
      assert.equal(lines.length, 3);
      const [first, second, third] = lines.map((l) => JSON.parse(l));
      assert.deepEqual(Object.keys(first).sort(), ['bytesIn', 'bytesOut', 'durationMs', 'key', 'method', 'mode', 'outcome', 'path', 'status', 'time', 'upstream'].sort());
      assert.equal(first.method, 'POST');
      assert.equal(first.path, '/hook');
      assert.equal(first.status, 200);
      assert.equal(first.mode, 'header');
      assert.equal(first.outcome, 'affinity');
      assert.equal(first.upstream, `${upstream.url}/`);
      assert.equal(first.bytesIn, body.length);
      assert.ok(first.bytesOut > 0);
      assert.ok(first.durationMs >= 0);
      assert.ok(!Number.isNaN(Date.parse(first.time)));
      assert.equal(first.key, keyTag(ALICE));
      assert.equal(second.outcome, 'passthrough');
      assert.equal(second.key, null);
      assert.equal(third.outcome, 'not-json');
      const all = server.stdout() + server.stderr();
      assert.doesNotMatch(all, new RegExp(ALICE), 'the actor id never appears raw');
      assert.doesNotMatch(all, /token=secret/);
    } finally {
      await upstream.close();
    }
  });

  it('writes the line of a request answered during a graceful shutdown before exiting', async () => {
    const answers = heldAnswers();
    const upstream = await startUpstream(answers.handler);
    const server = await startServerProcess({ TARGET_URL: upstream.url, ACCESS_LOG: 'json' });
    try {
      const inFlight = request(server.port, { body: webhook('a') });
      await answers.waitFor(1);
      server.child.kill('SIGTERM');
      answers.releaseAll();
      assert.equal((await inFlight).status, 200);
      assert.equal(await server.exited, 0);
      const lines = server.stdout().trim().split('\n').slice(1);
      assert.equal(lines.length, 1);
      assert.equal(JSON.parse(lines[0]!).status, 200);
    } finally {
      await upstream.close();
    }
  });

  it('logs upstream failures with their status and outcome', async () => {
    const server = await startServerProcess({ TARGET_URL: await closedPortUrl(), ACCESS_LOG: 'json' });
    assert.equal((await request(server.port, { body: webhook('a') })).status, 502);
    server.child.kill('SIGTERM');
    await server.exited;
    const entry = JSON.parse(server.stdout().trim().split('\n')[1]!);
    assert.equal(entry.status, 502);
    assert.equal(entry.outcome, 'upstream-unreachable');
  });
});

describe('ACCESS_LOG=json with DELIVERY=queued', () => {
  it('writes a line per request and a line per delivery attempt, keys hashed, no query string', async () => {
    const upstream = await startUpstream();
    const server = await startServerProcess({ TARGET_URL: upstream.url, ACCESS_LOG: 'json', DELIVERY: 'queued' });
    try {
      const delivered = upstream.nextRequest();
      const res = await request(server.port, { path: '/hook?token=secret', body: fixture('message-created.json') });
      assert.equal(res.status, 200);
      const { queued } = res.json() as { queued: string };
      await delivered;
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);

      const lines = server
        .stdout()
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => JSON.parse(l));
      const accepted = lines.find((l) => l.outcome === 'queued');
      const attempt = lines.find((l) => l.delivery === queued);
      assert.ok(accepted !== undefined && attempt !== undefined, server.stdout());
      assert.equal(accepted.status, 200);
      assert.deepEqual(
        [attempt.attempt, attempt.path, attempt.status, attempt.error, attempt.outcome, attempt.upstream, attempt.key],
        [1, '/hook', 200, null, 'delivered', `${upstream.url}/`, keyTag(ALICE)],
      );
      const all = server.stdout() + server.stderr();
      assert.doesNotMatch(all, new RegExp(ALICE), 'the actor id never appears raw');
      assert.doesNotMatch(all, /token=secret/);
    } finally {
      await upstream.close();
    }
  });
});
