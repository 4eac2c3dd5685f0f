/**
 * The interface every webhook signature scheme implements: it sees the request's headers, the
 * raw body bytes and the time, and says ok or why not. HMACs over the body (Webex, GitHub),
 * over a timestamp and the body (Slack, Zoom), a shared token (Telegram), Ed25519 (Discord) and
 * JWTs (Teams) all fit this shape.
 */
import type { KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** Why a request's signature was refused: a closed set, for logs and tests. */
export type RejectionReason =
  | 'missing' // the signature header is absent
  | 'malformed' // present but not in the scheme's format
  | 'mismatch' // well formed, made with none of the configured keys
  | 'stale'; // timestamped schemes: signed too long ago (or too far ahead)

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: RejectionReason };

export const ACCEPTED: Verdict = { ok: true };
export const rejected = (reason: RejectionReason): Verdict => ({ ok: false, reason });

/** What a scheme is configured with. */
export interface SchemeKeys {
  /** The shared secrets (WEBHOOK_SECRET), as bytes; several during a rotation. */
  readonly secrets: readonly Buffer[];
  /** An Ed25519 public key (DISCORD_PUBLIC_KEY). */
  readonly publicKey: KeyObject | undefined;
  /** Timestamped schemes: the largest distance accepted between the signed time and now (SIGNATURE_TOLERANCE_S). */
  readonly toleranceMs: number;
}

/** One request as a scheme sees it. */
export interface SignedRequest {
  readonly headers: IncomingHttpHeaders;
  /** The body exactly as received. */
  readonly body: Buffer;
  /** Now, epoch milliseconds (injected, so timestamp tolerance is testable). */
  readonly now: number;
}

export interface SignatureScheme {
  /** The headers it reads, as written in messages; the first is named in a 401's message. */
  readonly headers: readonly string[];
  /** Whether it signs a timestamp that must lie within a tolerance of now. */
  readonly timestamped: boolean;
  /** What it cannot verify without: WEBHOOK_SECRET, or a public key. */
  readonly needs: 'secret' | 'public-key';
  /** Checks one request against `keys`. A scheme that must fetch keys (JWKS) returns a promise. */
  verify(request: SignedRequest, keys: SchemeKeys): Verdict | Promise<Verdict>;
}
