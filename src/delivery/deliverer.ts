/**
 * One delivery attempt of a stored letter: affinity added as for a direct forward (header,
 * learned cookie), sent to the key's instance over a keep-alive agent, the answer read whole and
 * judged by the retry policy. A key whose own instance has just gone down is held, not moved.
 */
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { AffinityStrategy, KeyedExchange } from '../affinity/strategy';
import { fromUpstreamError, neverReachedUpstream } from '../errors';
import { addAffinity, learn } from '../pipeline/steps';
import type { Candidate, Route } from '../route/route';
import type { Clock } from '../store/store';
import { watchForStalls } from '../upstream/stall-watch';
import { ageStart, type AttemptReport, type Claimed, type Letter, type Settlement } from './letter';
import { settle, type AttemptResult, type RetryPolicy } from './retry-policy';

export interface DelivererOptions {
  readonly route: Route;
  readonly strategies: readonly AffinityStrategy[];
  readonly policy: RetryPolicy;
  /** How long a key waits for its own instance to come back before it moves (QUEUE_HOLD_MS). */
  readonly holdMs: number;
  /** Silence from the bot before the attempt fails (UPSTREAM_TIMEOUT_MS). */
  readonly timeoutMs: number;
  readonly keepAliveMs: number;
  readonly changeOrigin: boolean;
  readonly targetInsecure: boolean;
  readonly clock: Clock;
}

/** How one attempt went: the settlement for the spool, and what was met for the record. */
export interface Attempted {
  readonly settlement: Settlement;
  readonly report: AttemptReport;
}

export interface Deliverer {
  deliver(claimed: Claimed): Promise<Attempted>;
  close(): void;
}

export function createDeliverer(options: DelivererOptions): Deliverer {
  const { route, policy, clock } = options;
  const keepAlive = { keepAlive: true, timeout: options.keepAliveMs, scheduling: 'lifo' as const };
  const httpAgent = new http.Agent(keepAlive);
  const httpsAgent = new https.Agent({ ...keepAlive, rejectUnauthorized: !options.targetInsecure });
  const learners = options.strategies.filter((s) => s.learn !== undefined);
  // UPSTREAM_TIMEOUT_MS as for direct forwards: one sweep of the agents' connections, no timer
  // per delivery. A stalled delivery fails with UPSTREAM_TIMEOUT and is retried.
  const stalls = watchForStalls([httpAgent, httpsAgent], options.timeoutMs);

  async function deliver({ letter, attempt }: Claimed): Promise<Attempted> {
    const started = performance.now();
    const now = clock();
    const unsent = (settlement: Settlement, error: string): Attempted => ({ settlement, report: { upstream: undefined, status: undefined, error, durationMs: 0 } });
    if (now > ageStart(letter) + policy.maxAgeMs) return unsent({ kind: 'dead', reason: 'not delivered within QUEUE_MAX_AGE_MS' }, 'expired');
    const heldUntil = route.heldUntil(letter.key, options.holdMs, now);
    if (heldUntil !== undefined) return unsent({ kind: 'hold', at: Math.min(heldUntil, now + policy.minMs) }, 'held for its own instance');
    const candidate = route.candidates(letter.key)[0];
    if (candidate === undefined) return unsent(settle({ kind: 'failed', error: 'no upstream is available' }, attempt, ageStart(letter), now, policy), 'no upstream is available');
    const exchange: KeyedExchange | undefined = letter.key === undefined ? undefined : { headers: { ...letter.headers }, key: letter.key };
    // Waited for only when a strategy is asynchronous (a networked store's lookup).
    const pending = exchange === undefined ? undefined : addAffinity(options.strategies, exchange);
    if (pending !== undefined) await pending;
    const result = await send(candidate, letter, attempt, exchange);
    return {
      settlement: settle(result, attempt, ageStart(letter), clock(), policy),
      report: {
        upstream: candidate.id,
        status: result.kind === 'answered' ? result.status : undefined,
        error: result.kind === 'failed' ? result.error : undefined,
        durationMs: performance.now() - started,
      },
    };
  }

  /** Sends the letter to `candidate`, reads the answer whole, and tells the route how it went. */
  function send(candidate: Candidate, letter: Letter, attempt: number, exchange: KeyedExchange | undefined): Promise<AttemptResult> {
    const url = candidate.target.url;
    const secure = url.protocol === 'https:';
    const headers: OutgoingHttpHeaders = {
      ...(exchange?.headers ?? letter.headers),
      ...exchange?.upstreamHeaders,
      'content-length': String(letter.body.length),
      'x-webhook-delivery-id': letter.id,
      'x-webhook-attempt': String(attempt),
    };
    if (options.changeOrigin) headers.host = url.host;
    return new Promise((resolve) => {
      const req = (secure ? https : http).request(
        {
          protocol: url.protocol,
          hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: url.port,
          method: letter.method,
          path: joinPath(url.pathname, letter.url),
          headers,
          agent: secure ? httpsAgent : httpAgent,
        },
        (res) => {
          route.answered(candidate);
          if (exchange !== undefined && learners.length > 0) learn(learners, exchange, res);
          readWhole(res, (complete) =>
            resolve(complete ? { kind: 'answered', status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] } : { kind: 'failed', error: 'the answer was cut' }),
          );
        },
      );
      req.on('error', (err) => {
        const failure = fromUpstreamError(err);
        if (neverReachedUpstream(failure)) route.unreachable(candidate, failure.message);
        resolve({ kind: 'failed', error: failure.message });
      });
      req.end(letter.body);
    });
  }

  return {
    deliver,
    close() {
      stalls.close();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/** Reads and drops the answer's body; says whether it came whole. */
function readWhole(res: IncomingMessage, done: (complete: boolean) => void): void {
  let settled = false;
  const finish = (complete: boolean): void => {
    if (settled) return;
    settled = true;
    done(complete);
  };
  res.on('end', () => finish(true));
  res.on('close', () => finish(res.complete));
  res.on('error', () => finish(false));
  res.resume();
}

/** The target's path as a prefix of the request's path and query, as a direct forward joins them. */
export function joinPath(prefix: string, url: string): string {
  if (prefix === '' || prefix === '/') return url;
  return prefix.replace(/\/+$/, '') + (url.startsWith('/') ? url : `/${url}`);
}
