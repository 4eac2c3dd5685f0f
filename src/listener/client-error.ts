/**
 * Answers requests Node's HTTP parser refused (malformed, smuggling attempts, header overflow,
 * too slow) with the project's JSON error shape, then closes the connection.
 */
import type { Socket } from 'node:net';
import { rawErrorAnswer } from '../json-answer';
import { log } from '../log';

/** Status and message for each parser error code; anything else is a 400. */
const ANSWERS: Readonly<Record<string, readonly [status: number, message: string]>> = {
  HPE_HEADER_OVERFLOW: [431, 'request headers too large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'chunk extensions too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request not received in time'],
};
const MALFORMED = [400, 'malformed HTTP request'] as const;

export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  const [status, message] = ANSWERS[err.code ?? ''] ?? MALFORMED;
  log.server('client error %s: %s', err.code, err.message);
  // As Node's own handler does: only answer when no response of ours is already on the wire,
  // or the peer would read a corrupted stream.
  if (socket.writable && err.code !== 'ECONNRESET' && !answerBegun(socket)) socket.write(rawErrorAnswer(status, message));
  // Ends our side once the answer is flushed, and drops whatever the client still sends.
  socket.destroySoon();
}

/** Whether the response Node is writing on `socket` (its internal `_httpMessage`) has sent its head. */
function answerBegun(socket: Socket): boolean {
  const inFlight: unknown = Reflect.get(socket, '_httpMessage');
  return typeof inFlight === 'object' && inFlight !== null && 'headersSent' in inFlight && inFlight.headersSent === true;
}
