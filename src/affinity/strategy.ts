/**
 * The one interface every affinity strategy implements. A strategy adds affinity to a request
 * that has a key and may learn from the answer; it never throws: on any trouble it adds nothing
 * and the request is forwarded without affinity.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config/types';
import type { ProxyObserver } from '../observe/observer';
import type { AffinityStore } from '../store/store';
import type { Clock } from '../core/clock';
import type { CookieJar } from './cookie-jar';
import type { AnswerHead } from '../upstream/sender';
import type { Maybe } from '../core/maybe';

/** One request on its way through the pipeline, as the strategies see it. */
export interface Exchange {
  /**
   * The request's headers as they will be forwarded (sanitized); a strategy may remove one.
   * Only the headers, so a webhook stored for later delivery goes through the same strategies.
   */
  readonly headers: IncomingHttpHeaders;
  /** The affinity key, when the body held a usable one. */
  readonly key: string | undefined;
  /**
   * Headers set on the upstream request only, over the client's: adding a name to the client's
   * headers object would change its shape and slow every later reader of it (docs/performance.md).
   */
  upstreamHeaders?: Record<string, string>;
  /** Cookie mode: the cookies known for `key` when the request left, updated from the answer. */
  jar?: CookieJar;
}

export interface KeyedExchange extends Exchange {
  readonly key: string;
}

export interface AffinityStrategy {
  /** Removes from every request whatever a caller could use to steer routing itself. */
  sanitize?(headers: IncomingHttpHeaders): void;
  /** Adds affinity to a request that has a key. */
  apply(exchange: KeyedExchange): Maybe<void>;
  /** Learns from the upstream's answer to a request that had a key. */
  learn?(exchange: KeyedExchange, answer: AnswerHead): void;
}

/** What a strategy is built from. */
export interface StrategyContext {
  readonly config: Config;
  /** Where learned affinity lives: present when the mode learns (see modes.ts). */
  readonly store: AffinityStore | undefined;
  readonly clock: Clock;
  readonly observer: ProxyObserver;
}

/** Builds a mode's strategy; undefined when configured off. One per entry in the mode table. */
export type StrategyFactory = (context: StrategyContext) => AffinityStrategy | undefined;
