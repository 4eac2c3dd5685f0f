/**
 * npm run bench -- instructions: CPU instructions per proxied request, by valgrind's callgrind.
 * Unlike requests per second, the count repeats to within a fraction of a percent whatever else
 * the machine does. Each mode (and each bare forwarder, and the node engine) runs twice, with `fewer` and `more` webhooks; the difference
 * divided by the extra webhooks is the cost of one, start-up and JIT warm-up cancelling out.
 */
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, untilAccepting } from '../test/helpers/net';
import { actorPool, slackPayloads, webexPayloads, type Payload } from './payloads';
import { startUpstream, type BenchUpstream } from './upstream';

const ROOT = join(__dirname, '..', '..');
/** What is counted: a script (the proxy, or a bare forwarder) and its environment. */
interface Counted {
  readonly name: string;
  readonly script: string;
  env(upstream: BenchUpstream): Record<string, string>;
  /** What it is sent: Webex deliveries unless said (a platform whose key and facts differ). */
  readonly platform?: 'slack';
}

const proxyIn = (mode: string, extra: Record<string, string> = {}): Counted => ({
  name: `${mode} mode${Object.entries(extra)
    .map(([name, value]) => `, ${name}=${value}`)
    .join('')}`,
  ...(extra.PLATFORM === 'slack' ? { platform: 'slack' as const } : {}),
  script: join(ROOT, 'dist', 'server.js'),
  // Unsigned bench deliveries: a platform other than Webex insists on being told they are meant so.
  env: (upstream) => ({
    AFFINITY_MODE: mode,
    TARGET_URL: upstream.url,
    ...(mode === 'hash' ? { UPSTREAMS: upstream.urls.join(',') } : {}),
    ...(extra.PLATFORM === undefined ? {} : { SIGNATURE_SCHEME: 'none' }),
    ...extra,
  }),
});
const bare = (name: string, script: string): Counted => ({ name, script: join(ROOT, 'build', 'bench', script), env: (upstream) => ({ TARGET_URL: upstream.url }) });

const COUNTED: readonly Counted[] = [
  proxyIn('header'),
  proxyIn('hash'),
  proxyIn('cookie'),
  proxyIn('header', { FORWARD_ENGINE: 'node' }),
  // Slack: the key (event.user) and the platform's facts come from one parse of the body.
  proxyIn('header', { PLATFORM: 'slack' }),
  bare('bare http-proxy', 'bare-forwarder.js'),
  bare('bare Node http.request', 'bare-node-forwarder.js'),
  bare('bare undici Pool.stream', 'bare-undici-forwarder.js'),
];

/** Instructions the process executed while `webhooks` went through it (start-up included). */
async function totalInstructions(counted: Counted, upstream: BenchUpstream, payloads: Payload[], webhooks: number, work: string): Promise<number> {
  const port = await freePort();
  const out = join(work, `${counted.name.replace(/\W+/g, '-')}-${webhooks}.callgrind`);
  const env: Record<string, string> = { ...process.env, PORT: String(port), HOST: '127.0.0.1', ADMIN_PORT: 'off', ...counted.env(upstream) };
  const child = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, counted.script], { env, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // Under valgrind, start-up takes tens of seconds.
  await untilAccepting(port, `${counted.name} under valgrind`, () => child.exitCode !== null, 120_000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
  let sent = 0;
  const send = (p: Payload) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/webhook', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(p.body);
    });
  const worker = async (): Promise<void> => {
    while (sent < webhooks) {
      const p = payloads[sent++ % payloads.length];
      if (p !== undefined) await send(p);
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  agent.destroy();
  child.kill('SIGTERM');
  await exited;
  const total = /^(?:summary|totals):\s*(\d+)/m.exec(readFileSync(out, 'utf8'))?.[1];
  if (total === undefined) throw new Error(`no instruction total in ${out}`);
  return Number(total);
}

export async function runInstructionsBench(only: readonly string[] | undefined, quick: boolean): Promise<void> {
  if (spawnSync('valgrind', ['--version']).error !== undefined) {
    console.error('instructions: valgrind is not installed (apt-get install valgrind)');
    process.exitCode = 1;
    return;
  }
  // --quick is a smoke run: with so few webhooks the JIT's warm-up dominates the difference.
  const [fewer, more] = quick ? [500, 1500] : [3000, 8000];
  const work = mkdtempSync(join(tmpdir(), 'webhook-affinity-instructions-'));
  const upstream = await startUpstream(work);
  const payloads = webexPayloads(readFileSync(join(ROOT, 'test', 'fixtures', 'message-created.json'), 'utf8'), actorPool(1000));
  const slack = slackPayloads(readFileSync(join(ROOT, 'test', 'fixtures', 'slack', 'event-message.json'), 'utf8'), more);
  const rows = ['| mode or forwarder | instructions per request |', '| --- | ---: |'];
  try {
    for (const counted of COUNTED.filter((c) => only === undefined || only.some((o) => c.name.includes(o)))) {
      const sent = counted.platform === 'slack' ? slack : payloads;
      const a = await totalInstructions(counted, upstream, sent, fewer, work);
      const b = await totalInstructions(counted, upstream, sent, more, work);
      const perRequest = Math.round((b - a) / (more - fewer));
      console.error(`  ${counted.name}: ${perRequest} instructions per request`);
      rows.push(`| ${counted.name} | ${perRequest.toLocaleString('en')} |`);
    }
  } finally {
    await upstream.stop();
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`\nInstructions per proxied request (callgrind, ${more} − ${fewer} webhooks, unsigned ~1 KB Webex deliveries; PLATFORM=slack: ~1.3 KB Slack message events, each event_id once):\n`);
  console.log(rows.join('\n'));
}
