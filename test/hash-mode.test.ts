/**
 * Hash mode end to end: real bot instances on 127.0.0.1, stopped and started again mid-stream.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Bot } from './helpers/bot';
import { request, startProxy, webhook, type RunningProxy } from './helpers/http';
import type { PoolMember } from '../src/upstream/pool';

/** What an instance got, health checks left out. */
function seen(bot: Bot): { actor: string | undefined; body: string; headers: http.IncomingHttpHeaders }[] {
  return bot.deliveries.filter((d) => d.path !== '/health').map((d) => ({ actor: d.headers.actorid as string | undefined, body: d.body.toString(), headers: d.headers }));
}

/** Instances that answer with their name, can be stopped, and started again on their port. */
async function bots(n: number): Promise<Bot[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) => {
      const bot = new Bot(`bot${i + 1}`);
      bot.answer = (_d, res) => res.end(bot.name);
      return bot.start();
    }),
  );
}

/** Resolves when the pool reports `url`'s member as `up`. */
function upstreamChange(changes: ((m: PoolMember) => void)[], url: string, up: boolean): Promise<void> {
  return new Promise((resolve) => changes.push((m) => m.id === `${url}/` && m.up === up && resolve()));
}

/** Runs `n` rounds of health probes now (HEALTH_CHECK_FALL and _RISE count rounds). */
async function probeRounds(proxy: RunningProxy, n: number): Promise<void> {
  const pool = proxy.proxy.pool;
  assert.ok(pool !== undefined, 'hash mode has a pool');
  for (let i = 0; i < n; i++) await pool.probeAll();
}

const ACTORS = Array.from({ length: 12 }, (_, i) => `actor-${i}`);

async function deliverAll(port: number): Promise<Map<string, string>> {
  const landed = new Map<string, string>();
  for (const actor of ACTORS) {
    const res = await request(port, { body: webhook(actor) });
    assert.equal(res.status, 200, `${actor} got ${res.status}`);
    landed.set(actor, res.body.toString());
  }
  return landed;
}

