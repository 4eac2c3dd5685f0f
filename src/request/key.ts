/**
 * The affinity key, taken from a webhook's JSON body by configured dotted paths.
 */
import { parseBody } from '../core/json';
import type { RequestOutcome } from '../observe/outcomes';
import { scanKey } from './key-scan';

/** Why a body gave no key: a subset of the request outcomes, reported as they are. */
export type NoKeyOutcome = Extract<RequestOutcome, 'not-json' | 'no-key' | 'invalid-key' | 'bot'>;

/** A usable key, or why there is none. */
export type KeyResult = { readonly found: true; readonly key: string } | { readonly found: false; readonly outcome: NoKeyOutcome };

export interface KeyRules {
  readonly keyPaths: readonly (readonly string[])[];
  readonly keyMaxLength: number;
  readonly botPersonIds: ReadonlySet<string>;
}

// Printable ASCII, no leading or trailing space: the key must survive as an HTTP header value
// unchanged (RFC 9110 §5.5 strips surrounding whitespace; CR/LF would split the header).
const VALID_KEY = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

const NOT_JSON: KeyResult = { found: false, outcome: 'not-json' };
const NO_KEY: KeyResult = { found: false, outcome: 'no-key' };
const INVALID_KEY: KeyResult = { found: false, outcome: 'invalid-key' };
const BOT: KeyResult = { found: false, outcome: 'bot' };

/** From this size on, the key is looked for by the scanner first (key-scan.ts); below it JSON.parse costs less than a second pass would. */
const SCAN_FROM_BYTES = 16 * 1024;

/** Parses the body (or, when it is large, scans it up to the key) and applies the key rules. Never throws. */
export function keyFromBody(body: Buffer, rules: KeyRules): KeyResult {
  const [first] = rules.keyPaths;
  if (body.length >= SCAN_FROM_BYTES && first !== undefined) {
    const scanned = scanKey(body, first);
    // Decided: what JSON.parse would have found at the first path, a key to judge.
    if (scanned !== undefined) return firstKey(rules, (path) => (path === first ? scanned : undefined));
  }
  // The one parse of this body: the platform's steps read their facts from it too.
  const parsed = parseBody(body);
  return parsed.json ? keyFromDocument(parsed.doc, rules) : NOT_JSON;
}

/** The key rules applied to a parsed document (the reference the scanner is tested against). */
export function keyFromDocument(doc: unknown, rules: KeyRules): KeyResult {
  return firstKey(rules, (path) => valueAt(doc, path));
}

/**
 * The key of a form-encoded body (Slack's slash commands and interactivity): a path's first
 * segment names a form field (`user_id`); a `payload` field holding JSON is a document the paths
 * are followed in (`user.id` finds an interactivity payload's user). Never throws.
 */
export function keyFromForm(body: Buffer, rules: KeyRules): KeyResult {
  const form = new URLSearchParams(body.toString('utf8'));
  const payloadText = form.get('payload');
  const payload = payloadText === null ? undefined : parseOrUndefined(payloadText);
  return firstKey(rules, (path) => {
    const [field] = path;
    const raw = field === undefined ? null : form.get(field);
    if (raw !== null && path.length === 1) return raw;
    return valueAt(payload, path);
  });
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The first usable value at the key paths, judged by the key rules. */
function firstKey(rules: KeyRules, valueAt: (path: readonly string[]) => unknown): KeyResult {
  for (const path of rules.keyPaths) {
    const value = valueAt(path);
    let key: string | undefined;
    if (typeof value === 'string' && value !== '') key = value;
    else if (typeof value === 'number' && Number.isFinite(value)) key = String(value);
    if (key === undefined) continue;
    if (key.length > rules.keyMaxLength || !VALID_KEY.test(key)) return INVALID_KEY;
    if (rules.botPersonIds.has(key)) return BOT;
    return { found: true, key };
  }
  return NO_KEY;
}

/**
 * Follows `path` through own properties only: `__proto__`, `constructor` and `prototype` are
 * plain names here, never a way onto Object.prototype.
 */
function valueAt(doc: unknown, path: readonly string[]): unknown {
  let current = doc;
  for (const segment of path) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) return undefined;
    current = Reflect.get(current, segment);
  }
  return current;
}
