/**
 * Loopback ports for tests and the bench: a free one, a closed one, and whether one accepts.
 */
import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

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
 * nothing when ready). Fails when `exited()` turns true or after 5 s.
 */
export async function untilAccepting(port: number, what: string, exited: () => boolean = () => false): Promise<void> {
  for (let attempt = 0; !(await accepts(port)); attempt++) {
    if (exited()) throw new Error(`${what} exited before listening on ${port}`);
    if (attempt > 250) throw new Error(`${what} did not listen on ${port} within 5 s`);
    await delay(20);
  }
}

/**
 * Resolves once `done()` holds, checking again after each turn of the event loop (so sockets
 * and timers in this process make progress meanwhile); fails after `ms` naming `what`.
 */
export async function until(done: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
