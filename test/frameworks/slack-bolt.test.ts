/**
 * @slack/bolt 5 behind the proxy: Bolt's own receiver verifies what we forward, each person stays
 * on one instance, queued delivery keeps order and loses nothing across an instance killed and
 * restarted, and an event delivered after Bolt's five minutes is accepted because the mailbox
 * signs it again (QUEUE_RESIGN=auto), and refused without that.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { fixture, request, startProxy } from '../helpers/http';
import { freePort } from '../helpers/net';
import { v0Signature } from '../helpers/signers';
import { waitFor } from '../helpers/wait';
import { BotInstance, checkRun, everyAckedHandled, everyQueuedHandledInOrder, type PlatformRequest, printTable, type Scenario } from './harness';

const SECRET = 'bolt-signing-secret-8f3a';
const template = JSON.parse(fixture('slack/event-message.json').toString()) as { event_id: string; event: Record<string, unknown> };

/** Message `seq` of a person, as Slack sends an Events API message: signed at `signedAt`. */
function slackEvent(user: string, text: string, signedAt = Date.now()): PlatformRequest {
  const body = Buffer.from(
    JSON.stringify({ ...template, event_id: `Ev${randomUUID().replace(/-/g, '').slice(0, 10)}`, event: { ...template.event, user, text, ts: `${signedAt / 1000}`, client_msg_id: randomUUID() } }),
  );
  const ts = String(Math.floor(signedAt / 1000));
  return {
    // Bolt's receiver listens on /slack/events.
    path: '/slack/events',
    body,
    headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': ts, 'x-slack-signature': v0Signature(SECRET, ts, body) },
  };
}

const person = (n: number) => `U0PERSON${n}`;
const scenario: Scenario = {
  script: 'slack-bolt.js',
  botEnv: { SLACK_SIGNING_SECRET: SECRET },
  proxyEnv: { PLATFORM: 'slack', WEBHOOK_SECRET: SECRET },
  personId: person,
  delivery: async (n, seq) => slackEvent(person(n), `message ${seq}`),
};

const rows: string[] = [];
after(() => printTable(rows));

describe('@slack/bolt 5.1 (processBeforeResponse: true), two instances, one killed and restarted', { timeout: 120_000 }, () => {
  it('direct: Bolt verifies every event it gets; people move only while their instance is dead', () => checkRun(rows, '@slack/bolt', scenario, 'direct', everyAckedHandled));

  it('queued: every event handled, each person on one instance, in order, none lost', () => checkRun(rows, '@slack/bolt', scenario, 'queued', everyQueuedHandledInOrder));
});

describe('@slack/bolt: an event held past its five minutes', { timeout: 60_000 }, () => {
  for (const resign of ['auto', 'off'] as const) {
    it(`QUEUE_RESIGN=${resign}: signed 298 s ago, held until 301 s: ${resign === 'auto' ? 'Bolt handles it' : 'Bolt refuses it as stale (a dead letter)'}`, async () => {
      const bot = new BotInstance('late', await freePort(), 'slack-bolt.js', { SLACK_SIGNING_SECRET: SECRET });
      const proxy = await startProxy(bot.url, { PLATFORM: 'slack', WEBHOOK_SECRET: SECRET, DELIVERY: 'queued', QUEUE_RESIGN: resign, QUEUE_RETRY_MIN_MS: '50', QUEUE_RETRY_MAX_MS: '200' });
      try {
        const signedAt = Date.now() - 298_000;
        const res = await request(proxy.port, slackEvent('U0LATE', 'late message 0', signedAt));
        assert.match(res.body.toString(), /"queued"/, 'within the proxy’s own tolerance when it arrived');
        // The bot is down until the event is older than Bolt accepts: the outage is the test.
        await waitFor(() => Date.now() > signedAt + 301_000, 'the event past five minutes', { ms: 10_000, pauseMs: 50 });
        await bot.start();
        await waitFor(async () => (await proxy.proxy.mailbox?.stats())?.depth === 0 || undefined, 'delivered or given up on', { ms: 20_000, pauseMs: 20 });
        if (resign === 'auto') {
          assert.deepEqual(
            bot.handled.map((h) => h.text),
            ['late message 0'],
          );
        } else {
          assert.deepEqual(bot.handled, []);
          const [dead] = await proxy.proxy.mailbox!.deadLetters();
          assert.match(dead?.reason ?? '', /answered 401/);
        }
      } finally {
        await proxy.close();
        await bot.kill();
      }
    });
  }
});
