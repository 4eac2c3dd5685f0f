/**
 * Upstream answers that are not a final answer to a webhook: a 101 to a request that asked for no
 * upgrade, and interim answers other than 100 and 103. Each fails the request (502).
 */
import type { ClientRequest, IncomingMessage, InformationEvent } from 'node:http';
import type { Duplex } from 'node:stream';
import { unexpectedInterim } from '../../errors';

/**
 * An upstream's `101 Switching Protocols` to a request that asked for no upgrade (we forward none:
 * Upgrade is hop-by-hop and removed). Without a listener Node drops the socket and the request
 * never ends, neither answered nor failed: the client would wait for ever. The socket is
 * closed and the request fails (502).
 */
export function refuseUpgrade(this: ClientRequest, _res: IncomingMessage, socket: Duplex): void {
  socket.destroy();
  this.emit('error', unexpectedInterim(101));
}

/**
 * Interim answers other than 100 Continue and 103 Early Hints are not part of a webhook
 * exchange; they are not relayed, and the request fails (502) rather than waiting on an
 * upstream that is speaking another protocol.
 */
export function refuseInterim(this: ClientRequest, info: InformationEvent): void {
  if (info.statusCode === 100 || info.statusCode === 103) return;
  this.destroy(unexpectedInterim(info.statusCode));
}
