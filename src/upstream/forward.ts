/**
 * A direct forward: the client's request sent through the one sender (sender.ts), and the
 * upstream's answer relayed to the client as it comes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProxyError } from '../errors';
import { hadBody } from '../request/body';
import { addForwarded } from './forwarded';
import { endToEndHeaders } from './hop-by-hop';
import { DISCARD, type AnswerHead, type AnswerReader, type ForwardTarget, type Sender, type UpstreamCall } from './sender';

export interface ForwardCallbacks {
  /** The upstream request is under way: `abort` it if the client leaves. */
  readonly onSent: (call: UpstreamCall) => void;
  /** The upstream answered; called before the answer is relayed (cookie learning, health). */
  readonly onResponse?: (head: AnswerHead) => void;
  /** Nothing (or only part of an answer) came back. */
  readonly onFailure: (err: ProxyError) => void;
}

export interface Forwarder {
  /**
   * Sends the request to `target` and relays the answer. `body` is the already-read body, sent
   * as is with its Content-Length; without it the request streams through untouched. `headers`
   * are set on the upstream request over the client's.
   */
  forward(req: IncomingMessage, res: ServerResponse, body: Buffer | undefined, headers: Readonly<Record<string, string>> | undefined, target: ForwardTarget, callbacks: ForwardCallbacks): void;
  /** Drops the sender's idle upstream connections. */
  close(): void;
}

export function createForwarder(sender: Sender): Forwarder {
  return {
    forward(req, res, body, extraHeaders, target, callbacks) {
      const headers = addForwarded(endToEndHeaders(req.headers), req);
      if (extraHeaders !== undefined) Object.assign(headers, extraHeaders);
      if (body !== undefined) {
        delete headers['transfer-encoding'];
        headers['content-length'] = String(body.length);
      }
      sender.send(
        target,
        { method: req.method ?? 'GET', url: req.url ?? '/', headers, body: body ?? (hadBody(req) ? req : undefined) },
        {
          onSent: (call) => {
            // The client left while the request was being prepared.
            if (res.closed && !res.writableFinished) call.abort();
            else callbacks.onSent(call);
          },
          onAnswer: (head, resume) => {
            callbacks.onResponse?.(head);
            return relay(req, res, head, resume, callbacks.onFailure);
          },
          onFailure: callbacks.onFailure,
        },
      );
    },
    close: () => sender.close(),
  };
}

/** Connection-specific answer fields: our connection with the client is ours to manage. */
const NOT_RELAYED = new Set(['connection', 'keep-alive']);

/**
 * The upstream's answer to the client: its status and end-to-end headers, then its body as it
 * comes. An upstream that dies mid-body cuts the client's answer too (it must not wait for the
 * rest); one that breaks before a byte of body was sent is answered as a failure (`failed`).
 */
function relay(req: IncomingMessage, res: ServerResponse, head: AnswerHead, resume: () => void, failed: (err: ProxyError) => void): AnswerReader {
  if (res.headersSent || res.destroyed) return DISCARD;
  const http10 = req.httpVersion === '1.0';
  for (const name in head.headers) {
    const value = head.headers[name];
    if (value === undefined || NOT_RELAYED.has(name)) continue;
    // An HTTP/1.0 client cannot read chunks: Node closes the connection at the end instead.
    if (http10 && name === 'transfer-encoding') continue;
    res.setHeader(name, value);
  }
  res.setHeader('connection', req.headers.connection ?? (http10 ? 'close' : 'keep-alive'));
  res.statusCode = head.status;
  if (head.statusText !== '') res.statusMessage = head.statusText;
  let waiting = false;
  const drained = (): void => {
    waiting = false;
    resume();
  };
  return {
    data(chunk) {
      if (res.destroyed || res.write(chunk)) return true;
      if (!waiting) {
        waiting = true;
        res.once('drain', drained);
      }
      return false;
    },
    end(trailers) {
      // Trailer fields go only where the answer is chunked to the client.
      if (trailers !== undefined && !http10 && res.hasHeader('transfer-encoding')) res.addTrailers(trailers);
      res.end();
    },
    cut: failed,
  };
}
