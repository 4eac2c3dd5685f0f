/**
 * The affinity key, taken from a webhook's JSON body by configured dotted paths.
 */

/** Why a request has, or has not, got a key: a closed set, reported in logs and metrics. */
export type KeyOutcome =
  | 'key' // a usable key was found
  | 'not-json' // the body is not valid JSON
  | 'no-key' // no configured path holds a string or number
  | 'invalid-key' // the value holds control characters, non-ASCII, or is too long
  | 'bot'; // the key is one of BOT_PERSONID

export interface KeyResult {
  readonly outcome: KeyOutcome;
  readonly key?: string;
}

export interface KeyRules {
  readonly keyPaths: readonly (readonly string[])[];
  readonly keyMaxLength: number;
  readonly botPersonIds: ReadonlySet<string>;
}

// Printable ASCII, no leading or trailing space: the key must survive as an HTTP header value
// unchanged (RFC 9110 §5.5 strips surrounding whitespace; CR/LF would split the header).
const VALID_KEY = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/** Parses the body and applies the key rules. Never throws. */
export function keyFromBody(body: Buffer, rules: KeyRules): KeyResult {
  let doc: unknown;
  try {
    // Duplicate names: JSON.parse keeps the last one, so the last `actorId` wins.
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return { outcome: 'not-json' };
  }
  for (const path of rules.keyPaths) {
    const value = valueAt(doc, path);
    let key: string | undefined;
    if (typeof value === 'string' && value !== '') key = value;
    else if (typeof value === 'number' && Number.isFinite(value)) key = String(value);
    if (key === undefined) continue;
    if (key.length > rules.keyMaxLength || !VALID_KEY.test(key)) return { outcome: 'invalid-key' };
    if (rules.botPersonIds.has(key)) return { outcome: 'bot' };
    return { outcome: 'key', key };
  }
  return { outcome: 'no-key' };
}

/**
 * Follows `path` through own properties only: `__proto__`, `constructor` and `prototype` are
 * plain names here, never a way onto Object.prototype.
 */
function valueAt(doc: unknown, path: readonly string[]): unknown {
  let current = doc;
  for (const segment of path) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
