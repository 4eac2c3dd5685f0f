/**
 * What a bot's framework sees of a late delivery: a Slack event re-signed with a fresh timestamp
 * (QUEUE_RESIGN), Standard Webhooks headers a bot can check with the `standardwebhooks` library
 * (DELIVERY_SIGNING_SECRET), the dead letter of an expired token saying why, and a Telegram bot's
 * webhook reply made through the Bot API (TELEGRAM_BOT_TOKEN) before that person's next update.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { closeServer, fixture, request, startProxy, startUpstream, webhook, type RecordedRequest } from './helpers/http';
import { freePort } from './helpers/net';
import { SIGNING_SECRET, v0Signature } from './helpers/signers';
import { waitFor } from './helpers/wait';
import { parseConfig } from '../src/config/config';
import { startService } from '../src/service';

const seconds = (ms: number) => String(Math.floor(ms / 1000));
const slackSigned = (body: Buffer, nowMs: number) => ({
  'content-type': 'application/json',
  'x-slack-request-timestamp': seconds(nowMs),
  'x-slack-signature': v0Signature(SIGNING_SECRET, seconds(nowMs), body),
});

/** How a Slack SDK checks a request: the signature, and a timestamp within 5 minutes of now. */
function slackAccepts(r: RecordedRequest, nowMs: number): boolean {
  const ts = Number(r.headers['x-slack-request-timestamp']);
  return Math.abs(nowMs / 1000 - ts) <= 300 && r.headers['x-slack-signature'] === v0Signature(SIGNING_SECRET, ts, r.body);
}

describe('QUEUE_RESIGN: a late Slack event is signed again', () => {
  for (const resign of ['auto', 'off'] as const) {
    it(`${resign}: an event that waited 10 minutes is ${resign === 'auto' ? 'accepted by a 5-minute check, body unchanged' : 'delivered as received (stale)'}`, async () => {
      // The proxy's clock runs, and jumps ten minutes while the bot is down.
      let offset = 0;
      const now = () => Date.now() + offset;
      let botUp = false;
      const bot = await startUpstream((_req, res) => res.writeHead(botUp ? 200 : 503).end());
      const proxy = await startProxy(
        bot.url,
        { PLATFORM: 'slack', WEBHOOK_SECRET: SIGNING_SECRET, DELIVERY: 'queued', QUEUE_RESIGN: resign, QUEUE_RETRY_MIN_MS: '10', QUEUE_RETRY_MAX_MS: '20' },
        { clock: now },
      );
      try {
        const body = fixture('slack/event-message.json');
        const signedAt = now();
        const res = await request(proxy.port, { body, headers: slackSigned(body, signedAt) });
        assert.match(res.body.toString(), /"queued"/);
        await waitFor(() => bot.requests.length >= 2 || undefined, 'attempts refused');
        offset += 10 * 60_000;
        botUp = true;
        await waitFor(async () => (await proxy.proxy.mailbox?.stats())?.depth === 0 || undefined, 'delivered');
        const delivered = bot.requests.at(-1)!;
        assert.deepEqual(delivered.body, body, 'the body byte for byte');
        assert.equal(slackAccepts(delivered, now()), resign === 'auto');
        if (resign === 'off') assert.equal(delivered.headers['x-slack-request-timestamp'], seconds(signedAt));
      } finally {
        await proxy.close();
        await bot.close();
      }
    });
  }
});

