/**
 * npm run bench [-- --duration 4 --rounds 5 --connections 50 --quick --json out.json --only header,cookie --body 64k]
 * npm run bench -- memory
 * npm run bench -- instructions [--only header,hash] [--quick]
 * npm run bench -- backlog [--quick] [--redis | --cluster | --postgres] [--mailboxes 50000]
 * npm run bench -- accept [--quick] [--redis | --cluster | --postgres]
 * npm run bench -- signatures [--quick]
 * npm run bench -- keys
 *
 * Measures, in one run and interleaved so noise shows, requests/s and latency of:
 * the upstream directly, a bare http-proxy forwarder (the reference of every ratio), bare
 * forwarders on Node's http client and on undici (what each forward engine costs alone),
 * webhook-affinity in each mode and on each engine, and HAProxy injecting the header from the
 * body (the native reference), when installed. --body 64k / 900k pads each delivery to that size.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, haproxyBinary, startHaproxy } from '../test/helpers/haproxy';
import { measureWithNode, measureWithWrk, type Measurement } from './load';
import { actorPool, BENCH_SECRET, padded, signedAs, webexPayloads, type Payload } from './payloads';
import { startUpstream, type BenchUpstream } from './upstream';
import { runAcceptBench } from './accept';
import { runBacklogBench } from './backlog';
import { runInstructionsBench } from './instructions';
import { runMemoryBench } from './memory-run';
import { printSigningCosts, printVerifyCosts } from './signature-cost';
import { printKeyCosts } from './key-cost';
import { Redis } from 'ioredis';
import { deletePrefix, REDIS_URL, redisSkipReason, testPrefix } from '../test/helpers/redis';
import { signers } from '../test/helpers/signers';
import { RedisClusterSet } from '../test/helpers/redis-ha';
import { dropSchemas, TEST_DATABASE_URL, testSchema } from '../test/helpers/postgres';
import { startKeyServer } from '../test/helpers/teams-keys';
import { SIGNATURE_SCHEME_NAMES } from '../src/signature/schemes';

const BENCH_REDIS_PREFIX = testPrefix().replace('-test:', '-bench:');

const ROOT = join(__dirname, '..', '..');

interface Options {
  durationS: number;
  rounds: number;
  connections: number;
  json?: string;
  /** Only the cases whose name contains one of these (the bare forwarder always runs). */
  only?: string[];
  /** Each delivery padded to this many bytes (--body 64k); the ~1 KB fixture as it is when unset. */
  bodyBytes?: number;
  /** backlog: how many keys (mailboxes) the webhooks are spread over (--mailboxes 50000). */
  mailboxes?: number;
}

interface Case {
  readonly name: string;
  /** Its own deliveries (signed for its scheme); the Webex ones otherwise. */
  readonly payloads?: Payload[];
  /** Starts what is measured; resolves with its URL and the pid whose CPU and RSS are read. */
  start(upstream: BenchUpstream): Promise<Target>;
}

