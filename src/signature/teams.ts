/**
 * Microsoft Teams (Bot Framework): `Authorization: Bearer <JWT>`, RS256, signed with a key from
 * the Bot Connector's OpenID configuration; issuer https://api.botframework.com, audience the
 * bot's app id (TEAMS_APP_ID), exp/nbf with 5 minutes of clock skew, and the `serviceurl` claim
 * equal to the activity's serviceUrl (learn.microsoft.com, "Authenticate requests from the Bot
 * Connector service to your bot"). jose checks the token; this file maps its errors to reasons.
 */
import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { jsonObject } from '../core/json';
import { ACCEPTED, rejected, type RejectionReason, type SignatureScheme, type Verdict } from './scheme';
import { SigningKeysUnavailable, type TeamsKeys } from './teams-keys';
import { single } from './timestamped-hmac';

const TEAMS_ISSUER = 'https://api.botframework.com';
/** The clock skew the Bot Framework allows its tokens, seconds. */
const CLOCK_SKEW_S = 300;

export const teams: SignatureScheme = {
  headers: ['Authorization'],
  timestamped: false,
  needs: 'app-id',
  verify({ headers, body, now }, { teams: keys }) {
    const authorization = single(headers, 'authorization');
    if (authorization === undefined) return rejected('missing');
    const token = /^Bearer +([\w-]+\.[\w-]+\.[\w-]*)$/i.exec(authorization)?.[1];
    if (token === undefined) return rejected('malformed');
    if (keys === undefined) return rejected('mismatch');
    return verifyToken(token, body, now, keys);
  },
};

async function verifyToken(token: string, body: Buffer, now: number, { appId, source }: TeamsKeys): Promise<Verdict> {
  let payload: JWTPayload;
  let kid: string | undefined;
  try {
    ({
      payload,
      protectedHeader: { kid },
    } = await jwtVerify(token, source.key, {
      algorithms: ['RS256'],
      issuer: TEAMS_ISSUER,
      audience: appId,
      requiredClaims: ['exp'],
      clockTolerance: CLOCK_SKEW_S,
      currentDate: new Date(now),
    }));
  } catch (err) {
    return rejected(reasonOf(err));
  }
  // The token was issued for the Bot Connector region the activity says it came from, and with a
  // key endorsed for the activity's channel: a token lifted from one delivery cannot carry another.
  const activity = jsonObject(body);
  const serviceUrl: unknown = activity === undefined ? undefined : Reflect.get(activity, 'serviceUrl');
  const channelId: unknown = activity === undefined ? undefined : Reflect.get(activity, 'channelId');
  if (typeof serviceUrl === 'string' && payload.serviceurl !== serviceUrl) return rejected('wrong-service-url');
  const endorsements = source.endorsements(kid);
  if (typeof channelId === 'string' && endorsements !== undefined && !endorsements.includes(channelId)) return rejected('not-endorsed');
  return ACCEPTED;
}

/** What a failed jose verification means for the sender. */
function reasonOf(err: unknown): RejectionReason {
  if (err instanceof SigningKeysUnavailable) return 'unavailable';
  if (err instanceof joseErrors.JWTExpired) return 'expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return CLAIM_REASONS.get(err.claim) ?? 'malformed';
  if (err instanceof joseErrors.JOSEAlgNotAllowed || err instanceof joseErrors.JOSENotSupported) return 'wrong-algorithm';
  if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys) return 'unknown-key';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'mismatch';
  // JWSInvalid, JWTInvalid and anything unforeseen: refused, never let through.
  return 'malformed';
}

const CLAIM_REASONS: ReadonlyMap<string, RejectionReason> = new Map([
  ['nbf', 'not-yet-valid'],
  ['iss', 'wrong-issuer'],
  ['aud', 'wrong-audience'],
]);
