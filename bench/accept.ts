/**
 * npm run bench -- accept [--quick] [--redis | --cluster]: how long DELIVERY=queued takes to
 * answer a webhook ("queued") at a steady 1 000 webhooks/s over 10 000 keys, first with the bot
 * up, then with its port closed (every mailbox retrying on its backoff while new webhooks keep
 * coming). The sender is open-loop: webhook i is due at start + i ms, and its latency counts from
 * then, so a stall shows in every webhook it delayed, not only in the one it hit.
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, untilAccepting } from '../test/helpers/net';
import { BOT, start, stop } from './backlog';
import { actorPool, webexPayloads, type Payload } from './payloads';

const ROOT = join(__dirname, '..', '..');
const RATE = 1000;

interface Latencies {
  readonly sent: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly notQueued: number;
}

/** Sends `payloads` at RATE a second for `seconds`; the latency of each from when it was due. */
async function steadily(port: number, payloads: readonly Payload[], seconds: number): Promise<Latencies> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const total = RATE * seconds;
  const latencies: number[] = [];
  let notQueued = 0;
  let sent = 0;
  const started = performance.now();
  const post = (p: Payload, dueAt: number) =>
    new Promise<void>((resolve) => {
      const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/webhook', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          if (!text.startsWith('{"queued"')) notQueued++;
          latencies.push(performance.now() - dueAt);
          resolve();
        });
      });
      req.on('error', () => {
        notQueued++;
        resolve();
      });
      req.end(p.body);
    });
  const inFlight: Promise<void>[] = [];
  while (sent < total) {
    const dueNow = Math.min(total, Math.floor(((performance.now() - started) * RATE) / 1000));
    for (; sent < dueNow; sent++) inFlight.push(post(payloads[sent % payloads.length]!, started + (sent * 1000) / RATE));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(inFlight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { sent: total, p50Ms: pct(0.5), p99Ms: pct(0.99), maxMs: latencies.at(-1) ?? NaN, notQueued };
}

/** `spoolEnv`: where the mailbox keeps them (STORE and its variables; memory when empty). */
export async function runAcceptBench(quick: boolean, spoolEnv: Record<string, string>, where: string): Promise<void> {
  const seconds = quick ? 3 : 10;
  const fixture = readFileSync(join(ROOT, 'test', 'fixtures', 'message-created.json'), 'utf8');
  const payloads = webexPayloads(fixture, actorPool(10_000));
  const [botPort, port, adminPort] = [await freePort(), await freePort(), await freePort()];
  const env = { PORT: String(port), HOST: '127.0.0.1', TARGET_URL: `http://127.0.0.1:${botPort}`, ADMIN_PORT: String(adminPort), DELIVERY: 'queued', ...spoolEnv };
  const bot = start(['-e', BOT, String(botPort)]);
  await untilAccepting(botPort, 'the bench bot');
  const proxy = start([join(ROOT, 'dist', 'server.js')], env);
  try {
    await untilAccepting(port, 'the proxy (queued)');
    // Warm-up: the JIT, the connections, the spool's scripts.
    await steadily(port, payloads, 1);
    const up = await steadily(port, payloads, seconds);
    await stop(bot);
    const down = await steadily(port, payloads, seconds);
    console.log(`\nDelivery mailbox, accepting at ${RATE} webhooks/s over 10 000 keys for ${seconds} s (${where}; target p99 < 10 ms).\n`);
    console.log('| bot | p50 ms | p99 ms | max ms | not answered queued |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (const [name, r] of [
      ['up', up],
      ['down (port closed)', down],
    ] as const) {
      console.log(`| ${name} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.maxMs.toFixed(1)} | ${r.notQueued} of ${r.sent} |`);
    }
  } finally {
    await stop(proxy);
    await stop(bot);
  }
}