interface Target {
  readonly url: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

type Run = Measurement & { cpuSeconds: number | undefined };

interface CaseResult {
  readonly name: string;
  readonly runs: Run[];
  /** The bare forwarder measured just before each run: the reference of that run's ratios. */
  readonly references: Run[];
  peakRssBytes: number | undefined;
}

type Commands = { keys: boolean; memory: boolean; instructions: boolean; backlog: boolean; accept: boolean; redis: boolean; cluster: boolean; postgres: boolean; signatures: boolean };

function parseArgs(argv: string[]): Options & Commands {
  const opts: Options & Commands = {
    durationS: 4,
    rounds: 5,
    connections: 50,
    keys: false,
    memory: false,
    instructions: false,
    backlog: false,
    accept: false,
    redis: false,
    postgres: false,
    cluster: false,
    signatures: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === 'memory') opts.memory = true;
    else if (a === 'keys') opts.keys = true;
    else if (a === 'instructions') opts.instructions = true;
    else if (a === 'backlog') opts.backlog = true;
    else if (a === 'accept') opts.accept = true;
    else if (a === '--redis') opts.redis = true;
    else if (a === '--postgres') opts.postgres = true;
    else if (a === '--cluster') opts.cluster = true;
    else if (a === 'signatures') opts.signatures = true;
    else if (a === '--quick') Object.assign(opts, { durationS: 1, rounds: 1 });
    else if (a === '--duration') opts.durationS = Number(argv[++i]);
    else if (a === '--rounds') opts.rounds = Number(argv[++i]);
    else if (a === '--connections') opts.connections = Number(argv[++i]);
    else if (a === '--json') opts.json = fileName(argv[++i]);
    else if (a === '--only') opts.only = argv[++i]!.split(',');
    else if (a === '--body') opts.bodyBytes = sizeOf(argv[++i] ?? '');
    else if (a === '--mailboxes') opts.mailboxes = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

function fileName(text: string | undefined): string {
  if (text === undefined || text === '') throw new Error('--json wants a file name');
  return text;
}

/** `64k`, `900k`, `1m` or a byte count. */
function sizeOf(text: string): number {
  const m = /^(\d+)([km]?)$/i.exec(text.trim());
  if (m === null) throw new Error(`--body wants a size such as 64k or 900k, not ${text}`);
  return Number(m[1]) * ({ '': 1, k: 1024, m: 1024 * 1024 } as Record<string, number>)[m[2]!.toLowerCase()]!;
}

/**
 * A Node process printing "listening on http://host:port" once ready. The admin listener runs as
 * it does by default, on a port of its own; a port taken between our look and its bind (a test
 * running beside the bench smoke) makes the process exit 1 before listening, and it is started
 * again on another, up to three times.
 */
async function startNodeProcess(script: string, env: Record<string, string>): Promise<Target> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNodeProcessOnce(script, { ADMIN_PORT: String(await freePort()), ...env });
    } catch (err) {
      if (!(err instanceof CouldNotListen) || attempt === 3) throw err;
    }
  }
}

/** The process exited with status 1 (could not listen) before it listened. */
class CouldNotListen extends Error {}

function startNodeProcessOnce(script: string, env: Record<string, string>): Promise<Target> {
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (c: Buffer): void => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+?:\d+)/.exec(out);
      if (!m) return;
      // From here on stdout (the access log, when on) is read and dropped.
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      resolve({ url: m[1]!.replace('[::]', '127.0.0.1'), pid: child.pid, stop: () => stopChild(child) });
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(code === 1 ? new CouldNotListen(`${script} could not listen`) : new Error(`${script} exited with ${code}`)));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** What every webhook-affinity case gets: room for padded bodies (--body). */
let proxyEnv: Record<string, string> = {};

const affinity = (name: string, env: Record<string, string>): Case => ({
  name,
  start: (upstream) => startNodeProcess(join(ROOT, 'dist', 'server.js'), { TARGET_URL: upstream.url, ...proxyEnv, ...env }),
});

const bareForwarder = (name: string, script: string): Case => ({
  name,
  start: (upstream) => startNodeProcess(join(ROOT, 'build', 'bench', script), { TARGET_URL: upstream.url }),
});

