/**
 * npm run bench -- instructions: CPU instructions per proxied request, by valgrind's callgrind.
 * Unlike requests per second, the count repeats to within a fraction of a percent whatever else
 * the machine does. Each mode runs twice, with `fewer` and `more` webhooks; the difference
 * divided by the extra webhooks is the cost of one, start-up and JIT warm-up cancelling out.
 */
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, untilAccepting } from '../test/helpers/net';
import { actorPool, webexPayloads, type Payload } from './payloads';
import { startUpstream, type BenchUpstream } from './upstream';

const ROOT = join(__dirname, '..', '..');
const MODES = ['header', 'hash', 'cookie'] as const;

/** Instructions the proxy process executed while `webhooks` went through it (start-up included). */
async function totalInstructions(mode: string, upstream: BenchUpstream, payloads: Payload[], webhooks: number, work: string): Promise<number> {
  const port = await freePort();
  const out = join(work, `${mode}-${webhooks}.callgrind`);
  const env: Record<string, string> = { ...process.env, PORT: String(port), HOST: '127.0.0.1', ADMIN_PORT: 'off', AFFINITY_MODE: mode, TARGET_URL: upstream.url };
  if (mode === 'hash') env.UPSTREAMS = upstream.urls.join(',');
  const child = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, join(ROOT, 'dist', 'server.js')], { env, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // Under valgrind, start-up takes tens of seconds.
  await untilAccepting(port, `the proxy under valgrind (${mode})`, () => child.exitCode !== null, 120_000);
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
  const rows = ['| mode | instructions per request |', '| --- | ---: |'];
  try {
    for (const mode of MODES.filter((m) => only === undefined || only.some((o) => m.includes(o)))) {
      const a = await totalInstructions(mode, upstream, payloads, fewer, work);
      const b = await totalInstructions(mode, upstream, payloads, more, work);
      const perRequest = Math.round((b - a) / (more - fewer));
      console.error(`  ${mode}: ${perRequest} instructions per request`);
      rows.push(`| ${mode} | ${perRequest.toLocaleString('en')} |`);
    }
  } finally {
    await upstream.stop();
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`\nInstructions per proxied request (callgrind, ${more} − ${fewer} webhooks, unsigned ~1 KB Webex deliveries):\n`);
  console.log(rows.join('\n'));
}
