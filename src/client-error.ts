/**
 * Answers requests Node's HTTP parser refused (malformed, smuggling attempts, header overflow,
 * too slow) with the project's JSON error shape, then closes the connection.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { log } from './log';

const STATUS_BY_CODE: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  const status = STATUS_BY_CODE[err.code ?? ''] ?? 400;
  log.server('client error %s: %s', err.code, err.message);
  // As Node's own handler does: only answer when no response of ours is already on the wire,
  // or the peer would read a corrupted stream.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && err.code !== 'ECONNRESET' && !inFlight?.headersSent) {
    const body = JSON.stringify({ status, error: STATUS_CODES[status], message: describe(status) });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  // Ends our side once the answer is flushed, and drops whatever the client still sends.
  socket.destroySoon();
}

function describe(status: number): string {
  switch (status) {
    case 408:
      return 'request not received in time';
    case 413:
      return 'chunk extensions too large';
    case 431:
      return 'request headers too large';
    default:
      return 'malformed HTTP request';
  }
}