function cases(): Case[] {
  const list: Case[] = [
    { name: 'upstream direct', start: async (upstream) => ({ url: upstream.url, pid: upstream.pid, stop: async () => {} }) },
    bareForwarder('bare http-proxy', 'bare-forwarder.js'),
    bareForwarder('bare Node http.request', 'bare-node-forwarder.js'),
    bareForwarder('bare undici Pool.stream', 'bare-undici-forwarder.js'),
    {
      name: 'bare http-proxy, forwarded at once',
      start: (upstream) => startNodeProcess(join(ROOT, 'build', 'bench', 'bare-forwarder.js'), { TARGET_URL: upstream.url, AT_ONCE: '1' }),
    },
    {
      name: 'bare http-proxy, no agent',
      start: (upstream) => startNodeProcess(join(ROOT, 'build', 'bench', 'bare-forwarder.js'), { TARGET_URL: upstream.url, NO_AGENT: '1' }),
    },
    affinity('header mode', { AFFINITY_MODE: 'header' }),
    affinity('header mode, FORWARD_ENGINE=node', { AFFINITY_MODE: 'header', FORWARD_ENGINE: 'node' }),
    affinity('cookie mode', { AFFINITY_MODE: 'cookie' }),
    {
      name: 'hash mode (3 upstreams)',
      start: (upstream) => startNodeProcess(join(ROOT, 'dist', 'server.js'), { AFFINITY_MODE: 'hash', UPSTREAMS: upstream.urls.join(',') }),
    },
    affinity('header + signature', { AFFINITY_MODE: 'header', WEBHOOK_SECRET: BENCH_SECRET }),
    affinity('header + access log', { AFFINITY_MODE: 'header', ACCESS_LOG: 'json' }),
    // The platform's side of DELIVERY=queued: each webhook stored and answered at once, while the
    // mailbox delivers them to the upstream in the same process (the backlog bench times that).
    affinity('queued mode (memory spool)', { AFFINITY_MODE: 'header', DELIVERY: 'queued' }),
  ];
  if (redisSkipReason() === false) {
    list.push(affinity('cookie mode, Redis store', { AFFINITY_MODE: 'cookie', STORE: 'redis', REDIS_URL, REDIS_PREFIX: BENCH_REDIS_PREFIX }));
    list.push(affinity('queued mode (Redis spool)', { AFFINITY_MODE: 'header', DELIVERY: 'queued', STORE: 'redis', REDIS_URL, REDIS_PREFIX: BENCH_REDIS_PREFIX }));
  }
  if (haproxyBinary() !== undefined) {
    list.push({
      name: 'HAProxy json_query',
      async start(upstream) {
        const port = await freePort();
        const hp = await startHaproxy(
          `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend webhooks
  bind 127.0.0.1:${port}
  option http-buffer-request
  http-request del-header Actorid
  http-request set-header Actorid %[req.body,json_query('$.actorId')]
  default_backend bots
backend bots
  http-reuse always
  server up ${new URL(upstream.url).host}
`,
          port,
        );
        return { url: `http://127.0.0.1:${port}`, pid: hp.child.pid, stop: () => hp.stop() };
      },
    });
  }
  return list;
}

/**
 * `npm run bench -- signatures`: the same deliveries with no verification and then signed and
 * checked as each platform does it, so each scheme's cost is a ratio to no verification.
 */
async function signatureCases(payloads: Payload[], made: ReturnType<typeof signers>): Promise<Case[]> {
  const bare = cases().find((c) => c.name === 'bare http-proxy')!;
  const list: Case[] = [bare, affinity(NO_VERIFICATION, { AFFINITY_MODE: 'header' })];
  for (const name of SIGNATURE_SCHEME_NAMES) {
    const signer = made.signers[name];
    // Signed once, before a run of minutes: the timestamped schemes get a day's tolerance.
    const env = { AFFINITY_MODE: 'header', SIGNATURE_TOLERANCE_S: '86400', ...signer.env };
    list.push({ ...affinity(`signature: ${name}`, env), payloads: await signedAs(payloads, signer.sign) });
  }
  return list;
}
const NO_VERIFICATION = 'no verification';

/** utime + stime of a process, in seconds (Linux /proc). */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return undefined;
  }
}
const clockTicks = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

