/**
 * A reference forwarder on undici: one `Pool` for the target, each request's body streamed in
 * and the answer streamed out with `pool.stream`, nothing else. What the undici engine would
 * cost without the proxy.
 * Usage: TARGET_URL=http://127.0.0.1:8080 PORT=0 node build/bench/bare-undici-forwarder.js
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const target = new URL(process.env.TARGET_URL ?? 'http://127.0.0.1:8080');
const pool = new Pool(target.origin, { keepAliveTimeout: 4000 });
// undici refuses connection-specific fields: they are the hop's own.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'expect', 'host']);

const server = http.createServer((req, res) => {
  const headers: Record<string, string | string[]> = { host: target.host };
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
  pool
    .stream({ method: req.method as 'POST', path: req.url ?? '/', headers, body: req }, ({ statusCode, headers: answerHeaders }) => {
      const relayed: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(answerHeaders)) if (value !== undefined && name !== 'connection' && name !== 'keep-alive') relayed[name] = value;
      res.writeHead(statusCode, relayed);
      return res;
    })
    .catch(() => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => process.exit(0));
