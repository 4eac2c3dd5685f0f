/**
 * The framework compatibility suite's harness: real bots, each on a framework's own HTTP
 * handling, run as two instances (child processes) behind the proxy in hash mode; ten people
 * send eight messages each, signed as the platform signs them; one instance is killed (-9) in
 * the middle and started again. What each framework's handler saw is read from its output.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { request, startProxy, type RunningProxy } from '../helpers/http';
import { freePort } from '../helpers/net';
import { waitFor } from '../helpers/wait';

/** One message a framework's handler took, as its bot printed it. */
export interface Handled {
  readonly instance: string;
  readonly person: string;
  readonly text: string;
  /** When its line was read here, across every instance: the order handlers ran in. */
  readonly at: number;
}

let linesRead = 0;

/** A bot instance: a child process on a port it keeps across restarts. */
export class BotInstance {
  readonly handled: Handled[] = [];
  private child: ChildProcess | undefined;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly script: string,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [join(__dirname, 'bots', this.script), String(this.port), this.name], {
      env: { PATH: process.env.PATH ?? '', ...this.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.child = child;
    let pending = '';
    let ready = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('ready ')) ready = true;
        else if (line.startsWith('{')) this.handled.push({ ...(JSON.parse(line) as Omit<Handled, 'at'>), at: ++linesRead });
      }
    });
    await waitFor(() => ready, `${this.name} (${this.script}) ready`, { ms: 20_000, pauseMs: 20, gaveUp: () => child.exitCode !== null });
  }

  /** kill -9: what it was handling is lost with it. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
}

/** A delivery as the platform sends it: where (the bot's path), the body, the signed headers. */
export interface PlatformRequest {
  readonly path: string;
  readonly body: Buffer;
  readonly headers: Record<string, string>;
}

export interface Scenario {
  readonly script: string;
  /** The bots' environment (secrets, API addresses). */
  readonly botEnv: Record<string, string>;
  /** The proxy's, beside hash mode and the delivery mode (PLATFORM, WEBHOOK_SECRET, ...). */
  readonly proxyEnv: Record<string, string>;
  /** Message `seq` of `person`, signed as the platform signs it. */
  delivery(person: number, seq: number): Promise<PlatformRequest>;
  /** The person id a handled line names for person `n`. */
  personId(n: number): string;
}

/** How a run went, per person and overall: the suite's table row. */
export interface RunReport {
  readonly sent: number;
  /** Answered 2xx by the proxy (forwarded and taken, or queued). */
  readonly acked: number;
  readonly statuses: Record<string, number>;
  /** Distinct messages the framework's handler took. */
  readonly handled: number;
  /** Acked and never handled. */
  readonly lost: string[];
  /** People whose messages were handled by more than one instance. */
  readonly moved: string[];
  /** People whose messages were first handled out of order. */
  readonly reordered: string[];
  /** Handled lines naming a message nobody sent (would mean a forged or garbled delivery). */
  readonly unknown: number;
  readonly proxy: RunningProxy;
}

const PEOPLE = 10;
const EACH = 8;

/**
 * Two instances, the proxy in hash mode with `delivery`; ten people × eight messages, each
 * person's in order; instance b killed after the fourth round and started again after the sixth.
 */
