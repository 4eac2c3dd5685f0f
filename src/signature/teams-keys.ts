/**
 * The Bot Framework's signing keys: the OpenID configuration at TEAMS_OPENID_URL names a JWKS
 * (`jwks_uri`), which jose's remote key set fetches, caches and re-fetches when a token names a
 * key id it does not hold (at most once a minute, so forged key ids cannot make us hammer the
 * endpoint). Everything is fetched on the first Teams delivery, not at start: a proxy whose key
 * endpoint is briefly unreachable still starts, and answers 503 until it is back.
 */
import { createRemoteJWKSet, type JWK, type JWTVerifyGetKey } from 'jose';
import { messageOf } from '../errors';
import { logError } from '../log';
import { throttled } from '../throttle';

/** The keys cannot be had right now (endpoint down, slow, or answering nonsense): a 503, not a 401. */
export class SigningKeysUnavailable extends Error {}

export interface TeamsKeySource {
  /** The key a token's header names (jose's key getter); throws SigningKeysUnavailable or jose's JWKS errors. */
  readonly key: JWTVerifyGetKey;
  /** The channels the key set says the key may sign for (`endorsements`); undefined when it says nothing. */
  endorsements(kid: string | undefined): readonly string[] | undefined;
}

export interface KeySourceOptions {
  /** Each fetch's time limit, ms. */
  readonly timeoutMs?: number;
  /** After a failed discovery, how long deliveries are answered 503 at once before trying again, ms. */
  readonly retryAfterFailureMs?: number;
  /** Least time between two fetches made because a token named an unknown key id, ms. */
  readonly unknownKeyCooldownMs?: number;
}

/** How long a fetched key set is trusted before it is fetched again (the Bot Framework rotates keys over days). */
const KEY_SET_MAX_AGE_MS = 24 * 3600_000;

type RemoteKeySet = ReturnType<typeof createRemoteJWKSet>;

/** JWKS error codes that are the token's fault (its key id), not the endpoint's. */
const TOKEN_KEY_ERRORS = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS']);

export function teamsKeySource(openIdUrl: URL, options: KeySourceOptions = {}): TeamsKeySource {
  const timeoutMs = options.timeoutMs ?? 5000;
  const retryAfterFailureMs = options.retryAfterFailureMs ?? 5000;
  let remote: RemoteKeySet | undefined;
  let discovering: Promise<RemoteKeySet> | undefined;
  let failedAt = -Infinity;
  let failure = '';
  // An operator must hear that Teams deliveries are being refused, but once a minute is enough.
  const report = throttled(logError, 60_000);
  const unavailable = (why: string): SigningKeysUnavailable => {
    report(`Teams signing keys unavailable (${why}): Teams deliveries are answered 503 until they can be fetched`);
    return new SigningKeysUnavailable(why);
  };

  async function discover(): Promise<RemoteKeySet> {
    const res = await fetch(openIdUrl, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    if (res.status !== 200) throw new Error(`${openIdUrl.href} answered ${res.status}`);
    const doc: unknown = await res.json();
    const jwksUri: unknown = typeof doc === 'object' && doc !== null ? Reflect.get(doc, 'jwks_uri') : undefined;
    if (typeof jwksUri !== 'string' || !/^https?:\/\//i.test(jwksUri)) throw new Error(`${openIdUrl.href} names no http(s) jwks_uri`);
    return createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: timeoutMs,
      cooldownDuration: options.unknownKeyCooldownMs ?? 60_000,
      cacheMaxAge: KEY_SET_MAX_AGE_MS,
    });
  }

  /** The remote key set, discovering it on first use; concurrent deliveries share one discovery. */
  async function keySet(): Promise<RemoteKeySet> {
    if (remote !== undefined) return remote;
    if (Date.now() - failedAt < retryAfterFailureMs) throw new SigningKeysUnavailable(failure);
    discovering ??= discover()
      .then((found) => (remote = found))
      .catch((err: unknown) => {
        failedAt = Date.now();
        failure = `OpenID configuration: ${messageOf(err)}`;
        throw unavailable(failure);
      })
      .finally(() => (discovering = undefined));
    return discovering;
  }

  return {
    async key(header, token) {
      const set = await keySet();
      try {
        return await set(header, token);
      } catch (err) {
        const code: unknown = typeof err === 'object' && err !== null ? Reflect.get(err, 'code') : undefined;
        if (typeof code === 'string' && TOKEN_KEY_ERRORS.has(code)) throw err;
        throw unavailable(`key set: ${messageOf(err)}`);
      }
    },
    endorsements(kid) {
      const keys: JWK[] = remote?.jwks()?.keys ?? [];
      const key = keys.find((k) => k.kid === kid);
      const endorsements: unknown = key === undefined ? undefined : Reflect.get(key, 'endorsements');
      return Array.isArray(endorsements) ? endorsements.filter((e): e is string => typeof e === 'string') : undefined;
    },
  };
}

/** What the Teams scheme verifies with: the bot's app id, and where the signing keys come from. */
export interface TeamsKeys {
  /** The bot's app id: the tokens' audience. */
  readonly appId: string;
  readonly source: TeamsKeySource;
}
