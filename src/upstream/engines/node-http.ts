/**
 * FORWARD_ENGINE=node: requests go out through Node's own http client, over keep-alive agents —
 * what http-proxy did for the proxy until the undici engine came (why it stays:
 * docs/performance.md). A stalled connection is found by one sweep over the agents (stall-watch.ts).
 */
import http from 'node:http';
import https from 'node:https';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { errnoOf, fromUpstreamError, type ProxyError } from '../../errors';
import { isStreamed, upstreamPath, type AnswerReader, type ForwardTarget, type Outgoing, type SendCallbacks, type Sender, type SenderOptions } from '../sender';
import { refuseInterim, refuseUpgrade } from './interim';
import { watchForStalls } from './stall-watch';

/** The errors of a connection the peer closed: what writing onto a kept-alive socket it just closed gives. */
const CLOSED_BY_PEER = new Set(['ECONNRESET', 'EPIPE']);

export function createNodeSender(options: SenderOptions): Sender {
  const agents = createAgents(options);
  const allAgents = [agents.http, agents.https, agents.freshHttp, agents.freshHttps];
  const stalls = watchForStalls(allAgents, options.upstreamTimeoutMs);

  function send(target: ForwardTarget, outgoing: Outgoing, callbacks: SendCallbacks, fresh = false): void {
    const { url } = target;
    const secure = url.protocol === 'https:';
    const agent = fresh ? (secure ? agents.freshHttps : agents.freshHttp) : secure ? agents.https : agents.http;
    const headers = options.changeOrigin ? { ...outgoing.headers, host: url.host } : outgoing.headers;
    const request = (secure ? https : http).request({
      protocol: url.protocol,
      // http.request wants an IPv6 literal without its brackets.
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port,
      method: outgoing.method,
      path: upstreamPath(target, outgoing),
      headers,
      agent,
    });
    let cutAnswer: ((err: ProxyError) => void) | undefined;
    // The connection's bytes read before this request: more by the failure means an answer began.
    let readBefore = 0;
    request.once('socket', (socket) => (readBefore = socket.bytesRead));
    request.on('upgrade', refuseUpgrade);
    request.on('information', refuseInterim);
    request.on('response', (answer) => {
      const reader = callbacks.onAnswer({ status: answer.statusCode ?? 502, statusText: answer.statusMessage ?? '', headers: answer.headers }, () => answer.resume());
      cutAnswer = readInto(answer, reader);
    });
    request.on('error', (err) => {
      if (cutAnswer !== undefined) {
        // After the head: an upstream that breaks right after it (a 204 followed by body bytes).
        cutAnswer(fromUpstreamError(err));
        return;
      }
      if (!fresh && !isStreamed(outgoing.body) && diedUnread(request, readBefore, err)) {
        options.onStaleConnection?.(url);
        send(target, outgoing, callbacks, true);
        return;
      }
      callbacks.onFailure(fromUpstreamError(err));
    });
    callbacks.onSent?.({ abort: () => abort(request) });
    const { body } = outgoing;
    if (isStreamed(body)) {
      body.pipe(request);
      // A client that leaves mid-body: the upstream request is aborted by its owner.
    } else request.end(body);
  }

  return {
    send,
    close() {
      stalls.close();
      for (const agent of allAgents) agent.destroy();
    },
  };
}

function abort(request: ClientRequest): void {
  if (!request.destroyed) request.destroy();
}

/**
 * The answer's body into `reader`, paused while the reader asks, cut when the answer breaks off;
 * returns how to cut it from outside (the request failed after its head). The reader hears once.
 */
function readInto(answer: IncomingMessage, reader: AnswerReader): (err: ProxyError) => void {
  let settled = false;
  const cut = (err: ProxyError): void => {
    if (settled) return;
    settled = true;
    reader.cut(err);
  };
  answer.on('data', (chunk: Buffer) => {
    if (!reader.data(chunk)) answer.pause();
  });
  answer.on('end', () => {
    if (settled) return;
    settled = true;
    reader.end(Object.keys(answer.trailers).length > 0 ? answer.trailers : undefined);
  });
  answer.on('error', (err) => cut(fromUpstreamError(err)));
  answer.on('close', () => {
    if (!answer.complete) cut(fromUpstreamError(Object.assign(new Error('the answer was cut'), { code: 'ECONNRESET' })));
  });
  return cut;
}

/**
 * True when `request` failed on a reused connection that the upstream had closed before reading
 * it: reset or closed, and not a byte of answer back. A timeout (ours) or an answer begun is
 * never taken for that.
 */
function diedUnread(request: ClientRequest, readBefore: number, err: unknown): boolean {
  if (!request.reusedSocket || !CLOSED_BY_PEER.has(errnoOf(err))) return false;
  const socket = request.socket;
  return socket !== null && socket !== undefined && socket.bytesRead === readBefore;
}

/** The keep-alive agents requests go through, and the non-keep-alive ones for a resend. */
interface Agents {
  readonly http: http.Agent;
  readonly https: https.Agent;
  /** For the one resend after a kept-alive connection died: always a new connection, closed after. */
  readonly freshHttp: http.Agent;
  readonly freshHttps: https.Agent;
}

function createAgents(options: SenderOptions): Agents {
  const keepAlive = {
    keepAlive: true,
    // Drop idle sockets before a typical upstream does (Node's server default is 5 s) so a
    // request is not written onto a socket the upstream is closing. Node also honours the
    // upstream's `Keep-Alive: timeout=N` hint when it is shorter.
    timeout: options.keepAliveMs,
    maxFreeSockets: 256,
    scheduling: 'lifo' as const,
  };
  const rejectUnauthorized = !options.targetInsecure;
  return {
    http: new http.Agent(keepAlive),
    https: new https.Agent({ ...keepAlive, rejectUnauthorized }),
    freshHttp: new http.Agent({ keepAlive: false }),
    freshHttps: new https.Agent({ keepAlive: false, rejectUnauthorized }),
  };
}
