/**
 * What every forward engine must do beyond the suites it shares with the others (forwarding,
 * errors, hostile-upstream, https-target, stale-connection all run once per engine): stream a
 * huge answer to a slow client without holding it, relay trailer fields, and answer the
 * interim answers the way the engines document.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { setTimeout as pause } from 'node:timers/promises';
import { request, startProxy, startUpstream, webhook, type RunningProxy, type Upstream } from './helpers/http';
import { OK_ANSWER, rawUpstream, type RawUpstream } from './helpers/raw-upstream';
import { ENGINES } from './helpers/engines';

const GIB = 1024 ** 3;
const CHUNK = Buffer.alloc(1024 * 1024, 'x');
/** Every this many bytes read, the slow client stops reading for a while. */
const READ_BURST = 64 * 1024 * 1024;

/** An upstream that answers a 1 GiB body, written as fast as its connection takes it; counts what it wrote. */
async function hugeAnswerUpstream(): Promise<Upstream & { written: () => number }> {
  let written = 0;
  const upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(GIB) });
    const more = (): void => {
      while (written < GIB) {
        written += CHUNK.length;
        if (!res.write(CHUNK)) {
          res.once('drain', more);
          return;
        }
      }
      res.end();
    };
    more();
  });
  return Object.assign(upstream, { written: () => written });
}

for (const engine of ENGINES) {
  describe(`forwarding contract (FORWARD_ENGINE=${engine})`, () => {
    it('streams a 1 GiB answer to a slow client without holding it: what is in flight stays small, and so does memory', async () => {
      const upstream = await hugeAnswerUpstream();
      const proxy = await startProxy(upstream.url, { FORWARD_ENGINE: engine });
      try {
        const rssBefore = process.memoryUsage().rss;
        let read = 0;
        let mostInFlight = 0;
        let mostRss = rssBefore;
        await new Promise<void>((resolve, reject) => {
          const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'POST', path: '/download', agent: false }, (res) => {
            assert.equal(res.statusCode, 200);
            let burst = 0;
            res.on('data', (chunk: Buffer) => {
              read += chunk.length;
              burst += chunk.length;
              mostInFlight = Math.max(mostInFlight, upstream.written() - read);
              if (burst >= READ_BURST) {
                // A slow reader: while it rests, an engine that does not wait for it would take
                // in what the upstream writes (about a gigabyte a second here).
                burst = 0;
                mostRss = Math.max(mostRss, process.memoryUsage().rss);
                res.pause();
                void pause(150).then(() => res.resume());
              }
            });
            res.on('end', resolve);
            res.on('error', reject);
          });
          req.on('error', reject);
          req.end(webhook('alice'));
        });
        assert.equal(read, GIB, 'the whole answer arrived');
        assert.ok(mostInFlight < 48 * 1024 * 1024, `at most ${(mostInFlight / 2 ** 20).toFixed(1)} MiB between the upstream and the client`);
        assert.ok(mostRss - rssBefore < 160 * 1024 * 1024, `memory grew by ${((mostRss - rssBefore) / 2 ** 20).toFixed(0)} MiB`);
      } finally {
        await proxy.close();
        await upstream.close();
      }
    });

    describe('trailer fields and interim answers', () => {
      let upstream: RawUpstream;
      let proxy: RunningProxy;
      before(async () => {
        const answers: Record<string, string> = {
          '/trailers': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n5\r\nhello\r\n0\r\nX-Checksum: 5d41402a\r\n\r\n',
          '/continue': 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal',
        };
        upstream = await rawUpstream(({ path }) => answers[path] ?? OK_ANSWER);
        proxy = await startProxy(upstream.url, { FORWARD_ENGINE: engine });
      });
      after(async () => {
        await proxy.close();
        await upstream.close();
      });

      it("relays the answer's trailer fields to a client that reads chunks", async () => {
        const trailers = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
          const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'POST', path: '/trailers', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => {
              assert.equal(body, 'hello');
              resolve(res.trailers);
            });
          });
          req.on('error', reject);
          req.end(webhook('alice'));
        });
        assert.deepEqual(trailers, { 'x-checksum': '5d41402a' });
      });

      it('an unasked 100 Continue before the answer: skipped (node), or a 502 (undici refuses it)', async () => {
        const res = await request(proxy.port, { path: '/continue', body: webhook('alice') });
        if (engine === 'undici') assert.equal(res.status, 502);
        else assert.deepEqual([res.status, res.body.toString()], [200, 'final']);
        assert.equal((await request(proxy.port, { path: '/ok', body: webhook('alice') })).status, 200, 'the proxy keeps serving');
      });
    });
  });
}