describe('DELIVERY_SIGNING_SECRET: Standard Webhooks on every delivery and forward', () => {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const verifies = (r: RecordedRequest) =>
    new Webhook(secret).verify(
      r.body.toString('utf8'),
      { 'webhook-id': String(r.headers['webhook-id']), 'webhook-timestamp': String(r.headers['webhook-timestamp']), 'webhook-signature': String(r.headers['webhook-signature']) },
      { jsonParse: false },
    );

  it('queued: webhook-id is the delivery id, and the standardwebhooks library verifies every attempt', async () => {
    let answers = [503, 200];
    const bot = await startUpstream((_req, res) => res.writeHead(answers.shift() ?? 200).end());
    const proxy = await startProxy(bot.url, { DELIVERY: 'queued', DELIVERY_SIGNING_SECRET: secret, QUEUE_RETRY_MIN_MS: '10', QUEUE_RETRY_MAX_MS: '20' });
    try {
      const res = await request(proxy.port, { body: webhook('alice') });
      const { queued } = res.json() as { queued: string };
      await waitFor(() => bot.requests.length >= 2 || undefined, 'two attempts');
      for (const r of bot.requests) {
        assert.equal(r.headers['webhook-id'], queued);
        assert.doesNotThrow(() => verifies(r));
      }
      answers = [];
    } finally {
      await proxy.close();
      await bot.close();
    }
  });

  it('direct: a JSON webhook and a non-JSON POST are signed; a tampered body is refused by the library', async () => {
    const bot = await startUpstream();
    const proxy = await startProxy(bot.url, { DELIVERY_SIGNING_SECRET: secret });
    try {
      await request(proxy.port, { body: webhook('alice') });
      await request(proxy.port, { body: 'payload=%7B%7D', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(bot.requests.length, 2);
      for (const r of bot.requests) assert.doesNotThrow(() => verifies(r));
      assert.notEqual(bot.requests[0]!.headers['webhook-id'], bot.requests[1]!.headers['webhook-id'], 'an id per forward');
      const tampered = { ...bot.requests[0]!, body: Buffer.concat([bot.requests[0]!.body, Buffer.from(' ')]) };
      assert.throws(() => verifies(tampered));
    } finally {
      await proxy.close();
      await bot.close();
    }
  });

  it('a secret that is not whsec_ + base64 is a configuration error', () => {
    assert.throws(() => parseConfig({ DELIVERY_SIGNING_SECRET: 'not-a-secret' }), /DELIVERY_SIGNING_SECRET.*whsec_/);
  });
});

describe('a token that expired while its webhook waited', () => {
  it('the dead letter of a 401 says the Authorization token expired, and when', async () => {
    const now = Date.parse('2026-12-04T10:00:00Z');
    const exp = now / 1000 - 60;
    const jwt = `${[{ alg: 'RS256' }, { exp, aud: 'app' }].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.')}.c2ln`;
    const bot = await startUpstream((_req, res) => res.writeHead(401).end());
    const proxy = await startProxy(bot.url, { PLATFORM: 'generic', DELIVERY: 'queued' }, { clock: () => now });
    try {
      await request(proxy.port, { body: webhook('alice'), headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` } });
      const dead = await waitFor(async () => (await proxy.proxy.mailbox!.deadLetters())[0], 'a dead letter');
      assert.match(dead.reason, /answered 401: refused by the bot; its Authorization token expired at 2026-12-04T09:59:00\.000Z while it waited/);
    } finally {
      await proxy.close();
      await bot.close();
    }
  });
});

/** A stand-in for the Bot API: records each call, answers as told (ok by default). */
async function botApi(answers: { status: number; body: unknown }[] = []) {
  const calls: { path: string; params: unknown; at: number }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      calls.push({ path: req.url ?? '', params: JSON.parse(Buffer.concat(chunks).toString()), at: events.length });
      events.push(`api:${req.url}`);
      const answer = answers.shift() ?? { status: 200, body: { ok: true, result: {} } };
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, close: () => closeServer(server) };
}
const events: string[] = [];

/** A proxy with its admin listener (for /metrics). */
async function service(targetUrl: string, env: Record<string, string>) {
  const adminPort = await freePort();
  const running = await startService(parseConfig({ PORT: '0', HOST: '127.0.0.1', TARGET_URL: targetUrl, ADMIN_PORT: String(adminPort), ...env }), { admin: true });
  return {
    port: running.address.port,
    metrics: async () => (await request(adminPort, { method: 'GET', path: '/metrics' })).body.toString(),
    close: () => running.close(),
  };
}

describe('PLATFORM=telegram, queued: the bot’s webhook reply', () => {
  const update = (n: number) =>
    Buffer.from(
      fixture('telegram/message-private.json')
        .toString()
        .replace('"update_id": 918273645', `"update_id": ${918273645 + n}`)
        .replace('"message_id": 4711', `"message_id": ${4711 + n}`),
    );

  it('is made through the Bot API with the token, in order with the next update, retried after 429', async () => {
    events.length = 0;
    const api = await botApi([{ status: 429, body: { ok: false, error_code: 429, description: 'Too Many Requests: retry after 0', parameters: { retry_after: 0 } } }]);
    const bot = await startUpstream((_req, res, body) => {
      const id = (JSON.parse(body.toString()) as { message: { message_id: number } }).message.message_id;
      events.push(`bot:${id}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: 'sendMessage', chat_id: 6512345678, text: `got ${id}` }));
    });
    const proxy = await service(bot.url, { PLATFORM: 'telegram', SIGNATURE_SCHEME: 'none', DELIVERY: 'queued', TELEGRAM_BOT_TOKEN: '123:ABC', TELEGRAM_API_URL: api.url });
    try {
      for (const n of [0, 1]) assert.match((await request(proxy.port, { body: update(n), headers: { 'content-type': 'application/json' } })).body.toString(), /"queued"/);
      await waitFor(() => api.calls.length >= 3 || undefined, 'both replies made (one of them twice)');
      assert.deepEqual(
        api.calls.map((c) => c.params),
        [
          { chat_id: 6512345678, text: 'got 4711' },
          { chat_id: 6512345678, text: 'got 4711' },
          { chat_id: 6512345678, text: 'got 4712' },
        ],
      );
      assert.equal(api.calls[0]!.path, '/bot123:ABC/sendMessage');
      assert.deepEqual(events, ['bot:4711', 'api:/bot123:ABC/sendMessage', 'api:/bot123:ABC/sendMessage', 'bot:4712', 'api:/bot123:ABC/sendMessage'], 'a reply before the next update');
      const metrics = await proxy.metrics();
      assert.match(metrics, /webhook_affinity_replies_made_total\{platform="telegram",outcome="sent"\} 2/);
    } finally {
      await proxy.close();
      await bot.close();
      await api.close();
    }
  });

  it('without a token: a warning at start, and each dropped reply counted', async () => {
    assert.ok(parseConfig({ PLATFORM: 'telegram', SIGNATURE_SCHEME: 'none', DELIVERY: 'queued' }).warnings.some((w) => /TELEGRAM_BOT_TOKEN/.test(w)));
    const bot = await startUpstream((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"method":"sendMessage","chat_id":1,"text":"hi"}'));
    const proxy = await service(bot.url, { PLATFORM: 'telegram', SIGNATURE_SCHEME: 'none', DELIVERY: 'queued' });
    try {
      await request(proxy.port, { body: update(0), headers: { 'content-type': 'application/json' } });
      await waitFor(async () => /webhook_affinity_answers_dropped_total\{platform="telegram"\} 1/.test(await proxy.metrics()) || undefined, 'the dropped reply counted');
    } finally {
      await proxy.close();
      await bot.close();
    }
  });
});
