/**
 * Upstream answers that no webhook exchange should see: an upgrade or other interim answer to a
 * plain POST, and a head followed by bytes that break the framing. Each ends with a clean 502
 * JSON (or a cut connection when the client's answer had begun), and the proxy keeps serving.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request, startProxy, webhook, type RunningProxy } from './helpers/http';
import { OK_ANSWER, rawUpstream, type RawUpstream } from './helpers/raw-upstream';
import { waitFor } from './helpers/wait';
import { ENGINES } from './helpers/engines';

for (const engine of ENGINES)
  describe(`hostile upstream answers, framing and protocol (FORWARD_ENGINE=${engine})`, () => {
    let upstream: RawUpstream;
    let proxy: RunningProxy;
    before(async () => {
      const answers: Record<string, string> = {
        '/upgrade': 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
        '/processing': 'HTTP/1.1 102 Processing\r\n\r\n',
        '/early-hints': 'HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal',
        '/no-content-with-body': 'HTTP/1.1 204 No Content\r\nSet-Cookie: AWSALB=leaked\r\nX-Upstream: leaked\r\n\r\nthis body must not be here',
      };
      upstream = await rawUpstream(({ path }) => answers[path] ?? OK_ANSWER);
      // A long upstream timeout: the answers below must come from the proxy's checks, not from it.
      proxy = await startProxy(upstream.url, { FORWARD_ENGINE: engine, UPSTREAM_TIMEOUT_MS: '60000' });
    });
    after(async () => {
      await proxy.close();
      await upstream.close();
    });

    for (const [path, status] of [
      ['/upgrade', 101],
      ['/processing', 102],
    ] as const) {
      it(`an upstream ${status} to a webhook: 502 JSON at once, and the upstream connection closed`, async () => {
        const closedBefore = upstream.closed;
        const res = await request(proxy.port, { path, body: webhook('alice') });
        assert.equal(res.status, 502);
        assert.equal(res.json().message, `upstream answered ${status} ${status === 101 ? 'Switching Protocols' : 'Processing'} instead of a final answer`);
        await waitFor(() => upstream.closed > closedBefore, 'the upstream connection closed');
        assert.equal((await request(proxy.port, { path: '/ok', body: webhook('alice') })).status, 200, 'the proxy keeps serving');
      });
    }

    it('an upstream 103 Early Hints is skipped, and the final answer relayed', async () => {
      const res = await request(proxy.port, { path: '/early-hints', body: webhook('alice') });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'final');
    });

    it('a 204 followed by body bytes: the stray bytes reach no client; a clean 502 JSON with none of the upstream headers (node), or the 204 alone (undici)', async () => {
      // undici has read the 204 whole when the stray bytes break the connection; Node's client
      // fails the exchange before the 204 is relayed. Either way the connection is dropped.
      const res = await request(proxy.port, { path: '/no-content-with-body', body: webhook('alice') });
      if (engine === 'undici') {
        assert.equal(res.status, 204);
        assert.equal(res.body.length, 0);
      } else {
        assert.equal(res.status, 502);
        assert.equal(res.headers['set-cookie'], undefined);
        assert.equal(res.headers['x-upstream'], undefined);
        assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
        assert.equal(res.json().status, 502);
      }
      assert.equal((await request(proxy.port, { path: '/ok', body: webhook('alice') })).status, 200, 'the proxy keeps serving');
      assert.equal((await request(proxy.port, { path: '/ok', body: webhook('alice') })).body.toString(), 'ok', 'the stray bytes are not taken for an answer');
    });
  });
