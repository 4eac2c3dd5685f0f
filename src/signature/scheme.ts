/**
 * The interface every webhook signature scheme implements: it sees the request's headers, the
 * raw body bytes and the time, and says ok or why not. HMACs over the body (Webex, GitHub),
 * over a timestamp and the body (Slack, Zoom), a shared token (Telegram), Ed25519 (Discord) and
 * JWTs (Teams) all fit this shape.
 */
import type { KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { TeamsKeys } from './teams-keys';
import type { Maybe } from '../core/maybe';

/**
 * Why a request's signature was refused, and the words a 401 says it in: a closed set, for
 * senders, logs and tests. `unavailable` alone is not the sender's fault: the keys to check with
 * could not be fetched (a 503).
 */
export const REJECTION_TEXT = {
  missing: 'missing signature', // the signature header is absent
  malformed: 'malformed signature', // present but not in the scheme's format
  mismatch: 'bad signature', // well formed, made with none of the configured keys
  stale: 'timestamp outside tolerance', // timestamped schemes: signed too long ago (or too far ahead)
  expired: 'token expired', // JWT: past exp (beyond the allowed skew)
  'not-yet-valid': 'token not yet valid', // JWT: before nbf
  'wrong-audience': 'wrong audience', // JWT: issued for another app
  'wrong-issuer': 'wrong issuer', // JWT: not issued by the platform
  'wrong-algorithm': 'signing algorithm not allowed', // JWT: alg none, HS256, anything but the platform's
  'unknown-key': 'unknown signing key', // JWT: a key id the platform's key set does not hold
  'wrong-service-url': 'token names another service URL', // Teams: serviceurl claim is not the activity's serviceUrl
  'not-endorsed': 'signing key not endorsed for this channel', // Teams: the key's endorsements lack the activity's channelId
  unavailable: 'signing keys unavailable', // the platform's keys could not be fetched
} as const;

export type RejectionReason = keyof typeof REJECTION_TEXT;

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: RejectionReason };

export const ACCEPTED: Verdict = { ok: true };
export const rejected = (reason: RejectionReason): Verdict => ({ ok: false, reason });

/** What a scheme is configured with. */
export interface SchemeKeys {
  /** The shared secrets (WEBHOOK_SECRET), as bytes; several during a rotation. */
  readonly secrets: readonly Buffer[];
  /** An Ed25519 public key (DISCORD_PUBLIC_KEY). */
  readonly publicKey: KeyObject | undefined;
  /** Teams: the app id tokens must be issued for, and where the signing keys come from. */
  readonly teams: TeamsKeys | undefined;
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
  /** What it cannot verify without: a shared secret (WEBHOOK_SECRET), a public key (DISCORD_PUBLIC_KEY), an app id (TEAMS_APP_ID). */
  readonly needs: 'secret' | 'public-key' | 'app-id';
  /** Checks one request against `keys`. A scheme that must fetch keys (JWKS) returns a promise. */
  verify(request: SignedRequest, keys: SchemeKeys): Maybe<Verdict>;
  /**
   * Signs `body` as the platform does, at `nowMs`, with the shared `secret`: the headers to set
   * (lower-case names). Only timestamped shared-secret schemes have it: a late delivery of theirs
   * would be refused as stale, and we hold the secret the platform signs with.
   */
  sign?(body: Buffer, nowMs: number, secret: Buffer): Record<string, string>;
}
