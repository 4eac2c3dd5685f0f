import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { keyTag } from '../src/log';
import { request, startUpstream, webhook } from './helpers/http';
import { startServerProcess } from './helpers/process';

describe('logging', () => {
  it('never prints an actor id raw, even with every debug namespace on', async () => {
    const actor = 'Y2lzY29zcGFyazovL3VzL1BFT1BMRS9wcml2YWN5LXRlc3Q';
    const upstream = await startUpstream((_req, res) => {
      res.setHeader('set-cookie', 'SERVERID=bot1');
      res.end();
    });
    const server = await startServerProcess({ TARGET_URL: upstream.url, AFFINITY_MODE: 'both', DEBUG: 'webhook-affinity:*' });
    try {
      await request(server.port, { path: '/hook?token=secret', body: webhook(actor) });
      await request(server.port, { path: '/hook?token=secret', body: webhook(actor) });
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
      const output = server.stdout() + server.stderr();
      assert.match(output, new RegExp(`key ${keyTag(actor)}`), 'the key appears as its tag');
      assert.match(output, /replay 1 cookie/);
      assert.doesNotMatch(output, new RegExp(actor));
      assert.doesNotMatch(output, /token=secret/, 'query strings are not logged');
    } finally {
      await upstream.close();
    }
  });
});
