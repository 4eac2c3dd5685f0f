/**
 * DELIVERY=queued end to end: the platform is answered at once, each key's webhooks reach the
 * bot one at a time and in arrival order, through a bot outage, retried until taken.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { Bot } from './helpers/bot';
import { closeServer, fixture, request, startProxy, webhook, type RunningProxy } from './helpers/http';
import { waitFor } from './helpers/wait';
import { parseExposition, sample } from './helpers/metrics';
import { freePort } from './helpers/net';
import { parseConfig } from '../src/config/config';
import { startService } from '../src/service';

const QUICK = { DELIVERY: 'queued', QUEUE_RETRY_MIN_MS: '10', QUEUE_RETRY_MAX_MS: '100', SHUTDOWN_TIMEOUT_MS: '1000' };

async function queuedPair(env: Record<string, string> = {}): Promise<{ bot: Bot; proxy: RunningProxy }> {
  const bot = await new Bot().start();
  const proxy = await startProxy(bot.url, { ...QUICK, ...env });
  return { bot, proxy };
}

const body = (key: string, seq: number) => webhook(key, { seq });

describe('delivery mailbox (DELIVERY=queued, memory spool)', () => {
  it('answers at once, and delivers every key’s webhooks in order, one at a time, through a bot outage', async () => {
    const { bot, proxy } = await queuedPair();
    const KEYS = 50;
    const EACH = 20;
    try {
      await bot.stop();
      const acks = new Map<string, string>();
      await Promise.all(
        Array.from({ length: KEYS }, async (_, k) => {
          for (let seq = 0; seq < EACH; seq++) {
            const res = await request(proxy.port, { body: body(`key-${k}`, seq) });
            assert.equal(res.status, 200);
            const { queued } = res.json() as { queued: string };
            acks.set(`key-${k}/${seq}`, queued);
          }
        }),
      );
      assert.equal(bot.deliveries.length, 0, 'the bot is down: nothing delivered yet');
      await bot.start();
      await waitFor(() => bot.deliveries.length >= KEYS * EACH, 'every webhook delivered', { ms: 20_000 });
      assert.equal(bot.deliveries.length, KEYS * EACH, 'none twice');
      for (let k = 0; k < KEYS; k++) {
        const own = bot.deliveries.filter((d) => d.key === `key-${k}`);
        assert.deepEqual(
          own.map((d) => d.seq),
          [...Array(EACH).keys()],
          `key-${k} in arrival order`,
        );
        for (const d of own) assert.equal(d.id, acks.get(`key-${k}/${d.seq}`), 'the delivery id the platform was given');
      }
      assert.deepEqual([...bot.overlapped], [], 'no key had two deliveries at once');
      assert.equal((await proxy.proxy.mailbox?.stats())?.depth, 0);
    } finally {
      await proxy.close();
      await bot.stop();
    }
  });

  it('goes on delivering while it stops, and stops once the mailbox is empty', async () => {
    const { bot, proxy } = await queuedPair({ SHUTDOWN_TIMEOUT_MS: '30000' });
    try {
      await bot.stop();
      for (let seq = 0; seq < 3; seq++) await request(proxy.port, { body: body('alice', seq) });
      const closing = proxy.close();
      await bot.start();
      await closing;
      assert.deepEqual(
        bot.deliveries.map((d) => d.seq),
        [0, 1, 2],
        'delivered during the stop, in order',
      );
      assert.equal((await proxy.proxy.mailbox?.stats())?.depth, 0);
    } finally {
      await proxy.close();
      await bot.stop();
    }
  });

  it('sends the webhooks waiting out a long backoff as soon as the bot is seen answering again', async () => {
    // A first retry a minute away: only the wake-up can deliver these within the test.
    const { bot, proxy } = await queuedPair({ QUEUE_RETRY_MIN_MS: '60000', QUEUE_RETRY_MAX_MS: '60000' });
    try {
      await bot.stop();
      for (let k = 0; k < 5; k++) await request(proxy.port, { body: body(`key-${k}`, 0) });
      await waitFor(async () => (await proxy.proxy.mailbox?.stats())?.inFlight === 0 && (await proxy.proxy.mailbox?.spool.nextDueAt()) !== undefined, 'all five tried once and waiting');
      await bot.start();
      // A new key's webhook goes at once; its answer shows the bot is back.
      await request(proxy.port, { body: body('newcomer', 0) });
      await waitFor(() => bot.deliveries.length === 6, 'the five waiting ones delivered too');
    } finally {
      await proxy.close();
      await bot.stop();
    }
  });

  it('while no attempt reaches the bot, probes one delivery at a time, one per QUEUE_RETRY_MIN_MS, rather than every mailbox on its own backoff', async () => {
    const { bot, proxy } = await queuedPair({ QUEUE_RETRY_MIN_MS: '100', QUEUE_RETRY_MAX_MS: '100' });
    // The bot's port takes each connection and closes it at once: every attempt is seen, none answered.
    await bot.stop();
    const attempts: number[] = [];
    const refuser = net.createServer((socket) => {
      attempts.push(performance.now());
      socket.destroy();
    });
    refuser.listen(bot.port, '127.0.0.1');
    await once(refuser, 'listening');
    try {
      const KEYS = 20;
      for (let k = 0; k < KEYS; k++) await request(proxy.port, { body: body(`key-${k}`, 0) });
      // On its own backoff each mailbox would come back every ~100 ms: 20 attempts in each 100 ms.
      await waitFor(() => attempts.length >= KEYS + 6, 'probes after the first failures', { ms: 20_000 });
      const last = attempts.slice(-6);
      assert.ok(last[5]! - last[0]! >= 5 * 100 - 10, `six attempts over at least five probe intervals (${Math.round(last[5]! - last[0]!)} ms)`);
      await closeServer(refuser);
      await bot.start();
      await waitFor(() => bot.deliveries.length >= KEYS, 'every webhook delivered once the bot is back', { ms: 20_000 });
      assert.deepEqual(new Set(bot.deliveries.map((d) => d.key)).size, KEYS, 'one each');
    } finally {
      await closeServer(refuser).catch(() => {});
      await proxy.close();
      await bot.stop();
    }
  });

  it('retries 5xx and 429 with the same delivery id and a growing attempt number', async () => {
    const { bot, proxy } = await queuedPair();
    const refusals = ['500', '429'];
    bot.answer = (_d, res) => {
      const status = refusals.shift();
      res.statusCode = status === undefined ? 200 : Number(status);
      if (status === '429') res.setHeader('retry-after', '0');
      res.end();
    };
    try {
      const { queued } = (await request(proxy.port, { body: body('alice', 0) })).json() as { queued: string };
      await waitFor(() => bot.deliveries.length === 3, 'three attempts');
      assert.deepEqual(
        bot.deliveries.map((d) => [d.id, d.attempt]),
        [
          [queued, 1],
          [queued, 2],
          [queued, 3],
        ],
      );
      await waitFor(async () => (await proxy.proxy.mailbox?.stats())?.depth === 0, 'the mailbox empty');
    } finally {
      await proxy.close();
      await bot.stop();
    }
  });

  it('makes a 400 a dead letter at once, and goes on with the key’s next webhook', async () => {
    const { bot, proxy } = await queuedPair();
    bot.answer = (d, res) => {
      res.statusCode = d.seq === 0 ? 400 : 200;
      res.end();
    };
    try {
      await request(proxy.port, { body: body('alice', 0) });
      await request(proxy.port, { body: body('alice', 1) });
      await waitFor(() => bot.deliveries.length === 2, 'both attempted once');
      await waitFor(async () => (await proxy.proxy.mailbox?.stats())?.depth === 0, 'the mailbox empty');
      const dead = (await proxy.proxy.mailbox?.deadLetters()) ?? [];
      assert.deepEqual(
        dead.map((d) => [d.letter.key, d.attempts, d.reason]),
        [['alice', 1, 'answered 400: refused by the bot']],
      );
    } finally {
      await proxy.close();
      await bot.stop();
    }
  });

  it('gives up after QUEUE_MAX_AGE_MS, keeping the webhook as a dead letter', async () => {
    const { bot, proxy } = await queuedPair({ QUEUE_MAX_AGE_MS: '150' });
    try {
      await bot.stop();
      await request(proxy.port, { body: body('alice', 0) });
      const [dead] = await waitFor(async () => ((await proxy.proxy.mailbox?.deadLetters())?.length === 1 ? await proxy.proxy.mailbox?.deadLetters() : undefined), 'a dead letter');
      assert.match(dead?.reason ?? '', /QUEUE_MAX_AGE_MS/);
    } finally {
      await proxy.close();
      await bot.stop();
    }
  });

  it('forwards directly what the mailbox has no room for (QUEUE_MAX_BYTES), never drops it', async () => {
    const held: http.ServerResponse[] = [];
    // Room for one of these webhooks (~1.8 KB each as counted: body, headers and what holds them), not two.
    const { bot, proxy } = await queuedPair({ QUEUE_MAX_BYTES: '2600' });
    const padded = (key: string) => webhook(key, { seq: 0, pad: 'x'.repeat(1000) });
    // Deliveries are held unanswered, so the first webhook keeps its room in the mailbox.
    bot.answer = (d, res) => (d.id === undefined ? res.end('direct') : held.push(res));
    try {
      const first = await request(proxy.port, { body: padded('alice') });
      assert.equal(first.status, 200);
      assert.ok('queued' in first.json());
      await waitFor(() => held.length === 1, 'the first delivery at the bot');
      const second = await request(proxy.port, { body: padded('bob') });
      assert.equal(second.body.toString(), 'direct', 'answered by the bot itself, as DELIVERY=direct would');
      assert.equal(bot.deliveries.at(-1)?.key, 'bob');
    } finally {
      for (const res of held) res.end();
      await proxy.close();
      await bot.stop();
    }
  });

  it('delivers the exact bytes and headers, so a Webex signature still verifies at the bot', async () => {
    const secret = 's3cret';
    const { bot, proxy } = await queuedPair({ WEBHOOK_SECRET: secret });
    try {
      const raw = fixture('message-created.json');
      const signature = createHmac('sha1', secret).update(raw).digest('hex');
      const res = await request(proxy.port, { body: raw, headers: { 'x-spark-signature': signature, 'x-custom': 'kept' } });
      assert.equal(res.status, 200);
      await waitFor(() => bot.deliveries.length === 1, 'delivered');
      const got = bot.deliveries[0];
      assert.ok(got !== undefined);
      assert.deepEqual(got.body, raw);
      assert.equal(got.headers['x-spark-signature'], signature);
      assert.equal(createHmac('sha1', secret).update(got.body).digest('hex'), signature);
      assert.equal(got.headers['x-custom'], 'kept');
      assert.equal(got.headers.actorid, JSON.parse(raw.toString('utf8')).actorId, 'affinity is added at delivery');
      assert.equal(got.headers['x-forwarded-for'], '127.0.0.1');
    } finally {
      await proxy.close();
      await bot.stop();
    }
  });

  it('forwards a GET directly', async () => {
    const { bot, proxy } = await queuedPair();
    bot.answer = (_d, res) => res.end('direct');
    try {
      const res = await request(proxy.port, { method: 'GET', path: '/health' });
      assert.equal(res.body.toString(), 'direct');
      assert.equal(bot.deliveries.at(-1)?.id, undefined, 'not a delivery from the mailbox');
    } finally {
      await proxy.close();
      await bot.stop();
    }
  });
});

describe('delivery mailbox: deliveries whose answer the platform reads go directly', () => {
  const slackFixture = (file: string) => readFileSync(join(__dirname, '..', '..', 'test', 'fixtures', 'slack', file));

  it('PLATFORM=slack: url_verification and slash commands are answered by the bot at once; events are queued', async () => {
    const { bot, proxy } = await queuedPair({ PLATFORM: 'slack', SIGNATURE_SCHEME: 'none' });
    bot.answer = (d, res) => res.end(d.id === undefined ? 'answered by the bot' : 'delivered');
    try {
      const handshake = await request(proxy.port, { body: slackFixture('url-verification.json') });
      assert.equal(handshake.body.toString(), 'answered by the bot');
      const command = await request(proxy.port, { body: slackFixture('slash-command.txt'), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(command.body.toString(), 'answered by the bot');
      const event = await request(proxy.port, { body: slackFixture('event-message.json') });
      assert.ok(event.body.toString().startsWith('{"queued"'), event.body.toString());
    } finally {
      await proxy.close();
      await bot.stop();
    }
  });

  it('PLATFORM=zoom: the endpoint validation goes directly; PLATFORM=teams: invokes go directly, messages are queued', async () => {
    const fixture = (platform: string, file: string) => readFileSync(join(__dirname, '..', '..', 'test', 'fixtures', platform, file));
    for (const [platform, direct, queued] of [
      ['zoom', fixture('zoom', 'url-validation.json'), fixture('zoom', 'bot-notification.json')],
      ['teams', fixture('teams', 'invoke-adaptive-card-action.json'), fixture('teams', 'message-personal.json')],
    ] as const) {
      const { bot, proxy } = await queuedPair({ PLATFORM: platform, SIGNATURE_SCHEME: 'none' });
      bot.answer = (d, res) => res.end(d.id === undefined ? 'answered by the bot' : 'delivered');
      try {
        assert.equal((await request(proxy.port, { body: direct })).body.toString(), 'answered by the bot', platform);
        assert.ok((await request(proxy.port, { body: queued })).body.toString().startsWith('{"queued"'), platform);
      } finally {
        await proxy.close();
        await bot.stop();
      }
    }
  });

  it('PLATFORM=discord: every interaction is answered by the bot', async () => {
    const { bot, proxy } = await queuedPair({ PLATFORM: 'discord', SIGNATURE_SCHEME: 'none' });
    bot.answer = (_d, res) => res.end('{"type":1}');
    try {
      const res = await request(proxy.port, { body: '{"type":1,"id":"1"}' });
      assert.equal(res.body.toString(), '{"type":1}');
    } finally {
      await proxy.close();
      await bot.stop();
    }
  });
});

describe('delivery mailbox: admin endpoints, metrics and access log', () => {
  it('counts a webhook the mailbox had no room for as a fallback, also when its direct forward then fails', async () => {
    const bot = await new Bot().start();
    const held: http.ServerResponse[] = [];
    // Deliveries are held (the first keeps its room); a direct forward meets a closed connection.
    bot.answer = (d, res) => (d.id === undefined ? res.socket?.destroy() : held.push(res));
    const adminPort = await freePort();
    const config = parseConfig({ ...QUICK, QUEUE_MAX_BYTES: '2600', PORT: '0', HOST: '127.0.0.1', TARGET_URL: bot.url, ADMIN_PORT: String(adminPort) });
    const service = await startService(config, { admin: true });
    const padded = (key: string) => webhook(key, { seq: 0, pad: 'x'.repeat(1000) });
    try {
      assert.equal((await request(service.address.port, { body: padded('alice') })).status, 200);
      await waitFor(() => held.length === 1, 'the first delivery at the bot');
      assert.equal((await request(service.address.port, { body: padded('bob') })).status, 502, 'no room, and the direct forward failed');
      const exposition = parseExposition((await request(adminPort, { method: 'GET', path: '/metrics' })).body.toString());
      assert.equal(sample(exposition, 'webhook_affinity_mailbox_fallbacks_total', { reason: 'full' }), 1);
      assert.equal(sample(exposition, 'webhook_affinity_mailbox_fallbacks_total', { reason: 'store-down' }), 0);
      assert.equal(sample(exposition, 'webhook_affinity_requests_total', { mode: 'header', outcome: 'upstream-unreachable' }), 1, "the request's outcome is the forward's");
      assert.equal(sample(exposition, 'webhook_affinity_upstream_failures_total', { upstream: `${bot.url}/` }), 1, 'and the instance is counted as failing it');
    } finally {
      for (const res of held) res.end();
      await service.close();
      await bot.stop();
    }
  });

  it('lists a dead letter, replays it into its key’s mailbox, and counts every attempt', async () => {
    const bot = await new Bot().start();
    let refuse = true;
    bot.answer = (_d, res) => {
      res.statusCode = refuse ? 400 : 200;
      res.end();
    };
    const adminPort = await freePort();
    const lines: string[] = [];
    const config = parseConfig({ ...QUICK, PORT: '0', HOST: '127.0.0.1', TARGET_URL: bot.url, ADMIN_PORT: String(adminPort), ADMIN_TOKEN: 't' });
    const service = await startService(config, { admin: true, deps: { observer: { deliverySettled: (d) => lines.push(`${d.outcome} ${d.attempt} ${d.status}`) } } });
    const admin = (method: string, path: string) => request(adminPort, { method, path, headers: { authorization: 'Bearer t' } });
    try {
      const { queued } = (await request(service.address.port, { body: body('alice', 0) })).json() as { queued: string };
      await waitFor(async () => (await service.proxy.mailbox?.deadLetters())?.length === 1, 'a dead letter');

      assert.equal((await request(adminPort, { path: '/readyz', method: 'GET' })).status, 200, 'dead letters and a queue do not make it unready');
      assert.equal((await request(adminPort, { path: '/queue', method: 'GET' })).status, 401, 'behind ADMIN_TOKEN');
      const figures = (await admin('GET', '/queue')).json();
      assert.deepEqual([figures.depth, figures.dead], [0, 1]);
      const dead = (await admin('GET', '/queue/dead')).json();
      assert.equal(dead.total, 1);
      assert.equal(dead.items[0].id, queued);
      assert.equal(dead.items[0].reason, 'answered 400: refused by the bot');
      assert.notEqual(dead.items[0].key, 'alice', 'the key only as its hash tag');

      refuse = false;
      assert.equal((await admin('POST', `/queue/dead/${queued}/replay`)).status, 202);
      await waitFor(() => bot.deliveries.length === 2, 'delivered again');
      assert.deepEqual(
        bot.deliveries.map((d) => [d.id, d.attempt]),
        [
          [queued, 1],
          [queued, 1],
        ],
        'the same delivery id, counted afresh',
      );
      assert.equal((await admin('POST', `/queue/dead/${queued}/replay`)).status, 404, 'no longer dead');
      assert.deepEqual(lines, ['dead 1 400', 'delivered 1 200']);

      const exposition = parseExposition((await request(adminPort, { method: 'GET', path: '/metrics' })).body.toString());
      assert.equal(sample(exposition, 'webhook_affinity_deliveries_total', { outcome: 'dead' }), 1);
      assert.equal(sample(exposition, 'webhook_affinity_deliveries_total', { outcome: 'delivered' }), 1);
      assert.equal(sample(exposition, 'webhook_affinity_queue_depth'), 0);
      assert.equal(sample(exposition, 'webhook_affinity_dead_letters'), 0);
      assert.equal(sample(exposition, 'webhook_affinity_requests_total', { mode: 'header', outcome: 'queued' }), 1);
      // Mailbox deliveries are timed like direct forwards: two answers (the 400, then the 200).
      assert.equal(sample(exposition, 'webhook_affinity_upstream_response_seconds_count', { upstream: `${bot.url}/` }), 2);
      assert.equal(sample(exposition, 'webhook_affinity_delivery_seconds_count'), 2, "and in the deliveries' own histogram");
    } finally {
      await service.close();
      await bot.stop();
    }
  });

  it('forgets a dead letter on DELETE', async () => {
    const bot = await new Bot().start();
    bot.answer = (_d, res) => {
      res.statusCode = 404;
      res.end();
    };
    const adminPort = await freePort();
    const config = parseConfig({ ...QUICK, PORT: '0', HOST: '127.0.0.1', TARGET_URL: bot.url, ADMIN_PORT: String(adminPort), ADMIN_TOKEN: 't' });
    const service = await startService(config, { admin: true });
    const admin = (method: string, path: string) => request(adminPort, { method, path, headers: { authorization: 'Bearer t' } });
    try {
      const { queued } = (await request(service.address.port, { body: body('alice', 0) })).json() as { queued: string };
      await waitFor(async () => (await service.proxy.mailbox?.deadLetters())?.length === 1, 'a dead letter');
      assert.equal((await admin('DELETE', `/queue/dead/${queued}`)).status, 204);
      assert.equal((await admin('DELETE', `/queue/dead/${queued}`)).status, 404);
      assert.equal((await admin('GET', '/queue/dead')).json().total, 0);
    } finally {
      await service.close();
      await bot.stop();
    }
  });
});
