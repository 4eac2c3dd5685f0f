/**
 * npm run demo: affinity in ten seconds, with nothing to set up.
 *
 * Starts three small bot instances on free ports and webhook-affinity in hash mode in front of
 * them, posts realistic Webex webhooks from several people, and prints which instance each
 * event reached; then stops one instance and does it again. With HAProxy installed, a second
 * round goes through HAProxy in cookie mode. Exits by itself and cleans up.
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../src/config/config';
import { createAffinityProxy, type AffinityProxy } from '../src/proxy';
import { freePort, haproxyBinary, startHaproxy } from '../test/helpers/haproxy';

const FIXTURES = join(__dirname, '..', '..', 'test', 'fixtures');
const ALICE = 'Y2lzY29zcGFyazovL3VzL1BFT1BMRS8xZjdkZTVjYi04NTYxLTQ2NzEtYmMwMy1iYzk3NDMxNDQ0MmQ';

interface Event {
  readonly who: string;
  readonly what: string;
  readonly body: string;
}

/** Realistic deliveries: the fixtures as they are, plus Alice's message re-sent by Carol and Dave. */
function events(): Event[] {
  const read = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
  const message = read('message-created.json');
  const as = (name: string) => message.split(ALICE).join(Buffer.from(`ciscospark://us/PEOPLE/${name}-0000-4000-8000-000000000000`).toString('base64').replace(/=+$/, ''));
  return [
    { who: 'alice', what: 'messages/created', body: message },
    { who: 'bob', what: 'memberships/deleted', body: read('membership-deleted.json') },
    { who: 'carol', what: 'messages/created', body: as('carol') },
    { who: 'alice', what: 'attachmentActions/created', body: read('attachment-action-created.json') },
    { who: 'dave', what: 'messages/created', body: as('dave') },
    { who: 'bob', what: 'memberships/deleted', body: read('membership-deleted.json') },
    { who: 'carol', what: 'messages/created', body: as('carol') },
    { who: 'dave', what: 'messages/created', body: as('dave') },
    { who: '(none)', what: 'org alert, no actorId', body: read('org-alert-no-actor.json') },
  ];
}

class Bot {
  server: http.Server | undefined;
  port = 0;
  constructor(readonly name: string) {}
  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(this.name));
    });
    this.server.listen(this.port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
  }
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
}

function post(port: number, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/webhook', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? text : `HTTP ${res.statusCode}`));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function round(title: string, port: number): Promise<Map<string, string>> {
  console.log(`\n${title}\n`);
  console.log(`  ${'actor'.padEnd(8)} ${'event'.padEnd(26)} instance`);
  console.log(`  ${'-'.repeat(8)} ${'-'.repeat(26)} --------`);
  const landed = new Map<string, string>();
  for (const e of events()) {
    const instance = await post(port, e.body);
    console.log(`  ${e.who.padEnd(8)} ${e.what.padEnd(26)} ${instance}`);
    if (e.who !== '(none)') landed.set(e.who, instance);
  }
  return landed;
}

async function startProxy(env: Record<string, string>): Promise<{ proxy: AffinityProxy; port: number }> {
  const config = parseConfig({ PORT: '0', HOST: '127.0.0.1', ADMIN_PORT: 'off', ...env });
  const proxy = createAffinityProxy(config);
  const { port } = await proxy.listen();
  return { proxy, port };
}

async function main(): Promise<void> {
  const bots = [new Bot('bot-a'), new Bot('bot-b'), new Bot('bot-c')];
  for (const b of bots) await b.start();
  try {
    const { proxy, port } = await startProxy({ AFFINITY_MODE: 'hash', UPSTREAMS: bots.map((b) => b.url).join(','), RETRIES: '2' });
    try {
      const before = await round('Hash mode: webhook-affinity picks the instance from actorId (no load balancer)', port);
      const victim = bots.find((b) => b.name === before.get('alice'))!;
      await victim.stop();
      const after = await round(`${victim.name} stopped: only its actors move, every webhook still lands`, port);
      const moved = [...before].filter(([who, was]) => after.get(who) !== was).map(([who]) => who);
      console.log(`\n  moved: ${moved.join(', ') || 'nobody'} (they were on ${victim.name}); everyone else stayed put`);
      await victim.start();
    } finally {
      await proxy.close();
    }

    if (haproxyBinary() === undefined) {
      console.log('\n(HAProxy is not installed: skipping the cookie-mode round. apt-get install haproxy to see it.)');
      return;
    }
    const lbPort = await freePort();
    const haproxy = await startHaproxy(
      `defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend bots
  bind 127.0.0.1:${lbPort}
  default_backend bots
backend bots
  balance roundrobin
  cookie SERVERID insert indirect nocache
${bots.map((b) => `  server ${b.name} 127.0.0.1:${b.port} cookie ${b.name}`).join('\n')}
`,
      lbPort,
    );
    try {
      await round('Without webhook-affinity, straight to HAProxy (round robin): people hop between instances', lbPort);
      const { proxy, port } = await startProxy({ AFFINITY_MODE: 'cookie', TARGET_URL: `http://127.0.0.1:${lbPort}` });
      try {
        await round("Cookie mode through HAProxy: webhook-affinity replays each person's SERVERID cookie", port);
      } finally {
        await proxy.close();
      }
    } finally {
      await haproxy.stop();
    }
  } finally {
    for (const b of bots) await b.stop();
  }
}

main().then(
  () => console.log('\ndone.'),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
