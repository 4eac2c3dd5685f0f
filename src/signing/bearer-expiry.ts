/**
 * A delivery signed with a token that expires (Teams: a JWT in Authorization, valid about an
 * hour) cannot be signed again by us: when the bot refuses it late, the dead letter says why.
 */

/** When `authorization`'s bearer JWT expired, if it has by `nowMs` (epoch ms); else undefined. */
export function bearerExpiredAt(authorization: string | undefined, nowMs: number): number | undefined {
  const token = /^Bearer\s+([\w-]+)\.([\w-]+)\.[\w-]*$/i.exec(authorization ?? '');
  if (token === null) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(token[2]!, 'base64url').toString('utf8'));
    const exp = typeof claims === 'object' && claims !== null ? Reflect.get(claims, 'exp') : undefined;
    return typeof exp === 'number' && exp * 1000 <= nowMs ? exp * 1000 : undefined;
  } catch {
    // Not a JWT we can read: nothing to say about it.
    return undefined;
  }
}
