/**
 * A reference forwarder on Node's own http client: `http.request` over a keep-alive agent, the
 * request and the answer piped, nothing else. What the node engine would cost without the proxy.
 * Usage: TARGET_URL=http://127.0.0.1:8080 PORT=0 node build/bench/bare-node-forwarder.js
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const target = new URL(process.env.TARGET_URL ?? 'http://127.0.0.1:8080');
const agent = new http.Agent({ keepAlive: true, timeout: 4000, maxFreeSockets: 256, scheduling: 'lifo' });

const server = http.createServer((req, res) => {
  const upstream = http.request({ hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host }, agent }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(upstream);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => process.exit(0));