export async function run(scenario: Scenario, delivery: 'direct' | 'queued', extraEnv: Record<string, string> = {}): Promise<RunReport & { stop(): Promise<void> }> {
  const instances = [new BotInstance('a', await freePort(), scenario.script, scenario.botEnv), new BotInstance('b', await freePort(), scenario.script, scenario.botEnv)];
  for (const i of instances) await i.start();
  const proxy = await startProxy('http://127.0.0.1:1', {
    AFFINITY_MODE: 'hash',
    UPSTREAMS: instances.map((i) => i.url).join(','),
    DELIVERY: delivery,
    QUEUE_RETRY_MIN_MS: '50',
    QUEUE_RETRY_MAX_MS: '500',
    QUEUE_HOLD_MS: '60000',
    ...scenario.proxyEnv,
    ...extraEnv,
  });
  const statuses: Record<string, number> = {};
  const acked = new Set<string>();
  const stop = async () => {
    await proxy.close();
    for (const i of instances) await i.kill();
  };
  try {
    for (let seq = 0; seq < EACH; seq++) {
      if (seq === 4) await instances[1]!.kill();
      if (seq === 6) await instances[1]!.start();
      await Promise.all(
        Array.from({ length: PEOPLE }, async (_x, person) => {
          const res = await request(proxy.port, await scenario.delivery(person, seq));
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          if (res.status >= 200 && res.status < 300) acked.add(`${scenario.personId(person)}/${seq}`);
        }),
      );
    }
    if (delivery === 'queued') await waitFor(async () => (await proxy.proxy.mailbox?.stats())?.depth === 0 || undefined, 'the mailbox delivered everything', { ms: 60_000, pauseMs: 50 });
    const handled = instances.flatMap((i) => i.handled).sort((x, y) => x.at - y.at);
    const seqOf = (h: Handled) => Number(/(\d+)$/.exec(h.text)?.[1] ?? -1);
    const seen = new Set(handled.map((h) => `${h.person}/${seqOf(h)}`));
    const people = Array.from({ length: PEOPLE }, (_x, n) => scenario.personId(n));
    const firsts = (person: string) => [...new Set(handled.filter((h) => h.person === person).map(seqOf))];
    return {
      sent: PEOPLE * EACH,
      acked: acked.size,
      statuses,
      handled: seen.size,
      lost: [...acked].filter((m) => !seen.has(m)),
      moved: people.filter((p) => new Set(handled.filter((h) => h.person === p).map((h) => h.instance)).size > 1),
      reordered: people.filter((p) => firsts(p).some((s, i, all) => i > 0 && s < all[i - 1]!)),
      unknown: handled.filter((h) => !people.includes(h.person) || seqOf(h) < 0 || seqOf(h) >= EACH).length,
      proxy,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * One framework × delivery run: its row added to `rows`, `check` applied, then the instances and
 * the proxy stopped whatever the check found.
 */
export async function checkRun(rows: string[], framework: string, scenario: Scenario, delivery: 'direct' | 'queued', check: (r: RunReport) => void | Promise<void>): Promise<void> {
  const r = await run(scenario, delivery);
  try {
    rows.push(row(framework, delivery, r));
    await check(r);
  } finally {
    await r.stop();
  }
}

/** What every framework must show: its own check accepted every delivery answered 2xx, and handled it. */
export function everyAckedHandled(r: RunReport): void {
  assert.equal(r.unknown, 0, 'no handled message that was not sent');
  assert.deepEqual(r.lost, [], 'every delivery answered 2xx was handled');
  assert.equal(r.handled, r.acked);
}

/** Queued delivery, besides: every delivery queued, each person on one instance, in order. */
export function everyQueuedHandledInOrder(r: RunReport): void {
  assert.equal(r.acked, r.sent, 'every delivery queued');
  everyAckedHandled(r);
  assert.deepEqual(r.moved, [], 'each person on one instance');
  assert.deepEqual(r.reordered, [], 'each person in order');
}

/** Prints the rows as the suite's table (at the end of each framework's file). */
export function printTable(rows: readonly string[]): void {
  console.log(['', '| framework | delivery | handled / acked | sticky | in order | lost | platform answers |', '| --- | --- | ---: | --- | --- | ---: | --- |', ...rows].join('\n'));
}

/** One row of the suite's table. */
export function row(framework: string, delivery: string, r: RunReport): string {
  const answers = Object.entries(r.statuses)
    .map(([s, n]) => `${n}× ${s}`)
    .join(', ');
  return `| ${framework} | ${delivery} | ${r.handled}/${r.acked} | ${r.moved.length === 0 ? 'yes' : `${r.moved.length} moved`} | ${r.reordered.length === 0 ? 'yes' : `${r.reordered.length} reordered`} | ${r.lost.length} | ${answers} |`;
}
