/**
 * discord-interactions 4 behind the proxy: verifyKey accepts the Ed25519 signature of what we
 * forward, and every interaction is answered by the bot itself, in both delivery modes (Discord
 * reads the answer: the mailbox never holds an interaction).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { fixture } from '../helpers/http';
import { checkRun, everyAckedHandled, printTable, type Scenario } from './harness';

const keys = generateKeyPairSync('ed25519');
const publicHex = Buffer.from(keys.publicKey.export({ format: 'jwk' }).x ?? '', 'base64url').toString('hex');
const template = JSON.parse(fixture('discord/command-guild.json').toString()) as { member: { user: object }; data: { options: object[] } };
const person = (n: number) => String(1187654321098700000n + BigInt(n));
let interactions = 0;

const scenario: Scenario = {
  script: 'discord-interactions.js',
  botEnv: { DISCORD_PUBLIC_KEY: publicHex },
  proxyEnv: { PLATFORM: 'discord', DISCORD_PUBLIC_KEY: publicHex },
  personId: person,
  delivery: async (n, seq) => {
    const body = Buffer.from(
      JSON.stringify({
        ...template,
        id: String(1311234559012300000n + BigInt(++interactions)),
        member: { ...template.member, user: { ...template.member.user, id: person(n) } },
        data: { ...template.data, options: [{ name: 'text', type: 3, value: `message ${seq}` }] },
      }),
    );
    const timestamp = String(Math.floor(Date.now() / 1000));
    return {
      path: '/interactions',
      body,
      headers: {
        'content-type': 'application/json',
        'x-signature-timestamp': timestamp,
        'x-signature-ed25519': sign(null, Buffer.concat([Buffer.from(timestamp), body]), keys.privateKey).toString('hex'),
      },
    };
  },
};

const rows: string[] = [];
after(() => printTable(rows));

describe('discord-interactions 4.4, two instances, one killed and restarted', { timeout: 120_000 }, () => {
  for (const delivery of ['direct', 'queued'] as const) {
    it(`${delivery}: verifyKey accepts every interaction; each is answered by the bot, never queued`, () =>
      checkRun(rows, 'discord-interactions', scenario, delivery, async (r) => {
        everyAckedHandled(r);
        assert.equal(r.acked, r.sent, 'the other instance answers while one is dead');
        assert.equal((await r.proxy.proxy.mailbox?.stats())?.depth ?? 0, 0);
      }));
  }
});
