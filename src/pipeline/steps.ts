/**
 * The pipeline's steps, each a small function of what it needs (proxy.ts runs them in order):
 *
 *   sanitize → read body → verify → key → affinity → route → forward → learn → report
 *
 * Reading the body and forwarding are I/O and live in request/body.ts and upstream/dispatch.ts;
 * what is decided around them is here, testable without a socket.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { AffinityStrategy, KeyedExchange } from '../affinity/strategy';
import type { ProxyError } from '../errors';
import type { RequestRecord } from '../observe/observer';
import type { RequestOutcome } from '../observe/outcomes';
import { isEncoded, isFormPost, isJsonPost } from '../request/body';
import { keyFromBody, keyFromForm, type KeyResult, type KeyRules } from '../request/key';
import type { SignatureVerifier } from '../signature/verifier';
import type { Verdict } from '../signature/scheme';
import type { AnswerHead } from '../upstream/sender';
import type { Flight } from './flight';
import type { Maybe } from '../core/maybe';

/** Sanitize: removes what a caller could use to steer routing itself (a spoofed Actorid, ...). */
export function sanitize(headers: IncomingHttpHeaders, sanitizers: readonly ((headers: IncomingHttpHeaders) => void)[]): void {
  for (const clean of sanitizers) clean(headers);
}

/** Why a request's body is read: to check its signature, to find its key, both, or neither. */
export interface BodyPlan {
  readonly verify: boolean;
  readonly findKey: boolean;
  /** The key is in form fields (PLATFORM reads form bodies), not in JSON. */
  readonly form?: boolean;
  /** Read to be signed on the way out (DELIVERY_SIGNING_SECRET), nothing else. */
  readonly sign?: boolean;
}
const STREAM: BodyPlan = { verify: false, findKey: false };
const KEY_ONLY: BodyPlan = { verify: false, findKey: true };
const VERIFY_ONLY: BodyPlan = { verify: true, findKey: false };
const VERIFY_AND_KEY: BodyPlan = { verify: true, findKey: true };
const FORM_KEY_ONLY: BodyPlan = { verify: false, findKey: true, form: true };
const VERIFY_AND_FORM_KEY: BodyPlan = { verify: true, findKey: true, form: true };
const SIGN_ONLY: BodyPlan = { verify: false, findKey: false, sign: true };

/**
 * Read body, the decision: JSON POSTs are read for their key; with a verifier, POSTs (every
 * method with VERIFY_ALL_METHODS) for their signature; with outgoing signing, every POST, to be
 * signed. Anything else streams through unread.
 */
export function planBody(req: IncomingMessage, verifying: boolean, verifyAllMethods: boolean, readsForms = false, signing = false): BodyPlan {
  const verify = verifying && (req.method === 'POST' || verifyAllMethods);
  if (readsForms && isFormPost(req)) return verify ? VERIFY_AND_FORM_KEY : FORM_KEY_ONLY;
  const json = isJsonPost(req);
  if (verify) return json ? VERIFY_AND_KEY : VERIFY_ONLY;
  if (json) return KEY_ONLY;
  return signing && req.method === 'POST' ? SIGN_ONLY : STREAM;
}

/** Verify: the signature against the raw bytes. */
export function verify(verifier: SignatureVerifier, headers: IncomingHttpHeaders, body: Buffer, now: number): Maybe<Verdict> {
  return verifier.verify({ headers, body, now });
}

/** What the key step found: a key, or the outcome the request is forwarded with instead. */
export type KeyStep = KeyResult | { readonly found: false; readonly outcome: 'passthrough' | 'encoded' };
const READ_FOR_SIGNATURE_ONLY: KeyStep = { found: false, outcome: 'passthrough' };
const ENCODED: KeyStep = { found: false, outcome: 'encoded' };

/**
 * Key: from a JSON body, by the key paths. A body read only for its signature, or compressed
 * (decompressing would be a zip-bomb door), has none.
 */
export function findKey(req: IncomingMessage, body: Buffer, plan: BodyPlan, rules: KeyRules): KeyStep {
  if (!plan.findKey) return READ_FOR_SIGNATURE_ONLY;
  if (isEncoded(req)) return ENCODED;
  return plan.form === true ? keyFromForm(body, rules) : keyFromBody(body, rules);
}

/**
 * Affinity: every strategy's apply, in order. Returns a promise only when one of them is
 * asynchronous (a networked store's lookup); the rest then wait for it.
 */
export function addAffinity(strategies: readonly AffinityStrategy[], exchange: KeyedExchange): Promise<void> | undefined {
  let chain: Promise<void> | undefined;
  for (const strategy of strategies) {
    if (chain !== undefined) chain = chain.then(() => strategy.apply(exchange));
    else {
      const result = strategy.apply(exchange);
      if (result !== undefined) chain = result;
    }
  }
  return chain;
}

/** Learn: what each strategy takes from the upstream's answer (a load balancer's cookie). */
export function learn(strategies: readonly AffinityStrategy[], exchange: KeyedExchange, answer: AnswerHead): void {
  for (const strategy of strategies) strategy.learn?.(exchange, answer);
}

const OUTCOME_OF_ERROR: Readonly<Record<ProxyError['code'], RequestOutcome>> = {
  BODY_TOO_LARGE: 'too-large',
  CLIENT_ABORTED: 'client-aborted',
  UPSTREAM_UNREACHABLE: 'upstream-unreachable',
  UPSTREAM_TIMEOUT: 'upstream-timeout',
  UPSTREAM_FAILED: 'upstream-failed',
  SIGNATURE_REJECTED: 'signature-rejected',
  SIGNING_KEYS_UNAVAILABLE: 'keys-unavailable',
  NO_UPSTREAM: 'no-upstream',
  BUFFERS_FULL: 'overloaded',
  STORE_UNAVAILABLE: 'store-refused',
  INTERNAL: 'internal-error',
};

/** The outcome a request ended by `err` is reported with. */
export function outcomeOfError(err: ProxyError): RequestOutcome {
  return OUTCOME_OF_ERROR[err.code];
}

/** Report: the record of a finished request (or of one whose client left: 499). */
export function recordOf(flight: Flight): RequestRecord {
  const { req, res } = flight;
  const finished = res.writableFinished;
  const declared = Number(req.headers['content-length']);
  return {
    outcome: finished ? flight.outcome : 'client-aborted',
    method: req.method ?? '',
    url: req.url ?? '',
    status: finished ? res.statusCode : 499,
    durationMs: performance.now() - flight.started,
    bytesIn: flight.body?.length ?? (Number.isFinite(declared) ? declared : 0),
    bytesOut: req.socket.bytesWritten - flight.writtenBefore,
    upstream: flight.upstream,
    key: flight.exchange?.key,
  };
}
