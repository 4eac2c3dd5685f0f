/**
 * PLATFORM presets: each platform's delivery gets its person's key and its scheme's check, from
 * one variable; AFFINITY_KEY and SIGNATURE_SCHEME still override.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../src/config/config';
import { keyFromBody } from '../src/request/key';
import { verifierFor } from '../src/signature/verifier';
import { PLATFORM_NAMES } from '../src/platforms/platforms';
import { request, startPair, stopPair } from './helpers/http';

const FIXTURES = join(__dirname, '..', '..', 'test', 'fixtures');
const fixture = (platform: string, file: string) => readFileSync(join(FIXTURES, platform, file));

/** The key the preset finds in a platform's delivery. */
function keyOf(platform: string, file: string): string | undefined {
  const config = parseConfig({ PLATFORM: platform, SIGNATURE_SCHEME: 'none' });
  const found = keyFromBody(fixture(platform, file), config);
  return found.found ? found.key : undefined;
}

describe('PLATFORM presets', () => {
  it('find the person in each platform’s deliveries', () => {
    assert.equal(keyOf('slack', 'event-message.json'), 'U05A1B2C3D4');
    assert.equal(keyOf('slack', 'event-app-mention.json'), 'U06F7G8H9JK');
    assert.equal(keyOf('telegram', 'message-private.json'), '6512345678', 'a numeric id as its decimal text');
    assert.equal(keyOf('telegram', 'callback-query.json'), String(JSON.parse(fixture('telegram', 'callback-query.json').toString('utf8')).callback_query.from.id));
    assert.equal(keyOf('github', 'issue-comment-created.json'), String(JSON.parse(fixture('github', 'issue-comment-created.json').toString('utf8')).repository.id));
    assert.equal(keyOf('zoom', 'bot-notification.json'), JSON.parse(fixture('zoom', 'bot-notification.json').toString('utf8')).payload.userId);
    assert.equal(keyOf('discord', 'command-guild.json'), JSON.parse(fixture('discord', 'command-guild.json').toString('utf8')).member.user.id);
    assert.equal(keyOf('discord', 'command-dm.json'), JSON.parse(fixture('discord', 'command-dm.json').toString('utf8')).user.id);
    assert.equal(keyOf('slack', 'url-verification.json'), undefined, 'a handshake has no person');
  });

  it('set the scheme, which AFFINITY_KEY and SIGNATURE_SCHEME override', () => {
    const c = parseConfig({ PLATFORM: 'github', WEBHOOK_SECRET: 's' });
    assert.deepEqual([c.platform, c.signatureScheme], ['github', 'github']);
    const o = parseConfig({ PLATFORM: 'github', WEBHOOK_SECRET: 's', AFFINITY_KEY: 'sender.id', SIGNATURE_SCHEME: 'webex' });
    assert.deepEqual([o.keyPaths, o.signatureScheme], [[['sender', 'id']], 'webex']);
    assert.deepEqual(parseConfig({}).keyPaths, [['actorId']], 'webex by default, as before');
    assert.deepEqual([...PLATFORM_NAMES], ['webex', 'slack', 'teams', 'telegram', 'github', 'zoom', 'discord', 'generic']);
  });

  it('turn dedupe on for the platforms that re-send (DEDUPE=auto), and DEDUPE overrides', () => {
    const on = ['slack', 'teams', 'telegram', 'github', 'zoom'];
    for (const platform of PLATFORM_NAMES) assert.equal(parseConfig({ PLATFORM: platform, SIGNATURE_SCHEME: 'none' }).dedupe, on.includes(platform), platform);
    assert.equal(parseConfig({ PLATFORM: 'discord', SIGNATURE_SCHEME: 'none', DEDUPE: 'on' }).dedupe, true);
    assert.equal(parseConfig({ PLATFORM: 'slack', SIGNATURE_SCHEME: 'none', DEDUPE: 'off' }).dedupe, false);
    assert.equal(parseConfig({ DEDUPE_TTL_S: '60' }).dedupeTtlMs, 60_000);
  });

  it('secure by default, loud otherwise: a preset that cannot verify is refused, no checking at all is warned of, none is quiet', () => {
    const refused = (env: Record<string, string>) =>
      assert.throws(
        () => parseConfig(env),
        (err: Error) => /SIGNATURE_SCHEME=none/.test(err.message),
        JSON.stringify(env),
      );
    refused({ PLATFORM: 'slack' });
    refused({ PLATFORM: 'webex' });
    refused({ PLATFORM: 'discord', WEBHOOK_SECRET: 'not a public key' });
    assert.throws(() => parseConfig({ PLATFORM: 'teams' }), /set TEAMS_APP_ID/);
    assert.throws(() => parseConfig({ SIGNATURE_SCHEME: 'webex' }), /webex needs WEBHOOK_SECRET/, 'a scheme named without its keys, the default one too');
    assert.deepEqual(parseConfig({ PLATFORM: 'telegram', WEBHOOK_SECRET: 't' }).warnings, []);
    // The default start checks nothing and says so; SIGNATURE_SCHEME=none says it is meant.
    assert.match(parseConfig({}).warnings.join('\n'), /deliveries are not verified: set WEBHOOK_SECRET .*SIGNATURE_SCHEME=none/);
    assert.match(parseConfig({ PLATFORM: 'generic' }).warnings.join('\n'), /deliveries are not verified/);
    assert.deepEqual(parseConfig({ SIGNATURE_SCHEME: 'none' }).warnings, []);
    const off = parseConfig({ PLATFORM: 'slack', SIGNATURE_SCHEME: 'none', WEBHOOK_SECRET: 's' });
    assert.deepEqual([off.verifySignatures, off.signatureScheme, verifierFor(off)], [false, 'slack', undefined], 'none wins over a secret set for something else');
  });

  it('PLATFORM=slack: slash commands and interactivity (form bodies) get their person as the key, bytes untouched', async () => {
    const secret = 'e4b1c7a0d93f58a2b6c1e0f7a9d35c18';
    const pair = await startPair({ PLATFORM: 'slack', WEBHOOK_SECRET: secret });
    try {
      for (const [file, person] of [
        ['slash-command.txt', 'U05A1B2C3D4'],
        ['interactivity-block-actions.txt', 'U06F7G8H9JK'],
      ] as const) {
        const body = fixture('slack', file);
        // Signed now, as Slack signs a delivery it sends now.
        const ts = String(Math.floor(Date.now() / 1000));
        const signature = `v0=${createHmac('sha256', secret).update(`v0:${ts}:`).update(body).digest('hex')}`;
        const received = pair.upstream.nextRequest();
        const res = await request(pair.proxy.port, {
          body,
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': signature },
        });
        assert.equal(res.status, 200, file);
        const got = await received;
        assert.equal(got.headers.actorid, person, file);
        assert.deepEqual(got.body, body, `${file} byte for byte`);
      }
    } finally {
      await stopPair(pair);
    }
  });

  it('PLATFORM=telegram: the secret token is checked and the sender’s id becomes the Actorid header', async () => {
    const secret = 'acme_Deploy-bot_webhook_7Qx2Lm9Vr4';
    const pair = await startPair({ PLATFORM: 'telegram', WEBHOOK_SECRET: secret });
    try {
      const body = fixture('telegram', 'message-private.json');
      const received = pair.upstream.nextRequest();
      assert.equal((await request(pair.proxy.port, { body, headers: { 'x-telegram-bot-api-secret-token': secret } })).status, 200);
      const got = await received;
      assert.equal(got.headers.actorid, '6512345678');
      assert.deepEqual(got.body, body);
      assert.equal((await request(pair.proxy.port, { body, headers: { 'x-telegram-bot-api-secret-token': 'wrong' } })).status, 401);
    } finally {
      await stopPair(pair);
    }
  });
});