function peakRss(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/**
 * Runs a mailbox bench on the spool the options name: memory; --redis: REDIS_URL's server;
 * --cluster: a cluster of its own (three primaries, three replicas) from Debian's redis-server;
 * --postgres: TEST_DATABASE_URL's database, in a schema of its own, dropped after.
 */
async function onSpool(opts: Commands, bench: (spoolEnv: Record<string, string>, where: string) => Promise<void>): Promise<void> {
  if (opts.cluster) {
    const cluster = await RedisClusterSet.start();
    try {
      await bench({ STORE: 'redis', REDIS_CLUSTER_NODES: cluster.nodeList, REDIS_PREFIX: BENCH_REDIS_PREFIX }, 'Redis spool, a 3-primary cluster');
    } finally {
      await cluster.stop();
    }
    return;
  }
  if (opts.postgres) {
    const schema = testSchema();
    try {
      await bench({ STORE: 'postgres', DATABASE_URL: TEST_DATABASE_URL, POSTGRES_SCHEMA: schema }, `PostgreSQL spool, ${TEST_DATABASE_URL}`);
    } finally {
      await dropSchemas([schema]);
    }
    return;
  }
  if (!opts.redis) return bench({}, 'memory spool');
  try {
    await bench({ STORE: 'redis', REDIS_URL, REDIS_PREFIX: BENCH_REDIS_PREFIX }, `Redis spool, ${REDIS_URL}`);
  } finally {
    const client = new Redis(REDIS_URL);
    await deletePrefix(client, BENCH_REDIS_PREFIX).finally(() => client.quit());
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.keys) {
    printKeyCosts();
    return;
  }
  if (opts.memory) {
    await runMemoryBench(opts.durationS === 1 ? [10_000, 50_000] : [100_000, 1_000_000]);
    return;
  }
  if (opts.backlog || opts.accept) {
    await onSpool(opts, (spoolEnv, where) => (opts.backlog ? runBacklogBench(opts.durationS === 1, spoolEnv, opts.mailboxes) : runAcceptBench(opts.durationS === 1, spoolEnv, where)));
    return;
  }
  if (opts.instructions) {
    await runInstructionsBench(opts.only, opts.durationS === 1);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'webhook-affinity-bench-'));
  const fixture = readFileSync(join(ROOT, 'test', 'fixtures', 'message-created.json'), 'utf8');
  if (opts.bodyBytes !== undefined) proxyEnv = { MAX_BODY_BYTES: String(opts.bodyBytes * 2) };
  // Large deliveries come from fewer people: the load generator holds every one in memory.
  const payloads = webexPayloads(padded(fixture, opts.bodyBytes), actorPool(opts.bodyBytes !== undefined && opts.bodyBytes > 100_000 ? 50 : 1000));
  const useWrk = spawnSync('wrk', ['-v']).error === undefined;
  const upstream = await startUpstream(work, opts.bodyBytes !== undefined);
  const keyServer = opts.signatures ? await startKeyServer({ keys: [] }) : undefined;
  const made = keyServer === undefined ? undefined : signers(keyServer.openIdUrl);
  if (keyServer !== undefined && made !== undefined) keyServer.keys = made.teamsJwks;
  const list = keyServer !== undefined && made !== undefined ? await signatureCases(payloads, made) : cases();
  const all = list.filter((c) => opts.only === undefined || c.name === 'bare http-proxy' || opts.only.some((o) => c.name.includes(o)));
  const results: CaseResult[] = all.map((c) => ({ name: c.name, runs: [], references: [], peakRssBytes: undefined }));
  const bareIndex = all.findIndex((c) => c.name === 'bare http-proxy');
  console.error(
    `bench: ${all.length} cases × ${opts.rounds} round(s) × ${opts.durationS} s, ${opts.connections} connections, ` +
      `load by ${useWrk ? 'wrk' : 'the built-in Node generator'}, upstream ${upstream.kind}, ${payloads.length} actors`,
  );

  try {
    const measure = (url: string, seconds: number, sent = payloads) =>
      useWrk ? measureWithWrk(url, sent, { seconds, connections: opts.connections, work }) : measureWithNode(url, sent, { seconds, connections: opts.connections });
    /** One measured run of `target`, with the CPU it used. */
    const runOf = async (target: Target, sent = payloads): Promise<Run> => {
      const cpuBefore = cpuSeconds(target.pid);
      const m = await measure(target.url, opts.durationS, sent);
      const cpuAfter = cpuSeconds(target.pid);
      return { ...m, cpuSeconds: cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined };
    };
    for (let round = 0; round < opts.rounds; round++) {
      // The bare forwarder stays up all round and is measured again right before every case,
      // so each ratio compares two runs seconds apart: the machine's load drifts.
      const bare = await all[bareIndex]!.start(upstream);
      try {
        await measure(bare.url, Math.min(1, opts.durationS)); // warm-up
        for (const [i, c] of all.entries()) {
          const reference = await runOf(bare);
          if (i === bareIndex) {
            results[i]!.runs.push(reference);
            results[i]!.references.push(reference);
            continue;
          }
          const target = await c.start(upstream);
          try {
            await measure(target.url, Math.min(1, opts.durationS), c.payloads); // warm-up: JIT, connections, learned cookies, fetched keys
            const run = await runOf(target, c.payloads);
            results[i]!.runs.push(run);
            results[i]!.references.push(reference);
            const rss = peakRss(target.pid);
            if (rss !== undefined) results[i]!.peakRssBytes = Math.max(results[i]!.peakRssBytes ?? 0, rss);
            console.error(
              `  round ${round + 1} ${c.name}: ${Math.round(run.requestsPerSecond)} req/s (bare just before: ${Math.round(reference.requestsPerSecond)}), p99 ${run.p99Ms.toFixed(2)} ms, errors ${run.errors}`,
            );
          } finally {
            await target.stop();
          }
        }
        const rss = peakRss(bare.pid);
        if (rss !== undefined) results[bareIndex]!.peakRssBytes = Math.max(results[bareIndex]!.peakRssBytes ?? 0, rss);
      } finally {
        await bare.stop();
      }
    }
  } finally {
    await upstream.stop();
    rmSync(work, { recursive: true, force: true });
    if (all.some((c) => c.name.includes('Redis'))) {
      const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      await deletePrefix(client, BENCH_REDIS_PREFIX).finally(() => client.quit());
    }
  }

  printTable(results, opts, useWrk, upstream.kind);
  if (opts.signatures) printSignatureCosts(results);
  if (made !== undefined && keyServer !== undefined) {
    await printVerifyCosts(made.signers, Buffer.from(payloads[0]!.body));
    printSigningCosts(Buffer.from(payloads[0]!.body));
    await keyServer.close();
  }
  if (opts.json !== undefined) writeFileSync(opts.json, JSON.stringify({ options: opts, results }, null, 2));
}

