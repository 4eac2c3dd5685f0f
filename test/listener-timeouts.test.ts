/**
 * Both listeners cut a client that is slow to send its headers when their timeouts say, not
 * when Node next gets round to checking (every 30 s by default).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createAdminServer } from '../src/admin/server';
import { parseConfig } from '../src/config/config';
import { Registry } from 'prom-client';
import { closeServer, startPair, stopPair } from './helpers/http';

/** Opens a connection, sends half a request head, and resolves with the answer and how long it took. */
async function halfHead(port: number): Promise<{ reply: string; ms: number }> {
  const started = performance.now();
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write('GET /readyz HTTP/1.1\r\nHost: x\r\n');
  let reply = '';
  socket.on('data', (c: Buffer) => (reply += c.toString('latin1')));
  await once(socket, 'close');
  return { reply, ms: performance.now() - started };
}

describe('listener timeouts', () => {
  it('the admin listener answers 408 JSON once its header timeout has passed, checked at least every second', async () => {
    const config = parseConfig({ ADMIN_PORT: '9999' });
    const backend = { store: undefined, readiness: () => ({}), metrics: async () => ({ contentType: new Registry().contentType, text: '' }), listenAddress: () => '127.0.0.1:0' };
    const admin = createAdminServer({ config, backend, headersTimeoutMs: 300 });
    admin.listen(0, '127.0.0.1');
    await once(admin, 'listening');
    try {
      const { reply, ms } = await halfHead((admin.address() as AddressInfo).port);
      assert.match(reply, /^HTTP\/1\.1 408 /);
      assert.match(reply, /"status":408/);
      // Due at 300 ms; Node's default check interval (30 s) would answer after up to 30 s.
      assert.ok(ms >= 290 && ms < 1300 + 300, `answered after ${Math.round(ms)} ms`);
    } finally {
      await closeServer(admin);
    }
  });

  it('the proxy listener answers 408 within a second of HEADERS_TIMEOUT_MS', async () => {
    const pair = await startPair({ HEADERS_TIMEOUT_MS: '1500', REQUEST_TIMEOUT_MS: '3000' });
    try {
      const { reply, ms } = await halfHead(pair.proxy.port);
      assert.match(reply, /^HTTP\/1\.1 408 /);
      assert.ok(ms >= 1490 && ms < 1500 + 1000 + 300, `answered after ${Math.round(ms)} ms`);
    } finally {
      await stopPair(pair);
    }
  });
});
