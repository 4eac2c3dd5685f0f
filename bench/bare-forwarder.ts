/**
 * The floor webhook-affinity is measured against: http-proxy with the same keep-alive agent
 * settings as src/upstream/forward.ts and nothing else (no body reading, no key, no affinity).
 * Usage: TARGET_URL=http://127.0.0.1:8080 PORT=0 [NO_AGENT=1] [AT_ONCE=1] node build/bench/bare-forwarder.js
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import httpProxy from 'http-proxy';
import { inCheckPhase } from '../src/check-phase';

// NO_AGENT=1: http-proxy's default (no agent: a new upstream connection per request, closed
// after it), to show what the keep-alive agent is worth.
const agent = process.env.NO_AGENT === '1' ? undefined : new http.Agent({ keepAlive: true, timeout: 4000, maxFreeSockets: 256, scheduling: 'lifo' });
const proxy = httpProxy.createProxyServer({ target: process.env.TARGET_URL, agent, xfwd: true, changeOrigin: true });
proxy.on('error', (_err, _req, res) => {
  if ('writeHead' in res && !res.headersSent) res.writeHead(502);
  res.end();
});
// It forwards when webhook-affinity does, after the event loop's poll phase (src/check-phase.ts):
// the floor gets the same scheduling. AT_ONCE=1 forwards in the request handler, as usual, to
// show what that scheduling is worth.
const forward = (req: http.IncomingMessage, res: http.ServerResponse): void => void proxy.web(req, res);
const forwardLater = inCheckPhase((res: http.ServerResponse<http.IncomingMessage>) => forward(res.req, res));
const server = http.createServer(process.env.AT_ONCE === '1' ? forward : (_req, res) => forwardLater(res));
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => process.exit(0));
