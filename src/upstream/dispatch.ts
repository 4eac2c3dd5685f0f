/**
 * Sends one request along its route: to the first candidate, and to the next only when a
 * connection to the previous could not be made (the request is then certainly unseen) and the
 * body can be sent again. Reports each candidate's health to the route.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { neverReachedUpstream, type ProxyError } from '../errors';
import { log } from '../log';
import type { ProxyObserver } from '../observe/observer';
import { isReplayable } from '../request/body';
import type { Candidate, Route } from '../route/route';
import type { Forwarder } from './forward';
import type { AnswerHead, UpstreamCall } from './sender';

/** One request to dispatch, and where to tell how it goes. */
export interface Dispatch {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The body already read (sent as is), or undefined to stream it. */
  readonly body: Buffer | undefined;
  /** Set on the upstream request over the client's headers. */
  readonly headers: Readonly<Record<string, string>> | undefined;
  /** A candidate is being tried (the last one tried is the request's upstream). */
  tried(candidate: Candidate): void;
  /** The upstream request is under way. */
  sent(call: UpstreamCall): void;
  /** A candidate answered; called before the answer is relayed. */
  answered(head: AnswerHead): void;
  /** No candidate could answer. */
  failed(err: ProxyError): void;
}

export function dispatch(forwarder: Forwarder, route: Route, candidates: readonly Candidate[], request: Dispatch, observer: ProxyObserver): void {
  const { req } = request;
  const attempts = Math.min(route.attempts, candidates.length);
  const attempt = (i: number, candidate: Candidate): void => {
    request.tried(candidate);
    const started = performance.now();
    forwarder.forward(req, request.res, request.body, request.headers, candidate.target, {
      onSent: (call) => request.sent(call),
      onResponse: (head) => {
        observer.upstreamResponded?.(candidate.id, (performance.now() - started) / 1000);
        route.answered(candidate);
        request.answered(head);
      },
      onFailure: (err) => {
        observer.upstreamFailed?.(candidate.id);
        // Only a connection never made says the upstream is unwell, and only then is the
        // request certainly unseen: a request that reached an upstream is never replayed.
        const unseen = neverReachedUpstream(err);
        if (unseen) route.unreachable(candidate, err.message);
        const next = i + 1 < attempts ? candidates[i + 1] : undefined;
        if (unseen && next !== undefined && isReplayable(req, request.body) && !req.socket.destroyed) {
          observer.upstreamRetried?.(candidate.id, 'failover');
          log.pool('%s %p: %s, trying %s', req.method, req.url, err.message, next.id);
          attempt(i + 1, next);
        } else request.failed(err);
      },
    });
  };
  const first = candidates[0];
  if (first !== undefined) attempt(0, first);
}
