/**
 * npm run bench -- backlog: DELIVERY=queued with the bot down, `webhooks` stored over `keys`
 * keys; then the bot comes back and the time until the mailbox is empty is measured. The same
 * webhooks sent through DELIVERY=direct to the same bot are the reference of the ratio.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** What the proxy's heap holds after a full GC (heap-probe.ts): asked by signal, read from its file. */
async function liveHeap(proxy: ChildProcess, file: string): Promise<number> {
  rmSync(file, { force: true });
  proxy.kill('SIGUSR2');
  for (let waited = 0; !existsSync(file); waited += 20) {
    if (waited > 30_000) throw new Error('the proxy did not answer the heap probe');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // Written in one call; a partial read is retried.
  for (;;) {
    try {
      const usage = JSON.parse(readFileSync(file, 'utf8')) as NodeJS.MemoryUsage;
      return usage.heapUsed + usage.arrayBuffers;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** The mailbox's figures, from the admin listener. */
function figures(adminPort: number): Promise<{ depth: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    http
      .get({ port: adminPort, host: '127.0.0.1', path: '/queue', headers: { authorization: 'Bearer bench' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(JSON.parse(text) as { depth: number; bytes: number }));
      })
      .on('error', reject);
  });
}

/** `spoolEnv`: where the mailbox keeps them (STORE and its variables; memory when empty). */
export async function runBacklogBench(quick: boolean, spoolEnv: Record<string, string>, mailboxes?: number): Promise<void> {
  const [webhooks, defaultKeys] = quick ? [10_000, 1_000] : [100_000, 10_000];
  // --mailboxes: the keys the webhooks spread over (as many as the webhooks: one each).
  const keys = Math.min(webhooks, mailboxes ?? defaultKeys);
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
  const probeFile = join(tmpdir(), `webhook-affinity-heap-${process.pid}.json`);
  proxy = start(['--expose-gc', '-r', join(ROOT, 'build', 'bench', 'heap-probe.js'), server], {
    ...base,
    ...spoolEnv,
    DELIVERY: 'queued',
    QUEUE_MAX_BYTES: String(2 ** 31),
    HEAP_PROBE_FILE: probeFile,
  });
  await untilAccepting(port, 'the proxy (queued)');
  // What the heap holds with the mailbox empty but warmed (the same deliveries' shapes seen once).
  const heapEmpty = await liveHeap(proxy, probeFile);
  const acceptSeconds = await sendAll(port, payloads);
  const { depth: stored, bytes: counted } = await figures(adminPort);
  const heapGrowth = (await liveHeap(proxy, probeFile)) - heapEmpty;
  rmSync(probeFile, { force: true });
  const drainStarted = performance.now();
  bot = start(['-e', BOT, String(botPort)]);
  while ((await depth(adminPort)) > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  const drainSeconds = (performance.now() - drainStarted) / 1000;
  await stop(proxy);
  await stop(bot);

  const direct = webhooks / directSeconds;
  const drained = stored / drainSeconds;
  const where = spoolEnv.REDIS_CLUSTER_NODES === undefined ? '' : ', a 3-primary cluster';
  console.log(
    `\nDelivery mailbox backlog (${spoolEnv.STORE ?? 'memory'} spool${where}): ${webhooks.toLocaleString('en')} webhooks over ${keys.toLocaleString('en')} keys, ${CONNECTIONS} connections.\n`,
  );
  console.log('| measure | webhooks/s | ÷ direct |');
  console.log('| --- | ---: | ---: |');
  console.log(`| direct, bot up | ${Math.round(direct)} | 1.00 |`);
  console.log(`| queued, stored while the bot is down | ${Math.round(webhooks / acceptSeconds)} | ${(webhooks / acceptSeconds / direct).toFixed(2)} |`);
  console.log(`| queued, backlog drained once the bot is back (${stored} stored, ${drainSeconds.toFixed(1)} s) | ${Math.round(drained)} | ${(drained / direct).toFixed(2)} |`);
  if (spoolEnv.STORE === undefined) {
    // QUEUE_MAX_BYTES must bound what the spool really holds (issue 24: heap growth ≤ 1.25× what it counts).
    const ratio = heapGrowth / counted;
    console.log(
      `\nThe proxy's heap (after GC, bodies included) grew by ${Math.round(heapGrowth / stored)} B per stored webhook; QUEUE_MAX_BYTES counts ${Math.round(counted / stored)} B each: ` +
        `${ratio.toFixed(2)}× (${ratio <= 1.25 ? 'meets' : 'MISSES'} target ≤ 1.25).`,
    );
  }
}
