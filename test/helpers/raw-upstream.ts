/**
 * An upstream that speaks HTTP by hand, for answers no HTTP server library would write (an
 * interim answer before the final one, a 204 with bytes after it, trailers, a connection closed
 * without a byte): it reads each request's head and Content-Length body, then writes what
 * `answer` returns, or closes the connection when it returns undefined.
 */
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { closeServer } from './http';

/** One request as the upstream read it. */
export interface RawRequest {
  readonly path: string;
  readonly body: string;
  /** Its place on its connection: 1 for the first request a connection carried. */
  readonly nthOnConnection: number;
}

/** The raw bytes to answer `request` with; undefined closes the connection without a byte. */
export type RawAnswer = (request: RawRequest) => string | undefined;

export const OK_ANSWER = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

export interface RawUpstream {
  readonly url: string;
  /** Connections accepted, and closed, so far. */
  readonly connections: number;
  readonly closed: number;
  /** Every request read, in order. */
  readonly requests: readonly RawRequest[];
  close(): Promise<void>;
}

export async function rawUpstream(answer: RawAnswer): Promise<RawUpstream> {
  const state = { connections: 0, closed: 0 };
  const requests: RawRequest[] = [];
  const server = net.createServer((socket) => {
    state.connections++;
    socket.on('close', () => state.closed++);
    socket.on('error', () => {});
    let pending = '';
    let served = 0;
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      const end = pending.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/content-length: *(\d+)/i.exec(pending.slice(0, end))?.[1] ?? 0);
      if (pending.length - end - 4 < length) return;
      const request = { path: pending.split(' ')[1] ?? '/', body: pending.slice(end + 4, end + 4 + length), nthOnConnection: ++served };
      pending = '';
      requests.push(request);
      const reply = answer(request);
      if (reply === undefined) socket.destroy();
      else socket.write(reply);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get connections() {
      return state.connections;
    },
    get closed() {
      return state.closed;
    },
    requests,
    close: () => closeServer(server),
  };
}
