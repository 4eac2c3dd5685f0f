/**
 * End to end: webhook-affinity in front of a real HAProxy with three bot instances behind it.
 * Every actor's events must land on one instance, in header mode (`balance hdr(Actorid)`) and in
 * cookie mode (`cookie SERVERID insert`), while without the proxy they spread.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request, startProxy, startUpstream, webhook, type Upstream } from './helpers/http';
import { freePort, haproxyPreamble, haproxySkipReason, startHaproxy, type RunningHaproxy } from './helpers/haproxy';

const skip = haproxySkipReason();
const ACTORS = ['alice', 'bob', 'carol', 'dave'];
const EVENTS_PER_ACTOR = 6;

describe('end to end through HAProxy', { skip }, () => {
  const bots: Upstream[] = [];
  let haproxy: RunningHaproxy;
  let byHeaderPort: number;
  let byCookiePort: number;

  before(async () => {
    for (const name of ['bot1', 'bot2', 'bot3']) {
      bots.push(
        await startUpstream((_req, res) => {
          res.setHeader('content-type', 'text/plain');
          res.end(name);
        }),
      );
    }
    byHeaderPort = await freePort();
    byCookiePort = await freePort();
    const servers = (cookie: boolean) => bots.map((b, i) => `  server bot${i + 1} 127.0.0.1:${b.port}${cookie ? ` cookie bot${i + 1}` : ''}`).join('\n');
    haproxy = await startHaproxy(
      `${haproxyPreamble()}frontend by_header
  bind 127.0.0.1:${byHeaderPort}
  default_backend bots_by_header
frontend by_cookie
  bind 127.0.0.1:${byCookiePort}
  default_backend bots_by_cookie
backend bots_by_header
  balance hdr(Actorid)
  hash-type consistent
${servers(false)}
backend bots_by_cookie
  balance roundrobin
  cookie SERVERID insert indirect nocache
${servers(true)}
`,
      byCookiePort,
    );
  });
  after(async () => {
    await haproxy?.stop();
    for (const b of bots) await b.close();
  });

  /** Sends every actor's events interleaved to `port`; returns actor → instances that answered. */
  async function deliver(port: number): Promise<Map<string, Set<string>>> {
    const landed = new Map<string, Set<string>>(ACTORS.map((a) => [a, new Set()]));
    for (let round = 0; round < EVENTS_PER_ACTOR; round++) {
      for (const actor of ACTORS) {
        const res = await request(port, { body: webhook(actor) });
        assert.equal(res.status, 200);
        landed.get(actor)!.add(res.body.toString());
      }
    }
    return landed;
  }

  function assertSticky(landed: Map<string, Set<string>>) {
    for (const [actor, instances] of landed) assert.equal(instances.size, 1, `${actor} landed on ${[...instances].join(', ')}`);
  }

  function assertSpread(landed: Map<string, Set<string>>) {
    assert.ok(
      [...landed.values()].some((s) => s.size > 1),
      'without affinity, some actor lands on several instances',
    );
  }

  it('without the proxy, an actor’s events spread over the instances', async () => {
    assertSpread(await deliver(byHeaderPort));
    assertSpread(await deliver(byCookiePort));
  });

  it('header mode: every actor’s events land on one instance', async () => {
    const proxy = await startProxy(`http://127.0.0.1:${byHeaderPort}`, { AFFINITY_MODE: 'header' });
    try {
      assertSticky(await deliver(proxy.port));
    } finally {
      await proxy.close();
    }
  });

  it('cookie mode: the learned SERVERID keeps every actor on one instance, and actors spread', async () => {
    const proxy = await startProxy(`http://127.0.0.1:${byCookiePort}`, { AFFINITY_MODE: 'cookie' });
    try {
      const landed = await deliver(proxy.port);
      assertSticky(landed);
      const used = new Set([...landed.values()].map((s) => [...s][0]));
      assert.ok(used.size > 1, 'actors are not all pinned to one instance');
    } finally {
      await proxy.close();
    }
  });
});
