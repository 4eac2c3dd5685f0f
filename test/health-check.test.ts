/**
 * Hash mode's health probes: HEALTH_CHECK_TIMEOUT_MS bounds a whole probe (connect to last
 * byte), and a probe is never started while the previous one to the same upstream is pending.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { closeServer, dripAnswer, startProxy } from './helpers/http';
import type { PoolMember } from '../src/upstream/pool';

describe('health checks', () => {
  it('an upstream that trickles its health answer (a byte every 400 ms, timeout 500 ms) is marked down, with one probe at a time', async () => {
    let probing = 0;
    let mostAtOnce = 0;
    const bot = http.createServer((_req, res) => {
      probing++;
      mostAtOnce = Math.max(mostAtOnce, probing);
      res.on('close', () => probing--);
      dripAnswer(res, 20, 400);
    });
    bot.listen(0, '127.0.0.1');
    await once(bot, 'listening');
    const url = `http://127.0.0.1:${(bot.address() as AddressInfo).port}`;
    let onChange: (m: PoolMember) => void = () => {};
    const down = new Promise<PoolMember>((resolve) => (onChange = (m) => !m.up && resolve(m)));
    const started = performance.now();
    const proxy = await startProxy(
      url,
      { AFFINITY_MODE: 'hash', UPSTREAMS: url, HEALTH_CHECK_PATH: '/health', HEALTH_CHECK_INTERVAL_MS: '50', HEALTH_CHECK_TIMEOUT_MS: '500', HEALTH_CHECK_FALL: '2' },
      { observer: { upstreamChanged: (m) => onChange(m) } },
    );
    try {
      const member = await down;
      const ms = performance.now() - started;
      assert.equal(member.id, `${url}/`);
      // Two failed probes of 500 ms each; an idle timeout alone would have seen an answer trickle on for 8 s.
      assert.ok(ms < 2500, `marked down after ${Math.round(ms)} ms`);
      assert.equal(mostAtOnce, 1, 'probes to one upstream never overlap (a probe every 50 ms would otherwise pile up)');
    } finally {
      await proxy.close();
      await closeServer(bot);
    }
  });
});
