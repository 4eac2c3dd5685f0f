/**
 * grammY 1.46 behind the proxy: grammY's webhook handler checks the secret token we forward,
 * each person stays on one instance, queued delivery keeps order and loses nothing across an
 * instance killed and restarted, and the reply grammY puts in its answer (a webhook reply)
 * reaches the Bot API: Telegram carries it out when it is the webhook's answer (direct), the
 * proxy does with TELEGRAM_BOT_TOKEN (queued).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { closeServer, fixture } from '../helpers/http';
import { checkRun, everyAckedHandled, everyQueuedHandledInOrder, printTable, type Scenario } from './harness';

const SECRET = 'grammy-secret-token_42';
const template = JSON.parse(fixture('telegram/message-private.json').toString()) as { update_id: number; message: Record<string, unknown> & { from: object; chat: object } };
let updates = 0;

const person = (n: number) => String(6512345600 + n);
const scenario = (apiUrl: string): Scenario => ({
  script: 'telegram-grammy.js',
  botEnv: { TELEGRAM_SECRET: SECRET, TELEGRAM_API_URL: apiUrl },
  proxyEnv: { PLATFORM: 'telegram', WEBHOOK_SECRET: SECRET, TELEGRAM_BOT_TOKEN: '123456:FRAMEWORK-TEST', TELEGRAM_API_URL: apiUrl },
  personId: person,
  delivery: async (n, seq) => {
    const id = Number(person(n));
    const message = { ...template.message, message_id: 1000 + seq, from: { ...template.message.from, id }, chat: { ...template.message.chat, id }, text: `message ${seq}` };
    return {
      path: '/telegram',
      body: Buffer.from(JSON.stringify({ update_id: template.update_id + ++updates, message })),
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
    };
  },
});

/** The Bot API as far as these bots use it: records sendMessage calls. */
async function botApi() {
  const calls: { chat: string; text: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const params = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { chat_id?: number; text?: string };
      if (req.url?.endsWith('/sendMessage')) calls.push({ chat: String(params.chat_id), text: String(params.text) });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, result: { message_id: calls.length, date: 0, chat: { id: params.chat_id, type: 'private' } } }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, close: () => closeServer(server) };
}

const rows: string[] = [];
after(() => printTable(rows));

describe('grammY 1.46 (webhook replies), two instances, one killed and restarted', { timeout: 120_000 }, () => {
  it('direct: grammY checks the secret token of every update it gets; its replies go back as the webhook’s answer', async () => {
    const api = await botApi();
    try {
      await checkRun(rows, 'grammY', scenario(api.url), 'direct', (r) => {
        everyAckedHandled(r);
        assert.equal(api.calls.length, 0, 'no reply went through the Bot API: each was the answer');
      });
    } finally {
      await api.close();
    }
  });

  it('queued: every update handled, each person on one instance, in order, none lost; every reply made, in order', async () => {
    const api = await botApi();
    try {
      await checkRun(rows, 'grammY', scenario(api.url), 'queued', (r) => {
        everyQueuedHandledInOrder(r);
        assert.equal(api.calls.length, r.sent, 'a reply per update, made by the proxy');
        for (let n = 0; n < 10; n++) {
          const texts = api.calls.filter((c) => c.chat === person(n)).map((c) => Number(/(\d+)$/.exec(c.text)?.[1]));
          assert.deepEqual(texts, [...Array(8).keys()], `person ${n}'s replies in order`);
        }
      });
    } finally {
      await api.close();
    }
  });
});
