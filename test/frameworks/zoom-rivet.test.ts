/**
 * @zoom/rivet 0.4 behind the proxy: Rivet's receiver verifies x-zm-signature on what we forward
 * (it recomputes the HMAC over JSON.stringify of the parsed body, so it needs the body exactly
 * as Zoom sent it: compact, untouched), each person stays on one instance, and queued delivery
 * keeps order and loses nothing across an instance killed and restarted.
 */
import { after, describe, it } from 'node:test';
import { fixture } from '../helpers/http';
import { v0Signature } from '../helpers/signers';
import { checkRun, everyAckedHandled, everyQueuedHandledInOrder, printTable, type Scenario } from './harness';

const SECRET = 'rivet-webhook-secret-token-77';
const template = JSON.parse(fixture('zoom/bot-notification.json').toString()) as { payload: object };
const person = (n: number) => `PersonZoom${n}`;

const scenario: Scenario = {
  script: 'zoom-rivet.js',
  botEnv: { ZOOM_WEBHOOK_SECRET: SECRET },
  proxyEnv: { PLATFORM: 'zoom', WEBHOOK_SECRET: SECRET },
  personId: person,
  delivery: async (n, seq) => {
    const now = Date.now();
    const body = Buffer.from(JSON.stringify({ ...template, payload: { ...template.payload, userId: person(n), cmd: `message ${seq}`, timestamp: now }, event_ts: now }));
    const ts = String(Math.floor(now / 1000));
    return {
      path: '/zoom/events',
      body,
      headers: { 'content-type': 'application/json', 'x-zm-request-timestamp': ts, 'x-zm-signature': v0Signature(SECRET, ts, body) },
    };
  },
};

const rows: string[] = [];
after(() => printTable(rows));

describe('@zoom/rivet 0.4 (ChatbotClient), two instances, one killed and restarted', { timeout: 120_000 }, () => {
  it('direct: Rivet verifies every event it gets', () => checkRun(rows, '@zoom/rivet', scenario, 'direct', everyAckedHandled));

  it('queued: every event handled (signed again at delivery), each person on one instance, in order, none lost', () => checkRun(rows, '@zoom/rivet', scenario, 'queued', everyQueuedHandledInOrder));
});
