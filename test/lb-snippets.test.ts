/**
 * The load-balancer snippets docs/modes.md shows are these files (deploy/lb/), and each is run for real in
 * front of three bot instances with webhook-affinity in front of it: every actor lands on one
 * instance; when one instance dies, only its actors move, and no webhook fails; and what the load
 * balancer does with keyless requests is measured against what docs/modes.md says.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, startProxy, startUpstream, webhook, type RunningProxy, type Upstream } from './helpers/http';
import { LB_DIR, loadBalancerSkipReason, startLoadBalancer, type LoadBalancerKind, type RunningLoadBalancer } from './helpers/load-balancers';
import { waitFor } from './helpers/wait';

const ACTORS = Array.from({ length: 24 }, (_, i) => `actor-${i}`);
const KEYLESS = 30;

interface Snippet {
  readonly kind: LoadBalancerKind;
  readonly file: string;
  readonly mode: 'header' | 'cookie';
  /**
   * What docs/modes.md says it does with requests that carry no key, checked on 30 of them: in
   * strict turn (10 each), or spread over every instance (HAProxy's hash fallback walks its
   * consistent-hash ring; Caddy picks at random).
   */
  readonly keyless: 'in turn' | 'spread';
}

const SNIPPETS: Snippet[] = [
  { kind: 'haproxy', file: 'haproxy-header.cfg', mode: 'header', keyless: 'spread' },
  { kind: 'haproxy', file: 'haproxy-cookie.cfg', mode: 'cookie', keyless: 'in turn' },
  { kind: 'nginx', file: 'nginx.conf', mode: 'header', keyless: 'in turn' },
  { kind: 'caddy', file: 'Caddyfile', mode: 'header', keyless: 'spread' },
];

describe('docs/modes.md load-balancer snippets', () => {
  it('are the files in deploy/lb/, byte for byte', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'docs', 'modes.md'), 'utf8');
    for (const { file } of SNIPPETS) {
      const text = readFileSync(join(LB_DIR, file), 'utf8');
      assert.ok(/```[a-z]*\n/.test(readme) && readme.includes(`\n${text}\`\`\`\n`), `${file} is in docs/modes.md as it is`);
    }
  });
});

for (const snippet of SNIPPETS) {
  describe(`${snippet.file} (${snippet.kind}, ${snippet.mode} mode)`, { skip: loadBalancerSkipReason(snippet.kind) }, () => {
    const bots: Upstream[] = [];
    let lb: RunningLoadBalancer;
    let proxy: RunningProxy;

    before(async () => {
      for (const name of ['bot1', 'bot2', 'bot3']) bots.push(await startUpstream((_req, res) => res.end(name)));
      lb = await startLoadBalancer(
        snippet.kind,
        snippet.file,
        bots.map((b) => b.port),
      );
      proxy = await startProxy(`http://127.0.0.1:${lb.port}`, { AFFINITY_MODE: snippet.mode });
    });
    after(async () => {
      await proxy?.close();
      await lb?.stop();
      for (const b of bots) await b.close();
    });

    /** One webhook per actor; the instance that answered each. Every answer must be a 200. */
    async function route(): Promise<Map<string, string>> {
      const landed = new Map<string, string>();
      for (const actor of ACTORS) {
        const res = await request(proxy.port, { body: webhook(actor) });
        assert.equal(res.status, 200, `${actor}: ${res.status} ${res.body.toString()}`);
        landed.set(actor, res.body.toString());
      }
      return landed;
    }

    it(`keyless requests: ${snippet.keyless}`, async () => {
      const counts = new Map<string, number>();
      for (let i = 0; i < KEYLESS; i++) {
        const res = await request(proxy.port, { body: JSON.stringify({ resource: 'messages', event: 'created' }) });
        assert.equal(res.status, 200);
        counts.set(res.body.toString(), (counts.get(res.body.toString()) ?? 0) + 1);
      }
      assert.deepEqual([...counts.keys()].sort(), ['bot1', 'bot2', 'bot3'], `spread over every instance: ${JSON.stringify([...counts])}`);
      if (snippet.keyless === 'in turn') assert.deepEqual([...counts.values()], [10, 10, 10], 'in turn');
    });

    it('keeps each actor on one instance; when one dies only its actors move, and none fails', async () => {
      const first = await route();
      assert.deepEqual(await route(), first, 'the same instance again for every actor');
      const onBot2 = ACTORS.filter((a) => first.get(a) === 'bot2');
      assert.ok(onBot2.length > 0 && onBot2.length < ACTORS.length, `bot2 had ${onBot2.length} of the actors`);

      await bots[1]!.close();
      // Every round from the kill on must be all 200s (route asserts it), while the load balancer
      // finds out; then the actors settle, each on one instance again.
      let previous = await route();
      const settled = await waitFor(
        async () => {
          const now = await route();
          const same = [...now].every(([actor, bot]) => previous.get(actor) === bot);
          previous = now;
          return same ? now : undefined;
        },
        'the actors settled on the living instances',
        { ms: 15_000 },
      );
      for (const actor of ACTORS) {
        if (onBot2.includes(actor)) assert.notEqual(settled.get(actor), 'bot2', `${actor} moved off the dead instance`);
        else assert.equal(settled.get(actor), first.get(actor), `${actor} stayed where it was`);
      }
    });
  });
}