describe('hash mode', () => {
  it('sends each actor to one instance, injects the key header, and spreads keyless requests in turn', async () => {
    const fleet = await bots(3);
    const proxy = await startProxy('', { AFFINITY_MODE: 'hash', UPSTREAMS: fleet.map((b) => b.url).join(',') });
    try {
      const first = await deliverAll(proxy.port);
      assert.deepEqual(await deliverAll(proxy.port), first, 'the same actors land on the same instances');
      assert.ok(new Set(first.values()).size > 1, 'actors are spread over instances');
      assert.equal(
        fleet.flatMap(seen).every((s) => s.actor !== undefined && s.body.includes(s.actor)),
        true,
      );
      const keyless = [];
      for (let i = 0; i < 3; i++) keyless.push((await request(proxy.port, { method: 'GET', path: '/' })).body.toString());
      assert.deepEqual(keyless.sort(), ['bot1', 'bot2', 'bot3']);
    } finally {
      await proxy.close();
      for (const b of fleet) await b.stop();
    }
  });

  it('injects no header when AFFINITY_HEADER is set empty', async () => {
    const [bot] = await bots(1);
    const proxy = await startProxy('', { AFFINITY_MODE: 'hash', UPSTREAMS: bot!.url, AFFINITY_HEADER: '' });
    try {
      await request(proxy.port, { body: webhook('alice') });
      assert.equal(seen(bot!)[0]!.actor, undefined);
    } finally {
      await proxy.close();
      await bot!.stop();
    }
  });

  it('fails over without losing a webhook, moves only the lost instance’s actors, and moves them back', async () => {
    const fleet = await bots(3);
    const changes: ((m: PoolMember) => void)[] = [];
    const proxy = await startProxy(
      '',
      {
        AFFINITY_MODE: 'hash',
        UPSTREAMS: fleet.map((b) => b.url).join(','),
        HEALTH_CHECK_PATH: '/health',
        // Probes run when the test says (probeRounds), not on a timer.
        HEALTH_CHECK_INTERVAL_MS: '3600000',
        HEALTH_CHECK_RISE: '2',
        HEALTH_CHECK_FALL: '2',
      },
      {
        observer: {
          upstreamChanged: (m) => {
            for (const c of changes) c(m);
          },
        },
      },
    );
    try {
      const before = await deliverAll(proxy.port);
      const victim = fleet.find((b) => [...before.values()].includes(b.name))!;
      const victimsActors = ACTORS.filter((a) => before.get(a) === victim.name);
      assert.ok(victimsActors.length > 0);

      // Stopped mid-stream: every request still gets a 2xx (retried on the next choice).
      await victim.stop();
      const during = await deliverAll(proxy.port);
      for (const actor of ACTORS) {
        if (victimsActors.includes(actor)) assert.notEqual(during.get(actor), victim.name);
        else assert.equal(during.get(actor), before.get(actor), `${actor} must not move`);
      }
      assert.deepEqual(await deliverAll(proxy.port), during, 'the second choices are stable');

      // Started again on its port: the health check brings it back and its actors return.
      const back = upstreamChange(changes, victim.url, true);
      await victim.start();
      await probeRounds(proxy, 2);
      await back;
      assert.deepEqual(await deliverAll(proxy.port), before);
    } finally {
      await proxy.close();
      for (const b of fleet) await b.stop();
    }
  });

  it('retries on the next instance with the headers the client sent, X-Forwarded-* appended once', async () => {
    const fleet = await bots(2);
    const proxy = await startProxy('', { AFFINITY_MODE: 'hash', UPSTREAMS: fleet.map((b) => b.url).join(','), HEALTH_CHECK_FALL: '5' });
    try {
      const first = (await request(proxy.port, { body: webhook('actor-retry') })).body.toString();
      const [down, other] = first === fleet[0]!.name ? [fleet[0]!, fleet[1]!] : [fleet[1]!, fleet[0]!];
      await down.stop();
      const body = webhook('actor-retry');
      const res = await request(proxy.port, { body, headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' } });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), other.name, 'retried on the other instance');
      const got = seen(other).at(-1)!;
      assert.equal(got.body, body);
      assert.equal(got.actor, 'actor-retry');
      assert.equal(got.headers['x-forwarded-for'], '203.0.113.7,127.0.0.1');
      assert.equal(got.headers['x-forwarded-proto'], 'https,http');
      assert.equal(got.headers['x-forwarded-port'], String(proxy.port));
      assert.equal(got.headers['x-forwarded-host'], `127.0.0.1:${proxy.port}`);
    } finally {
      await proxy.close();
      for (const b of fleet) await b.stop();
    }
  });

  it('answers 503 with Retry-After when every instance is down, and recovers without a restart', async () => {
    const fleet = await bots(2);
    const changes: ((m: PoolMember) => void)[] = [];
    const proxy = await startProxy(
      '',
      // Probes run when the test says (probeRounds), not on a timer.
      { AFFINITY_MODE: 'hash', UPSTREAMS: fleet.map((b) => b.url).join(','), HEALTH_CHECK_PATH: '/health', HEALTH_CHECK_INTERVAL_MS: '3600000' },
      {
        observer: {
          upstreamChanged: (m) => {
            for (const c of changes) c(m);
          },
        },
      },
    );
    try {
      const down = fleet.map((b) => upstreamChange(changes, b.url, false));
      for (const b of fleet) await b.stop();
      await probeRounds(proxy, 2);
      await Promise.all(down);
      const res = await request(proxy.port, { body: webhook('alice') });
      assert.equal(res.status, 503);
      assert.equal(res.json().status, 503);
      assert.ok(Number(res.headers['retry-after']) >= 1);

      const up = upstreamChange(changes, fleet[0]!.url, true);
      await fleet[0]!.start();
      await probeRounds(proxy, 2);
      await up;
      const again = await request(proxy.port, { body: webhook('alice') });
      assert.equal(again.status, 200);
      assert.equal(again.body.toString(), 'bot1');
    } finally {
      await proxy.close();
      for (const b of fleet) await b.stop();
    }
  });

  it('never replays a request that reached an upstream', async () => {
    let received = 0;
    const resets = http.createServer((req) => {
      received++;
      req.socket.destroy();
    });
    resets.listen(0, '127.0.0.1');
    await once(resets, 'listening');
    const [other] = await bots(1);
    const resetsUrl = `http://127.0.0.1:${(resets.address() as AddressInfo).port}`;
    const proxy = await startProxy('', { AFFINITY_MODE: 'hash', UPSTREAMS: `${resetsUrl},${other!.url}` });
    try {
      // Find an actor whose first choice is the resetting upstream.
      const actor = ACTORS.find((a) => proxy.proxy.pool!.candidates(a)[0]!.id === `${resetsUrl}/`)!;
      const res = await request(proxy.port, { body: webhook(actor) });
      assert.equal(res.status, 502);
      assert.equal(received, 1);
      assert.equal(seen(other!).length, 0, 'the other upstream never got the request');
    } finally {
      await proxy.close();
      await other!.stop();
      resets.closeAllConnections();
      resets.close();
    }
  });
});
