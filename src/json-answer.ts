/**
 * Every JSON answer the proxy and the admin listener write. Errors share one shape,
 * {"status", "error", "message"}, whether they end a proxied request, answer a request Node's
 * parser refused, or come from an admin endpoint.
 */
import { STATUS_CODES, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ProxyError } from './errors';

const JSON_TYPE = 'application/json; charset=utf-8';

/** The error body for `status`. */
function errorBody(status: number, message: string): string {
  return JSON.stringify({ status, error: reasonPhrase(status), message });
}

function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

/** Answers `body` as JSON with `status`. */
export function writeJson(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Answers an error in the common shape. */
export function writeError(res: ServerResponse, status: number, message: string, headers: OutgoingHttpHeaders = {}): void {
  const text = errorBody(status, message);
  res.writeHead(status, { ...headers, 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * A whole HTTP/1.1 error answer as text, for a socket that has no response object (a request
 * Node's parser refused). It closes the connection.
 */
export function rawErrorAnswer(status: number, message: string): string {
  const body = errorBody(status, message);
  return `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\nContent-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/**
 * Ends a proxied request with `err`; closes the connection when the request body was not read
 * (`closeConnection`). An answer already begun is cut instead: half an answer is worse than none.
 */
export function sendError(res: ServerResponse, err: ProxyError, closeConnection = false): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = errorBody(err.status, err.message);
  // An upstream answer whose head was taken in but not yet sent (it broke right after) left its
  // status text and headers (Set-Cookie, ...) on the response: none of them belong to this one.
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.statusCode = err.status;
  res.statusMessage = reasonPhrase(err.status);
  for (const [name, value] of Object.entries(err.headers ?? {})) res.setHeader(name, value);
  res.setHeader('content-type', JSON_TYPE);
  res.setHeader('content-length', Buffer.byteLength(body));
  if (closeConnection) {
    // Unread request bytes may follow on this socket: do not parse them as a next request.
    res.setHeader('connection', 'close');
    res.shouldKeepAlive = false;
    if (res.socket !== null) closeLingering(res.socket);
  }
  res.end(body);
}

/** How long a connection closed after an error answer goes on reading (and dropping) the request. */
const LINGER_MS = 2000;

/**
 * A lingering close (as Apache and nginx do): once the answer is written, Node would close the
 * socket at once, and closing with request bytes still arriving makes the kernel reset the
 * connection, which can discard the answer before the client reads it (seen for ~1 in 10
 * refused clients of 3 000 sending bodies at once). Instead: send FIN, keep reading and dropping
 * what the client sends, and close when it does or after LINGER_MS.
 */
function closeLingering(socket: Socket): void {
  socket.destroySoon = function lingeringClose(this: Socket): void {
    this.end();
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once('end', () => this.destroy());
    this.once('close', () => clearTimeout(timer));
  };
}
