/**
 * npm run bench -- backlog: DELIVERY=queued with the bot down, `webhooks` stored over `keys`
 * keys; then the bot comes back and the time until the mailbox is empty is measured. The same
 * webhooks sent through DELIVERY=direct to the same bot are the reference of the ratio.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, untilAccepting } from '../test/helpers/net';
import { actorPool, webexPayloads, type Payload } from './payloads';

const ROOT = join(__dirname, '..', '..');
const CONNECTIONS = 50;
// The bot: answers every webhook {"ok":true} at once, in a process of its own.
export const BOT = `require('http').createServer((q,s)=>{q.resume();q.on('end',()=>{s.setHeader('content-type','application/json');s.end('{"ok":true}')})}).listen(Number(process.argv[1]),'127.0.0.1')`;

/** A Node child of the bench (the proxy or the bot), its stderr shown. */
export function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}

export function stop(child: ChildProcess): Promise<void> {
  // Ended already: by itself (exitCode) or by a signal (signalCode, exitCode stays null).
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Posts every payload once, CONNECTIONS at a time; resolves with the seconds it took. */
async function sendAll(port: number, payloads: readonly Payload[]): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  let next = 0;
  const started = performance.now();
  const post = (p: Payload) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/webhook', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => ((res.statusCode ?? 0) < 300 ? resolve() : reject(new Error(`answered ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(p.body);
    });
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      for (let p = payloads[next++]; p !== undefined; p = payloads[next++]) await post(p);
    }),
  );
  agent.destroy();
  return (performance.now() - started) / 1000;
}

/** The mailbox's depth, from the admin listener. */
export function depth(adminPort: number): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ port: adminPort, host: '127.0.0.1', path: '/queue', headers: { authorization: 'Bearer bench' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve((JSON.parse(text) as { depth: number }).depth));
      })
      .on('error', reject);
  });
}

/** `spoolEnv`: where the mailbox keeps them (STORE and its variables; memory when empty). */
export async function runBacklogBench(quick: boolean, spoolEnv: Record<string, string>): Promise<void> {
  const [webhooks, keys] = quick ? [10_000, 1_000] : [100_000, 10_000];
  const fixture = readFileSync(join(ROOT, 'test', 'fixtures', 'message-created.json'), 'utf8');
  const perKey = webexPayloads(fixture, actorPool(keys));
  const payloads = Array.from({ length: webhooks }, (_, i) => perKey[i % keys]).filter((p): p is Payload => p !== undefined);
  const botPort = await freePort();
  const [port, adminPort] = [await freePort(), await freePort()];
  const server = join(ROOT, 'dist', 'server.js');
  const base = { PORT: String(port), HOST: '127.0.0.1', TARGET_URL: `http://127.0.0.1:${botPort}`, ADMIN_PORT: String(adminPort), ADMIN_TOKEN: 'bench' };

  // The reference: the same webhooks through DELIVERY=direct to the bot.
  let bot = start(['-e', BOT, String(botPort)]);
  await untilAccepting(botPort, 'the bench bot');
  let proxy = start([server], base);
  await untilAccepting(port, 'the proxy (direct)');
  const directSeconds = await sendAll(port, payloads);
  await stop(proxy);

  // The backlog: stored while the bot is down, drained once it is back.
  await stop(bot);
  proxy = start([server], { ...base, ...spoolEnv, DELIVERY: 'queued', QUEUE_MAX_BYTES: String(2 ** 31) });
  await untilAccepting(port, 'the proxy (queued)');
  const acceptSeconds = await sendAll(port, payloads);
  const stored = await depth(adminPort);
  const drainStarted = performance.now();
  bot = start(['-e', BOT, String(botPort)]);
  while ((await depth(adminPort)) > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  const drainSeconds = (performance.now() - drainStarted) / 1000;
  await stop(proxy);
  await stop(bot);

  const direct = webhooks / directSeconds;
  const drained = stored / drainSeconds;
  const where = spoolEnv.REDIS_CLUSTER_NODES === undefined ? '' : ', a 3-primary cluster';
  console.log(`\nDelivery mailbox backlog (${spoolEnv.STORE ?? 'memory'} spool${where}): ${webhooks.toLocaleString('en')} webhooks over ${keys.toLocaleString('en')} keys, ${CONNECTIONS} connections.\n`);
  console.log('| measure | webhooks/s | ÷ direct |');
  console.log('| --- | ---: | ---: |');
  console.log(`| direct, bot up | ${Math.round(direct)} | 1.00 |`);
  console.log(`| queued, stored while the bot is down | ${Math.round(webhooks / acceptSeconds)} | ${(webhooks / acceptSeconds / direct).toFixed(2)} |`);
  console.log(`| queued, backlog drained once the bot is back (${stored} stored, ${drainSeconds.toFixed(1)} s) | ${Math.round(drained)} | ${(drained / direct).toFixed(2)} |`);
}
