/**
 * A webhook written onto a kept-alive upstream connection at the moment the upstream closes it
 * must not be lost: the proxy sends it once more on a new connection. Webhooks are spaced
 * around the upstream's idle timeout so that many of them meet that race; each must arrive
 * exactly once and be answered 200.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as pace } from 'node:timers/promises';
import type { Env } from '../src/config/config';
import { request, startProxy, startUpstream, webhook, type Upstream } from './helpers/http';
import { waitFor } from './helpers/wait';
import { freePort, haproxyPreamble, haproxySkipReason, startHaproxy, type RunningHaproxy } from './helpers/haproxy';

const WEBHOOKS = 300;
const IDLE_MS = 40;

/**
 * Closes each connection after `idleMs` without traffic, as HAProxy's `timeout http-keep-alive`
 * or a PaaS router does: without the `Keep-Alive: timeout=N` hint Node's own keepAliveTimeout
 * sends (Node's client honours that hint and would dodge the race).
 */
function closeIdleAfter(server: http.Server, idleMs: number): void {
  server.keepAliveTimeout = 0;
  server.on('connection', (socket: Socket) => socket.setTimeout(idleMs, () => socket.destroy()));
}

/** Delivery ids each upstream request carried, counted. */
function deliveries(upstreams: Upstream[]): Map<number, number> {
  const seen = new Map<number, number>();
  for (const u of upstreams) {
    for (const r of u.requests) {
      const id = JSON.parse(r.body.toString()).data.id as number;
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
  }
  return seen;
}

/**
 * Sends WEBHOOKS webhooks one after another, each `IDLE_MS` ± a few ms after the last answer
 * (the spread walks across the moment the upstream closes); returns the statuses.
 */
async function sendAroundIdle(port: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < WEBHOOKS; i++) {
    const res = await request(port, { body: webhook(`actor-${i % 7}`, { data: { id: i } }) });
    statuses.push(res.status);
    await pace(IDLE_MS - 3 + (i % 7));
  }
  return statuses;
}

function assertEachDeliveredOnce(statuses: number[], upstreams: Upstream[]): void {
  const failed = statuses.map((s, i) => [i, s]).filter(([, s]) => s !== 200);
  assert.deepEqual(failed, [], `webhooks not answered 200: ${JSON.stringify(failed)}`);
  const seen = deliveries(upstreams);
  const twice = [...seen].filter(([, n]) => n > 1);
  assert.deepEqual(twice, [], 'no webhook is delivered twice');
  assert.equal(seen.size, WEBHOOKS, 'every webhook reached the upstream');
}

describe('stale upstream keep-alive connections', () => {
  for (const mode of ['header', 'hash'] as const) {
    it(`${mode} mode: 0 of ${WEBHOOKS} webhooks lost or doubled when a Node upstream closes idle connections after ${IDLE_MS} ms`, async () => {
      const upstream = await startUpstream();
      closeIdleAfter(upstream.server, IDLE_MS);
      const retries: string[] = [];
      const env: Env = mode === 'hash' ? { AFFINITY_MODE: 'hash', UPSTREAMS: upstream.url } : {};
      const proxy = await startProxy(upstream.url, env, { observer: { upstreamRetried: (_u, reason) => retries.push(reason) } });
      try {
        assertEachDeliveredOnce(await sendAroundIdle(proxy.port), [upstream]);
        // The race was met (else this test proves nothing), and each meeting was resent once.
        assert.ok(retries.length > 0, 'no webhook met a closing connection: the spacing missed the race');
        assert.ok(retries.every((r) => r === 'stale-connection'));
      } finally {
        await proxy.close();
        await upstream.close();
      }
    });
  }
});

describe('stale upstream keep-alive connections, mailbox deliveries', () => {
  it(`DELIVERY=queued: a delivery that meets the race is sent again at once on a new connection (the one sender), not retried later`, async () => {
    const upstream = await startUpstream();
    closeIdleAfter(upstream.server, IDLE_MS);
    const retries: string[] = [];
    const outcomes: string[] = [];
    const proxy = await startProxy(
      upstream.url,
      { DELIVERY: 'queued' },
      { observer: { upstreamRetried: (_u, reason) => retries.push(reason), deliverySettled: (record) => outcomes.push(record.outcome) } },
    );
    try {
      // Each webhook is delivered before the next is sent: the same spacing as direct forwards.
      const statuses: number[] = [];
      for (let i = 0; i < WEBHOOKS; i++) {
        statuses.push((await request(proxy.port, { body: webhook(`actor-${i % 7}`, { data: { id: i } }) })).status);
        await waitFor(() => outcomes.length > i || undefined, `webhook ${i} delivered`);
        await pace(IDLE_MS - 3 + (i % 7));
      }
      assertEachDeliveredOnce(statuses, [upstream]);
      assert.ok(retries.length > 0, 'no delivery met a closing connection: the spacing missed the race');
      assert.deepEqual([...new Set(outcomes)], ['delivered'], 'none needed a retry');
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });
});

describe('stale keep-alive connections to a real HAProxy', { skip: haproxySkipReason() }, () => {
  let bot: Upstream;
  let haproxy: RunningHaproxy;
  let port: number;
  before(async () => {
    bot = await startUpstream();
    port = await freePort();
    haproxy = await startHaproxy(
      `${haproxyPreamble([`timeout http-keep-alive ${IDLE_MS}ms`])}frontend bots
  bind 127.0.0.1:${port}
  default_backend bots
backend bots
  server bot1 127.0.0.1:${bot.port}
`,
      port,
    );
  });
  after(async () => {
    await haproxy?.stop();
    await bot?.close();
  });

  it(`header mode: 0 of ${WEBHOOKS} webhooks lost or doubled behind HAProxy with timeout http-keep-alive ${IDLE_MS}ms`, async () => {
    let retried = 0;
    const proxy = await startProxy(`http://127.0.0.1:${port}`, {}, { observer: { upstreamRetried: () => retried++ } });
    try {
      assertEachDeliveredOnce(await sendAroundIdle(proxy.port), [bot]);
      assert.ok(retried > 0, 'no webhook met a closing connection: the spacing missed the race');
    } finally {
      await proxy.close();
    }
  });
});
