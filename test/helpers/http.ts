/**
 * Real servers and clients on 127.0.0.1 for the tests: an upstream that records the exact bytes
 * it received, the proxy on port 0, and a plain HTTP client.
 */
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, type Env } from '../../src/config/config';
import { createAffinityProxy, type AffinityProxy, type ProxyDeps } from '../../src/proxy';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: Buffer;
  /** The upstream-side remote port: tells which connection carried the request. */
  readonly remotePort: number;
}

export type UpstreamHandler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

export interface Upstream {
  readonly url: string;
  readonly port: number;
  readonly server: http.Server;
  readonly requests: RecordedRequest[];
  /** Resolves with the next request the upstream receives (its body fully read). */
  nextRequest(): Promise<RecordedRequest>;
  close(): Promise<void>;
}

const defaultHandler: UpstreamHandler = (_req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end('{"ok":true}');
};

/** An upstream that records every request (raw body bytes, headers) then runs `handler`. */
export async function startUpstream(handler: UpstreamHandler = defaultHandler): Promise<Upstream> {
  const requests: RecordedRequest[] = [];
  const waiters: ((r: RecordedRequest) => void)[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
        remotePort: req.socket.remotePort ?? 0,
      };
      requests.push(recorded);
      waiters.shift()?.(recorded);
      handler(req, res, recorded.body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    requests,
    nextRequest: () => new Promise((resolve) => waiters.push(resolve)),
    close: () => closeServer(server),
  };
}

/** An upstream handler whose answers wait until the test releases them. */
export function heldAnswers() {
  const held: http.ServerResponse[] = [];
  let atOnce = false;
  let onHeld: (() => void) | undefined;
  const handler: UpstreamHandler = (_req, res) => {
    if (atOnce) return void res.end('answered');
    held.push(res);
    onHeld?.();
  };
  return {
    handler,
    /** Resolves once `n` answers are being held. */
    waitFor: (n: number) =>
      new Promise<void>((resolve) => {
        if (held.length >= n) resolve();
        else onHeld = () => held.length >= n && resolve();
      }),
    releaseAll: () => {
      for (const res of held.splice(0)) res.end('released');
    },
    /** From now on, answer without holding. */
    answerAtOnce: () => (atOnce = true),
  };
}

/** Answers 200 with `bytes` bytes, one every `everyMs` (a slow upstream that keeps sending). */
export function dripAnswer(res: http.ServerResponse, bytes: number, everyMs: number): void {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(bytes) });
  let sent = 0;
  const timer = setInterval(() => {
    res.write('.');
    if (++sent === bytes) {
      clearInterval(timer);
      res.end();
    }
  }, everyMs);
  res.on('close', () => clearInterval(timer));
}

export async function closeServer(server: net.Server | http.Server): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  if (!server.listening) return;
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export interface RunningProxy {
  readonly url: string;
  readonly port: number;
  readonly proxy: AffinityProxy;
  close(): Promise<void>;
}

/** The proxy on 127.0.0.1:0 in front of `targetUrl`, with `env` on top of the defaults. */
export async function startProxy(targetUrl: string, env: Env = {}, deps: ProxyDeps = {}): Promise<RunningProxy> {
  const config = parseConfig({ PORT: '0', HOST: '127.0.0.1', TARGET_URL: targetUrl, ...env });
  const proxy = createAffinityProxy(config, deps);
  const { port } = await proxy.listen();
  return { url: `http://127.0.0.1:${port}`, port, proxy, close: () => proxy.close() };
}

/** An upstream and a proxy in front of it (for a suite's before hook). */
export async function startPair(env: Env = {}, handler?: UpstreamHandler, deps: ProxyDeps = {}): Promise<{ upstream: Upstream; proxy: RunningProxy }> {
  const upstream = await startUpstream(handler);
  return { upstream, proxy: await startProxy(upstream.url, env, deps) };
}

/** Stops what startPair started (for a suite's after hook). */
export async function stopPair(pair: { upstream?: Upstream; proxy?: RunningProxy }): Promise<void> {
  await pair.proxy?.close();
  await pair.upstream?.close();
}

export interface Response {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  json(): any;
}

export interface RequestOptions {
  method?: string;
  path?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked, in these pieces. */
  chunks?: (string | Buffer)[];
}

/** One request on a fresh connection; resolves with the whole response. */
export function request(port: number, options: RequestOptions = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'POST',
        path: options.path ?? '/webhook',
        headers: {
          ...(options.body !== undefined || options.chunks !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')) });
        });
      },
    );
    req.on('error', reject);
    if (options.chunks !== undefined) {
      for (const c of options.chunks) req.write(c);
      req.end();
    } else {
      req.end(options.body);
    }
  });
}

/** Writes raw bytes on a fresh socket; resolves with everything read until the server closes. */
export function rawExchange(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A reset after the answer still leaves the answer readable.
      if (err.code === 'ECONNRESET') resolve(Buffer.concat(chunks).toString('latin1'));
      else reject(err);
    });
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.write(bytes);
  });
}

export { closedPortUrl } from './net';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures');

/** A fixture's exact bytes (test/fixtures is read from the source tree, not the build). */
export function fixture(name: string): Buffer {
  return readFileSync(join(FIXTURES, name));
}

export const ALICE = 'Y2lzY29zcGFyazovL3VzL1BFT1BMRS8xZjdkZTVjYi04NTYxLTQ2NzEtYmMwMy1iYzk3NDMxNDQ0MmQ';
export const BOT = 'Y2lzY29zcGFyazovL3VzL1BFT1BMRS85YjFmNWMyZS03ZDRhLTRiOGUtYTFjMy0wZjJlNmQ1YjRhMzk';

/** A minimal webhook body for `actorId`. */
export function webhook(actorId: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ resource: 'messages', event: 'created', actorId, data: { id: 'm1' }, ...extra });
}

/** Whether DELIVERY=queued answered that it stored the webhook (rather than forwarding it directly). */
export const wasQueued = (res: { readonly status: number; readonly body: Buffer }): boolean => res.status === 200 && res.body.toString().startsWith('{"queued"');
