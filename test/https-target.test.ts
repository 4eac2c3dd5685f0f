/**
 * An https TARGET_URL: certificates are checked unless TARGET_INSECURE=true. The test
 * certificate is a self-signed one for 127.0.0.1 (test/fixtures/tls-*.pem, test use only).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fixture, request, startProxy, webhook } from './helpers/http';
import { ENGINES } from './helpers/engines';
import { waitFor } from './helpers/wait';

async function httpsUpstream() {
  const seen: { body: string; host: string | undefined; actor: string | undefined }[] = [];
  const server = https.createServer({ key: fixture('tls-key.pem'), cert: fixture('tls-cert.pem') }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ body, host: req.headers.host, actor: req.headers.actorid as string | undefined });
      res.end('over tls');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

for (const engine of ENGINES)
  describe(`https target (FORWARD_ENGINE=${engine})`, () => {
    it('refuses an upstream certificate it cannot verify (502)', async () => {
      const upstream = await httpsUpstream();
      const proxy = await startProxy(upstream.url, { FORWARD_ENGINE: engine });
      try {
        const res = await request(proxy.port, { body: webhook('alice') });
        assert.equal(res.status, 502);
        assert.equal(upstream.seen.length, 0);
      } finally {
        await proxy.close();
        upstream.server.close();
      }
    });

    it('forwards over TLS without checking the certificate when TARGET_INSECURE=true', async () => {
      const upstream = await httpsUpstream();
      const proxy = await startProxy(upstream.url, { FORWARD_ENGINE: engine, TARGET_INSECURE: 'true' });
      try {
        const body = webhook('alice');
        const res = await request(proxy.port, { body });
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), 'over tls');
        assert.deepEqual(upstream.seen, [{ body, host: new URL(upstream.url).host, actor: 'alice' }]);
      } finally {
        await proxy.close();
        upstream.server.closeAllConnections();
        upstream.server.close();
      }
    });

    it('hash mode: health probes of https instances honour TARGET_INSECURE too (else every probe fails and every key gets 503)', async () => {
      const upstreams = [await httpsUpstream(), await httpsUpstream()];
      const env = {
        FORWARD_ENGINE: engine,
        AFFINITY_MODE: 'hash',
        UPSTREAMS: upstreams.map((u) => u.url).join(','),
        HEALTH_CHECK_PATH: '/healthz',
        HEALTH_CHECK_INTERVAL_MS: '50',
        HEALTH_CHECK_FALL: '1',
      };
      const insecure = await startProxy('http://127.0.0.1:1', { ...env, TARGET_INSECURE: 'true' });
      const strict = await startProxy('http://127.0.0.1:1', env);
      try {
        // The strict proxy's probes fail the TLS handshake: its instances go down.
        const strictPool = strict.proxy.pool!;
        await waitFor(() => strictPool.members.every((m) => !strictPool.isAvailable(m)) || undefined, 'the strict proxy marks its instances down');
        // The insecure one's reach the instances (a GET without body each), and they stay up.
        await waitFor(() => upstreams.every((u) => u.seen.filter((x) => x.body === '').length >= 3) || undefined, 'probes that reached every instance');
        assert.ok(
          insecure.proxy.pool!.members.every((m) => m.up),
          'probes passed: the instances are up',
        );
        assert.equal((await request(insecure.port, { body: webhook('alice') })).status, 200);
        assert.equal((await request(strict.port, { body: webhook('alice') })).status, 503, 'without it the probes fail: no upstream');
      } finally {
        await insecure.close();
        await strict.close();
        for (const u of upstreams) {
          u.server.closeAllConnections();
          u.server.close();
        }
      }
    });
  });
