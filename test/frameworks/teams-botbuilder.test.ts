/**
 * botbuilder 4.23 (CloudAdapter) behind the proxy: the adapter's own JWT check accepts the Bot
 * Connector token we forward (keys from a local stand-in of the Connector's OpenID endpoints),
 * each person stays on one instance, queued delivery keeps order and loses nothing across an
 * instance killed and restarted, and an invoke is answered by the bot itself (the sender reads
 * that answer).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { fixture, request, startProxy } from '../helpers/http';
import { freePort } from '../helpers/net';
import { mint, signingKey, startKeyServer, TEAMS_APP_ID, type KeyServer } from '../helpers/teams-keys';
import { BotInstance, checkRun, everyAckedHandled, everyQueuedHandledInOrder, type PlatformRequest, printTable, type Scenario } from './harness';

const key = signingKey('framework-k1');
const template = JSON.parse(fixture('teams/message-personal.json').toString()) as { serviceUrl: string; from: object };
const person = (n: number) => `6f0c7f2e-3b1a-4d9e-9c41-2a7e5b8d1c${String(n).padStart(2, '0')}`;
let keys: KeyServer;

/** An activity as the Bot Connector posts it: its token names the activity's serviceUrl. */
async function activity(extra: Record<string, unknown>): Promise<PlatformRequest> {
  const body = Buffer.from(JSON.stringify({ ...template, id: randomUUID(), ...extra }));
  return { path: '/api/messages', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${await mint(key, { serviceurl: template.serviceUrl })}` } };
}

const scenario = (): Scenario => ({
  script: 'teams-botbuilder.js',
  botEnv: { TEAMS_APP_ID, TEAMS_OPENID_URL: keys.openIdUrl },
  proxyEnv: { PLATFORM: 'teams', TEAMS_APP_ID, TEAMS_OPENID_URL: keys.openIdUrl },
  personId: person,
  delivery: (n, seq) => activity({ from: { ...template.from, aadObjectId: person(n) }, text: `message ${seq}` }),
});

const rows: string[] = [];
before(async () => {
  keys = await startKeyServer({ keys: [key.jwk] });
});
after(async () => {
  printTable(rows);
  await keys.close();
});

describe('botbuilder 4.23 (CloudAdapter), two instances, one killed and restarted', { timeout: 120_000 }, () => {
  it('direct: the adapter accepts the token of every activity it gets', () => checkRun(rows, 'botbuilder', scenario(), 'direct', everyAckedHandled));

  it('queued: every message handled, each person on one instance, in order, none lost', () => checkRun(rows, 'botbuilder', scenario(), 'queued', everyQueuedHandledInOrder));

  it('queued: an invoke goes to the bot at once, and its answer reaches the sender', async () => {
    const bot = new BotInstance('invoke', await freePort(), 'teams-botbuilder.js', { TEAMS_APP_ID, TEAMS_OPENID_URL: keys.openIdUrl });
    await bot.start();
    const proxy = await startProxy(bot.url, { PLATFORM: 'teams', TEAMS_APP_ID, TEAMS_OPENID_URL: keys.openIdUrl, DELIVERY: 'queued' });
    try {
      const res = await request(proxy.port, await activity({ type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb: 'ok' } } }));
      assert.equal(res.status, 200);
      assert.deepEqual(res.json(), { answeredBy: 'invoke', name: 'adaptiveCard/action' });
    } finally {
      await proxy.close();
      await bot.kill();
    }
  });
});
