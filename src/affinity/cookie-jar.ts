/**
 * The cookies learned for one key: parsing the upstream's Set-Cookie, the stored text form,
 * and the Cookie header they are replayed in.
 */
import { parseSetCookie } from 'set-cookie-parser';

export interface LearnedCookie {
  readonly name: string;
  /** The value exactly as the load balancer sent it (never URL-decoded). */
  readonly value: string;
  /** Epoch milliseconds after which it is no longer replayed. */
  readonly expiresAt: number;
}

export type CookieJar = readonly LearnedCookie[];

/** A hostile upstream cannot grow one key's entry without bound. */
export const MAX_COOKIES_PER_KEY = 32;
/** RFC 6265 §6.1: user agents keep at least 4096 bytes per cookie; we keep no more. */
const MAX_COOKIE_BYTES = 4096;
/**
 * A cookie set again with the same value only extends its expiry; that is written back at most
 * once per this interval, so a constant cookie (SERVERID) does not cost a store write per webhook.
 */
export const EXPIRY_REFRESH_MS = 60_000;

// RFC 6265 §4.1.1: cookie-name is a token; cookie-value is cookie-octets, optionally quoted.
// Anything else could not be replayed safely in a Cookie header (`;` would add a pair,
// CR/LF would split the header), so it is not learned.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const COOKIE_VALUE = /^(?:"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*"|[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*)$/;

export interface LearnOptions {
  /** Whether a cookie of this name is an affinity cookie. */
  readonly accepts: (name: string) => boolean;
  readonly now: number;
  /** Longest a cookie is kept, whatever its own Max-Age or Expires says. */
  readonly ttlMs: number;
}

/**
 * Applies the upstream's Set-Cookie headers to `jar`: a new value replaces the old, Max-Age=0,
 * a past Expires or an empty value forgets it. Returns undefined when nothing changed.
 */
export function applySetCookies(jar: CookieJar, setCookies: string[], options: LearnOptions): CookieJar | undefined {
  // Only the affinity cookies are parsed: most responses set none, or only others.
  const relevant = setCookies.filter((header) => {
    const eq = header.indexOf('=');
    return eq > 0 && options.accepts(header.slice(0, eq).trim());
  });
  if (relevant.length === 0) return undefined;
  let next: LearnedCookie[] | undefined;
  for (const cookie of parseSetCookie(relevant, { decodeValues: false, silent: true })) {
    const { name, value } = cookie;
    if (!options.accepts(name) || !COOKIE_NAME.test(name)) continue;
    if (name.length + value.length > MAX_COOKIE_BYTES || !COOKIE_VALUE.test(value)) continue;
    const expiresAt = expiryOf(cookie, options);
    next ??= jar.filter((c) => c.expiresAt > options.now);
    const at = next.findIndex((c) => c.name === name);
    if (at !== -1) next.splice(at, 1);
    if (expiresAt > options.now && value !== '') next.push({ name, value, expiresAt });
  }
  if (next === undefined || onlyRefreshed(jar, next, options.now)) return undefined;
  return next.length > MAX_COOKIES_PER_KEY ? next.slice(-MAX_COOKIES_PER_KEY) : next;
}

/** True when `next` holds the same cookies as `jar` with expiries moved by less than EXPIRY_REFRESH_MS. */
function onlyRefreshed(jar: CookieJar, next: CookieJar, now: number): boolean {
  const live = jar.filter((c) => c.expiresAt > now);
  if (live.length !== next.length) return false;
  return next.every((c) => {
    const old = live.find((o) => o.name === c.name);
    return old !== undefined && old.value === c.value && Math.abs(c.expiresAt - old.expiresAt) < EXPIRY_REFRESH_MS;
  });
}

/** RFC 6265 §5.3: Max-Age wins over Expires; both are capped by our own TTL. */
function expiryOf(cookie: { maxAge?: number; expires?: Date }, options: LearnOptions): number {
  const ceiling = options.now + options.ttlMs;
  if (cookie.maxAge !== undefined && Number.isFinite(cookie.maxAge)) {
    return Math.min(ceiling, options.now + cookie.maxAge * 1000);
  }
  const expires = cookie.expires?.getTime();
  if (expires !== undefined && Number.isFinite(expires)) return Math.min(ceiling, expires);
  return ceiling;
}

/** The latest expiry in the jar: how long the store must keep it. */
export function jarExpiry(jar: CookieJar): number {
  let latest = 0;
  for (const c of jar) if (c.expiresAt > latest) latest = c.expiresAt;
  return latest;
}

/**
 * Stored form: one `expiresAt name=value` line per cookie, the expiry in base 36 (8 characters
 * rather than 13: this is held once per remembered actor). Names and values hold no space or
 * newline.
 */
export function encodeJar(jar: CookieJar): string {
  return jar.map((c) => `${c.expiresAt.toString(36)} ${c.name}=${c.value}`).join('\n');
}

/** Reads the stored form back, dropping expired or malformed lines. */
export function decodeJar(text: string | undefined, now: number): CookieJar {
  if (text === undefined || text === '') return [];
  const jar: LearnedCookie[] = [];
  for (const line of text.split('\n')) {
    const space = line.indexOf(' ');
    const eq = line.indexOf('=', space + 1);
    if (space <= 0 || eq <= space + 1) continue;
    const expiresAt = parseInt(line.slice(0, space), 36);
    if (!(expiresAt > now)) continue;
    jar.push({ name: line.slice(space + 1, eq), value: line.slice(eq + 1), expiresAt });
  }
  return jar;
}

/**
 * The Cookie header to send: the inbound pairs the caller may keep (`keep` decides by name),
 * then the jar's. Ours come last and replace any inbound pair of the same name.
 */
export function cookieHeader(inbound: string | undefined, jar: CookieJar, keep: (name: string) => boolean): string | undefined {
  const pairs: string[] = [];
  if (inbound !== undefined) {
    for (const pair of inbound.split(';')) {
      const trimmed = pair.trim();
      if (trimmed === '') continue;
      const eq = trimmed.indexOf('=');
      const name = (eq === -1 ? trimmed : trimmed.slice(0, eq)).trim();
      if (keep(name) && !jar.some((c) => c.name === name)) pairs.push(trimmed);
    }
  }
  for (const c of jar) pairs.push(`${c.name}=${c.value}`);
  return pairs.length === 0 ? undefined : pairs.join('; ');
}
