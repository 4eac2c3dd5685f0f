/**
 * DEDUPE: a platform's copy of a delivery (same delivery id) is answered without reaching the
 * bot, unless the first one failed; shared by replicas through Redis.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { request, startPair, startProxy, stopPair } from './helpers/http';
import { deletePrefix, REDIS_URL, redisSkipReason, testPrefix } from './helpers/redis';
import { waitFor } from './helpers/wait';

const slackEvent = readFileSync(join(__dirname, '..', '..', 'test', 'fixtures', 'slack', 'event-message.json'));
const isDuplicate = (res: { body: Buffer }) => res.body.toString() === '{"duplicate":true}';

describe('DEDUPE', () => {
  it('PLATFORM=slack: a re-sent event (same event_id) is answered, not delivered twice', async () => {
    const pair = await startPair({ PLATFORM: 'slack', SIGNATURE_SCHEME: 'none' });
    try {
      assert.equal((await request(pair.proxy.port, { body: slackEvent })).body.toString(), '{"ok":true}');
      const copy = await request(pair.proxy.port, { body: slackEvent, headers: { 'x-slack-retry-num': '1' } });
      assert.equal(copy.status, 200);
      assert.ok(isDuplicate(copy));
      assert.equal(pair.upstream.requests.length, 1, 'the bot saw it once');
    } finally {
      await stopPair(pair);
    }
  });

  it('answers a copy that arrives while the first is still with the bot', async () => {
    const held: http.ServerResponse[] = [];
    const pair = await startPair({ PLATFORM: 'slack', SIGNATURE_SCHEME: 'none' }, (_req, res) => held.push(res));
    try {
      const first = request(pair.proxy.port, { body: slackEvent });
      await waitFor(() => held.length === 1, 'the first at the bot');
      assert.ok(isDuplicate(await request(pair.proxy.port, { body: slackEvent })));
      held[0]?.end('ok');
      assert.equal((await first).status, 200);
    } finally {
      await stopPair(pair);
    }
  });

  it('lets the copy through when the first failed', async () => {
    let answers = 0;
    const pair = await startPair({ PLATFORM: 'slack', SIGNATURE_SCHEME: 'none' }, (_req, res) => {
      res.statusCode = answers++ === 0 ? 500 : 200;
      res.end();
    });
    try {
      assert.equal((await request(pair.proxy.port, { body: slackEvent })).status, 500);
      assert.equal((await request(pair.proxy.port, { body: slackEvent })).status, 200);
      assert.equal(pair.upstream.requests.length, 2);
    } finally {
      await stopPair(pair);
    }
  });

  it('DEDUPE=off, and the default webex platform, deliver every copy', async () => {
    for (const env of [{ PLATFORM: 'slack', SIGNATURE_SCHEME: 'none', DEDUPE: 'off' }, {}]) {
      const pair = await startPair(env);
      try {
        await request(pair.proxy.port, { body: slackEvent });
        await request(pair.proxy.port, { body: slackEvent });
        assert.equal(pair.upstream.requests.length, 2, JSON.stringify(env));
      } finally {
        await stopPair(pair);
      }
    }
  });

  const skip = redisSkipReason();
  const prefix = testPrefix();
  after(async () => {
    if (skip !== false) return;
    const client = new Redis(REDIS_URL);
    await deletePrefix(client, prefix);
    client.disconnect();
  });

  it('is shared by two replicas on one Redis (STORE=redis)', { skip }, async () => {
    const env = { PLATFORM: 'slack', SIGNATURE_SCHEME: 'none', STORE: 'redis', REDIS_URL, REDIS_PREFIX: prefix, STORE_TIMEOUT_MS: '1000' };
    const pair = await startPair(env);
    const other = await startProxy(pair.upstream.url, env);
    try {
      assert.equal((await request(pair.proxy.port, { body: slackEvent })).status, 200);
      assert.ok(isDuplicate(await request(other.port, { body: slackEvent })));
      assert.equal(pair.upstream.requests.length, 1);
    } finally {
      await other.close();
      await stopPair(pair);
    }
  });
});
