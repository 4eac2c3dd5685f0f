/**
 * A webhook written onto a kept-alive upstream connection at the moment the upstream closes it
 * must not be lost: the proxy sends it once more on a new connection. Webhooks are spaced
 * around the upstream's idle timeout so that some of them meet that race (undici, which looks
 * at an idle connection once more before writing, meets it less often than Node's client); each
 * must arrive exactly once and be answered 200. The resend itself is proven on every engine by
 * an upstream that closes a kept-alive connection on purpose (the last suite).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as pace } from 'node:timers/promises';
import type { Env } from '../src/config/env-reader';
import { request, startProxy, startUpstream, webhook, type Upstream } from './helpers/http';
import { OK_ANSWER, rawUpstream } from './helpers/raw-upstream';
import { waitFor } from './helpers/wait';
import { ENGINES } from './helpers/engines';
import { DEFAULT_FORWARD_ENGINE } from '../src/upstream/engines';
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

for (const engine of [DEFAULT_FORWARD_ENGINE])
  describe(`stale upstream keep-alive connections (FORWARD_ENGINE=${engine})`, () => {
    for (const mode of ['header', 'hash'] as const) {
      it(`${mode} mode: 0 of ${WEBHOOKS} webhooks lost or doubled when a Node upstream closes idle connections after ${IDLE_MS} ms`, async () => {
        const upstream = await startUpstream();
        closeIdleAfter(upstream.server, IDLE_MS);
        const retries: string[] = [];
        const env: Env = mode === 'hash' ? { FORWARD_ENGINE: engine, AFFINITY_MODE: 'hash', UPSTREAMS: upstream.url } : { FORWARD_ENGINE: engine };
        const proxy = await startProxy(upstream.url, env, { observer: { upstreamRetried: (_u, reason) => retries.push(reason) } });
        try {
          assertEachDeliveredOnce(await sendAroundIdle(proxy.port), [upstream]);
          assert.ok(retries.every((r) => r === 'stale-connection'));
        } finally {
          await proxy.close();
          await upstream.close();
        }
      });
    }
  });

for (const engine of [DEFAULT_FORWARD_ENGINE])
  describe(`stale upstream keep-alive connections, mailbox deliveries (FORWARD_ENGINE=${engine})`, () => {
    it(`DELIVERY=queued: a delivery that meets the race is sent again at once on a new connection (the one sender), not retried later`, async () => {
      const upstream = await startUpstream();
      closeIdleAfter(upstream.server, IDLE_MS);
      const retries: string[] = [];
      const outcomes: string[] = [];
      const proxy = await startProxy(
        upstream.url,
        { FORWARD_ENGINE: engine, DELIVERY: 'queued' },
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
        assert.deepEqual([...new Set(outcomes)], ['delivered'], 'none needed a retry');
      } finally {
        await proxy.close();
        await upstream.close();
      }
    });
  });

for (const engine of [DEFAULT_FORWARD_ENGINE])
  describe(`stale keep-alive connections to a real HAProxy (FORWARD_ENGINE=${engine})`, { skip: haproxySkipReason() }, () => {
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
      const proxy = await startProxy(`http://127.0.0.1:${port}`, { FORWARD_ENGINE: engine }, { observer: { upstreamRetried: () => retried++ } });
      try {
        assertEachDeliveredOnce(await sendAroundIdle(proxy.port), [bot]);
      } finally {
        await proxy.close();
      }
    });
  });

for (const engine of ENGINES) {
  describe(`a kept-alive connection closed with no answer (FORWARD_ENGINE=${engine})`, () => {
    for (const delivery of ['direct', 'queued'] as const) {
      it(`${delivery}: the webhook is sent once more on a new connection, and answered`, async () => {
        // Every second request on a connection meets a close: the connection's first answer shows it was alive.
        const upstream = await rawUpstream(({ nthOnConnection }) => (nthOnConnection === 2 ? undefined : OK_ANSWER));
        const retries: string[] = [];
        const outcomes: string[] = [];
        const proxy = await startProxy(
          upstream.url,
          { FORWARD_ENGINE: engine, DELIVERY: delivery },
          { observer: { upstreamRetried: (_u, reason) => retries.push(reason), deliverySettled: (r) => outcomes.push(r.outcome) } },
        );
        try {
          for (let i = 0; i < 4; i++) {
            const res = await request(proxy.port, { body: webhook('alice', { data: { id: i } }) });
            assert.equal(res.status, 200);
            if (delivery === 'queued') await waitFor(() => outcomes.length > i || undefined, `webhook ${i} delivered`);
          }
          // 1st on connection A; 2nd meets A's close → resent on its own connection B (closed after);
          // 3rd on a new connection C; 4th meets C's close → resent on D.
          assert.deepEqual(retries, ['stale-connection', 'stale-connection']);
          const ids = upstream.requests.map((r) => JSON.parse(r.body).data.id as number);
          assert.deepEqual(ids, [0, 1, 1, 2, 3, 3], 'each closed request reached the upstream, and was sent once more');
          if (delivery === 'queued') assert.deepEqual([...new Set(outcomes)], ['delivered']);
        } finally {
          await proxy.close();
          await upstream.close();
        }
      });
    }

    it('a new connection closed with no answer is not sent again: 502 (the upstream may have read it)', async () => {
      const upstream = await rawUpstream(() => undefined);
      const retries: string[] = [];
      const proxy = await startProxy(upstream.url, { FORWARD_ENGINE: engine }, { observer: { upstreamRetried: (_u, reason) => retries.push(reason) } });
      try {
        const res = await request(proxy.port, { body: webhook('alice', { data: { id: 1 } }) });
        assert.equal(res.status, 502);
        assert.deepEqual(retries, []);
        assert.equal(upstream.requests.length, 1);
      } finally {
        await proxy.close();
        await upstream.close();
      }
    });
  });
}
