/**
 * The client-facing HTTP listener: timeouts that cut slow clients, answers for malformed
 * requests, listening, and a graceful drain.
 */
import http from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/types';
import { logError } from '../log';
import { answerClientError } from './client-error';

export function createListener(config: Config, onRequest: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const server = http.createServer(
    {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      // Node only checks the two timeouts above this often (30 s by default).
      connectionsCheckingInterval: Math.min(1000, config.headersTimeoutMs),
    },
    onRequest,
  );
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  // Past this, Node closes a new connection at once (each open one costs memory and a descriptor).
  server.maxConnections = config.maxConnections;
  server.on('clientError', answerClientError);
  return server;
}

/**
 * Stops accepting, closes idle keep-alive connections, waits for requests in flight up to
 * `graceMs`, then cuts what is left. Connections that finish a request meanwhile should be
 * closed by the caller with `server.closeIdleConnections()`.
 */
export async function drain(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => {
    if (!server.listening) resolve();
    else server.close(() => resolve());
  });
  // Idle keep-alive connections would hold the server open for their whole timeout.
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
    timer.unref();
  });
  if ((await Promise.race([closed, deadline])) === 'timeout') {
    logError(`shutdown: requests still in flight after ${graceMs} ms, closing their connections`);
    server.closeAllConnections();
    await closed;
  }
  clearTimeout(timer);
}

/** Listens on `port`/`host`; resolves with the bound address, rejects when it cannot bind. */
export function listen(server: Server, port: number, host: string | undefined): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error(`listening on ${String(address)}, not on a TCP port`));
      else resolve(address);
    });
  });
}