function printTable(results: CaseResult[], opts: Options, useWrk: boolean, upstreamKind: string): void {
  // Each run's ratio is to the bare forwarder measured just before it; the table shows their
  // median. A ratio of medians would mix runs minutes apart, and the load drifts.
  const ratioOf = (r: CaseResult, pick: (m: Measurement) => number) => median(r.runs.map((x, i) => pick(x) / pick(r.references[i]!)));
  const summary = results.map((r) => ({
    name: r.name,
    rpsRatio: ratioOf(r, (m) => m.requestsPerSecond),
    p99Ratio: ratioOf(r, (m) => m.p99Ms),
    rps: median(r.runs.map((x) => x.requestsPerSecond)),
    p50: median(r.runs.map((x) => x.p50Ms)),
    p99: median(r.runs.map((x) => x.p99Ms)),
    cpuPer10k: median(r.runs.filter((x) => x.cpuSeconds !== undefined).map((x) => (x.cpuSeconds! / x.requests) * 10_000)),
    rss: r.peakRssBytes,
    errors: r.runs.reduce((n, x) => n + x.errors, 0),
  }));
  const lines = [
    `| case | req/s | p50 ms | p99 ms | CPU s / 10k req | peak RSS MiB | req/s ÷ bare | p99 ÷ bare | errors |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
    ...summary.map(
      (s) =>
        `| ${s.name} | ${Math.round(s.rps)} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} | ${Number.isNaN(s.cpuPer10k) ? '–' : s.cpuPer10k.toFixed(2)} | ` +
        `${s.rss === undefined ? '–' : (s.rss / 1048576).toFixed(0)} | ${s.rpsRatio.toFixed(2)} | ${s.p99Ratio.toFixed(2)} | ${s.errors} |`,
    ),
  ];
  const size = opts.bodyBytes === undefined ? '~1 KB' : `${Math.round(opts.bodyBytes / 1024)} KiB`;
  console.log(
    `\nMedians of ${opts.rounds} round(s) (each ratio: to the bare forwarder measured just before that run; the median shown) of ${opts.durationS} s, ${opts.connections} connections, ${useWrk ? 'wrk' : 'Node load generator'}, upstream ${upstreamKind}, ${size} Webex payloads.\n`,
  );
  console.log(lines.join('\n'));
  console.log('');
  for (const line of targetLines(summary, opts)) console.log(line);
}

interface Summary {
  readonly name: string;
  readonly rpsRatio: number;
  readonly p99Ratio: number;
  readonly p50: number;
  readonly p99: number;
  readonly cpuPer10k: number;
}

/**
 * The targets of issue 22, each as a ratio of two cases of this run: req/s against the bare
 * http-proxy forwarder and HAProxy, CPU against the node engine (the proxy's engine before
 * undici) and the bare forwarder, the modes against header mode.
 */
function targetLines(summary: readonly Summary[], opts: Options): string[] {
  const of = (name: string) => summary.find((s) => s.name === name);
  const header = of('header mode');
  if (header === undefined) return [];
  const lines: string[] = [];
  const check = (what: string, value: number, ok: (v: number) => boolean, target: string): void => {
    if (!Number.isNaN(value)) lines.push(`${ok(value) ? 'meets' : 'MISSES'} target: ${what} ${value.toFixed(2)} (target ${target})`);
  };
  const size = opts.bodyBytes ?? 1024;
  const bare = of('bare http-proxy');
  if (size <= 2048) {
    check('header mode req/s ÷ bare http-proxy', header.rpsRatio, (v) => v >= 1.5, '≥ 1.5');
    const haproxy = of('HAProxy json_query');
    if (haproxy !== undefined) check('header mode req/s ÷ HAProxy', header.rpsRatio / haproxy.rpsRatio, (v) => v >= 0.5, '≥ 0.5');
    const before = of('header mode, FORWARD_ENGINE=node');
    if (before !== undefined) check('header mode CPU per request ÷ the node engine', header.cpuPer10k / before.cpuPer10k, (v) => v <= 0.65, '≤ 0.65');
    for (const name of ['hash mode (3 upstreams)', 'cookie mode', 'header + signature']) {
      const mode = of(name);
      if (mode !== undefined) check(`${name} req/s ÷ header mode`, mode.rpsRatio / header.rpsRatio, (v) => v >= 0.9, '≥ 0.9');
    }
  } else if (size <= 128 * 1024) {
    check(`header mode req/s ÷ bare http-proxy at ${Math.round(size / 1024)} KiB`, header.rpsRatio, (v) => v >= 0.95, '≥ 0.95');
  } else if (bare !== undefined) {
    check(`header mode CPU per request ÷ bare http-proxy's at ${Math.round(size / 1024)} KiB`, header.cpuPer10k / bare.cpuPer10k, (v) => v <= 1.5, '≤ 1.5');
  }
  if (opts.connections === 1) {
    check('header mode p50 µs on one connection', header.p50 * 1000, (v) => v <= 70, '≤ 70');
    check('header mode p99 µs on one connection', header.p99 * 1000, (v) => v <= 300, '≤ 300');
  }
  return lines;
}

/** Each scheme against no verification, run by run (the runs of one round are seconds apart). */
function printSignatureCosts(results: CaseResult[]): void {
  const none = results.find((r) => r.name === NO_VERIFICATION);
  if (none === undefined) return;
  const perDeliveryUs = (run: Run) => (run.cpuSeconds === undefined ? NaN : (run.cpuSeconds / run.requests) * 1e6);
  console.log('\n| scheme | req/s ÷ no verification | proxy CPU µs per delivery | over no verification |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const r of results.filter((x) => x.name.startsWith('signature: '))) {
    const ratio = median(r.runs.map((run, i) => run.requestsPerSecond / (none.runs[i]?.requestsPerSecond ?? NaN)));
    const cpu = median(r.runs.map(perDeliveryUs));
    const extra = median(r.runs.map((run, i) => perDeliveryUs(run) - perDeliveryUs(none.runs[i]!)));
    console.log(`| ${r.name.slice('signature: '.length)} | ${ratio.toFixed(2)} | ${cpu.toFixed(0)} | ${extra >= 0 ? '+' : ''}${extra.toFixed(0)} |`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
