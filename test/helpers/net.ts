/**
 * Loopback ports for tests and the bench: a free one, a closed one, and whether one accepts.
 */
import { once } from 'node:events';
import net from 'node:net';
import { waitFor } from './wait';

/** A loopback port that was free a moment ago (for programs that need a number up front). */
export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A URL to a loopback port nothing listens on. */
export async function closedPortUrl(scheme = 'http'): Promise<string> {
  return `${scheme}://127.0.0.1:${await freePort()}`;
}

/** Whether something accepts connections on the loopback port. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Waits until a program started by the test accepts connections on `port` (such programs say
 * nothing when ready). Fails when `exited()` turns true or after `ms` (5 s).
 */
export async function untilAccepting(port: number, what: string, exited: () => boolean = () => false, ms = 5000): Promise<void> {
  await waitFor(() => accepts(port), `${what} listening on ${port}`, { pauseMs: 20, gaveUp: exited, ms });
}
