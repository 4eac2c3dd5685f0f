/**
 * WORKERS=N: one port served by N processes, a dead worker replaced, all drained on SIGTERM,
 * and the cookie-mode combination that cannot work refused.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { heldAnswers, request, startUpstream, webhook } from './helpers/http';
import { waitFor } from './helpers/wait';
import { runServerProcess, startServerProcess } from './helpers/process';
import { freePort } from './helpers/haproxy';
import { parseExposition, sample } from './helpers/metrics';

/** Worker pids the primary has logged as listening, in order. */
const listeningWorkers = (stderr: string) => [...stderr.matchAll(/worker (\d+) listening/g)].map((m) => Number(m[1]));

/** Resolves once the process has logged a line matching `pattern`. */
async function logged(stderr: () => string, pattern: RegExp, exited: Promise<unknown>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  await waitFor(() => pattern.test(stderr()), `a line matching ${pattern}`, { ms: 30_000, pauseMs: 5, gaveUp: () => gone && !pattern.test(stderr()) });
}

/** Resolves with the worker pids once `count` workers have logged that they listen. */
async function workersListening(stderr: () => string, count: number, exited: Promise<unknown>): Promise<number[]> {
  await logged(stderr, new RegExp(`(worker \\d+ listening[\\s\\S]*){${count}}`), exited);
  return listeningWorkers(stderr());
}

describe('WORKERS', () => {
  it('serves one port from several processes, replaces a dead worker and drains all on SIGTERM', { timeout: 60_000 }, async () => {
    const answers = heldAnswers();
    const upstream = await startUpstream(answers.handler);
    const adminPort = await freePort();
    const server = await startServerProcess({ TARGET_URL: upstream.url, WORKERS: '2', DEBUG: 'webhook-affinity:server', ADMIN_PORT: String(adminPort) });
    try {
      assert.match(server.stdout(), /, 2 workers; admin on http:\/\/127.0.0.1:\d+\n/);
      const [first, second] = await workersListening(server.stderr, 2, server.exited);
      assert.notEqual(first, second);
      assert.notEqual(first, server.child.pid);

      // Four requests in flight, spread over both workers; then one worker dies.
      // Settled at once: the dead worker's requests fail before anything awaits them.
      const inFlight = Array.from({ length: 4 }, (_, i) =>
        request(server.port, { body: webhook(`a${i}`) }).then(
          (res) => ({ status: 'fulfilled' as const, value: res }),
          (reason: unknown) => ({ status: 'rejected' as const, reason }),
        ),
      );
      await answers.waitFor(4);
      process.kill(first!, 'SIGKILL');
      await logged(server.stderr, new RegExp(`worker ${first} exited \\(SIGKILL\\); starting a new one`), server.exited);
      answers.releaseAll();
      const settled = await Promise.all(inFlight);
      const answered = settled.filter((r) => r.status === 'fulfilled');
      assert.ok(answered.length >= 1, 'the surviving worker’s requests are answered');
      for (const r of answered) assert.equal(r.value.status, 200);

      // A new worker takes the dead one's place, and every request is served.
      const [, , replacement] = await workersListening(server.stderr, 3, server.exited);
      assert.ok(replacement !== undefined && replacement !== first && replacement !== second);
      answers.answerAtOnce();
      for (let i = 0; i < 10; i++) assert.equal((await request(server.port, { body: webhook(`c${i}`) })).status, 200);

      // The primary's /metrics adds up the workers' counters (the dead worker's are gone with it).
      const exposition = parseExposition((await request(adminPort, { method: 'GET', path: '/metrics' })).body.toString());
      const affinity = sample(exposition, 'webhook_affinity_requests_total', { mode: 'header', outcome: 'affinity' });
      assert.ok(affinity >= 10 && affinity <= 14, `${affinity} requests counted`);
      const ready = await request(adminPort, { method: 'GET', path: '/readyz' });
      assert.equal(ready.status, 200);
      assert.equal(ready.json().checks.listening.detail, '2 of 2 workers listening');

      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
      for (const pid of [second!, replacement]) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `worker ${pid} is gone`);
    } finally {
      server.child.kill('SIGKILL');
      await upstream.close();
    }
  });

  it('refuses WORKERS>1 with STORE=memory in cookie mode, naming STORE=redis', async () => {
    const { code, stderr } = await runServerProcess({ AFFINITY_MODE: 'cookie', WORKERS: '2' });
    assert.equal(code, 2);
    assert.match(stderr, /WORKERS="2".*STORE=redis/);
  });
});
