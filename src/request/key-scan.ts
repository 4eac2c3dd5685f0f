/**
 * The affinity key of a large JSON body, read without decoding and parsing all of it: a scanner
 * walks the bytes from the start to the first key path's value, which platforms put in the first
 * few hundred bytes, and stops there.
 *
 * It decides only when it can prove JSON.parse would give the same value: the value is a
 * non-empty string or a number (what the key rules take at once), every name on the way was
 * written without escapes, and no name of the path appears again anywhere after the value (so
 * no later duplicate member could replace it: JSON.parse keeps the last). Anything else — an
 * escape in a name, an array on the way, the path's object closing without it, SCAN_LIMIT
 * bytes read, a byte it does not expect — is "cannot decide", and JSON.parse decides.
 *
 * What it does not prove: that the body is valid JSON after the key (it is not read). A large
 * body that breaks after its key keeps its affinity; the bot judges the body, which is forwarded
 * byte for byte either way.
 */

/** How far the scanner reads before leaving the body to JSON.parse. */
const SCAN_LIMIT = 16 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** What the scanner decided: the value at the path, or undefined (JSON.parse decides). */
export function scanKey(body: Buffer, path: readonly string[]): string | number | undefined {
  if (path.length === 0) return undefined;
  const limit = Math.min(body.length, SCAN_LIMIT);
  let i = skipSpace(body, 0, limit);
  if (body[i] !== OPEN_OBJECT) return undefined;
  i++;
  // `depth`: the path's segments matched by the objects we are in (all of them on the path).
  let depth = 0;
  for (;;) {
    i = skipSpace(body, i, limit);
    if (body[i] !== QUOTE) return undefined; // an empty object, or not a member: the path's object ends here
    const nameEnd = stringEnd(body, i, limit);
    if (nameEnd < 0 || hasBackslash(body, i, nameEnd)) return undefined;
    const onPath = body.toString('latin1', i + 1, nameEnd) === path[depth] && isAscii(body, i + 1, nameEnd);
    i = skipSpace(body, nameEnd + 1, limit);
    if (body[i] !== COLON) return undefined;
    i = skipSpace(body, i + 1, limit);
    if (onPath && depth === path.length - 1) return valueIfUnique(body, i, limit, path);
    if (onPath) {
      if (body[i] !== OPEN_OBJECT) return undefined;
      depth++;
      i++;
      continue;
    }
    i = skipValue(body, i, limit);
    if (i < 0) return undefined;
    i = skipSpace(body, i, limit);
    if (body[i] !== COMMA) return undefined; // the object closes (or breaks) without the path
    i++;
  }
}

/** The value at `i` when it is a key the rules take and no name of `path` appears after it. */
function valueIfUnique(body: Buffer, i: number, limit: number, path: readonly string[]): string | number | undefined {
  let value: string | number;
  let end: number;
  if (body[i] === QUOTE) {
    end = stringEnd(body, i, limit);
    if (end < 0 || end === i + 1) return undefined;
    // Escapes and non-ASCII decoded exactly as JSON.parse does, on these few bytes only.
    value = hasBackslash(body, i, end) || !isAscii(body, i + 1, end) ? (JSON.parse(body.toString('utf8', i, end + 1)) as string) : body.toString('latin1', i + 1, end);
    end++;
  } else {
    end = numberEnd(body, i, limit);
    if (end < 0) return undefined;
    value = Number(body.toString('latin1', i, end));
    if (!Number.isFinite(value)) return undefined;
  }
  // A later member of the same name (at any level of the path) would win in JSON.parse, and an
  // escaped spelling of a name cannot be ruled out by bytes: either one, and JSON.parse decides.
  if (body.indexOf('\\u', end) !== -1) return undefined;
  for (const segment of path) if (body.indexOf(`"${segment}"`, end) !== -1) return undefined;
  return value;
}

function skipSpace(body: Buffer, i: number, limit: number): number {
  while (i < limit) {
    const c = body[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** The index of the quote that closes the string opening at `i`; -1 past the limit or on a control character. */
function stringEnd(body: Buffer, i: number, limit: number): number {
  for (let j = i + 1; j < limit; j++) {
    const c = body[j]!;
    if (c === QUOTE) return j;
    if (c === BACKSLASH) j++;
    else if (c < 0x20) return -1;
  }
  return -1;
}

/** Where the number at `i` ends (JSON's grammar: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?); -1 if it is not one. */
function numberEnd(body: Buffer, i: number, limit: number): number {
  const digits = (from: number) => {
    let j = from;
    while (j < limit && body[j]! >= 0x30 && body[j]! <= 0x39) j++;
    return j;
  };
  let j = i;
  if (body[j] === 0x2d) j++;
  if (body[j] === 0x30) j++;
  else {
    const end = digits(j);
    if (end === j || body[j] === 0x30) return -1;
    j = end;
  }
  if (body[j] === 0x2e) {
    const end = digits(j + 1);
    if (end === j + 1) return -1;
    j = end;
  }
  if (body[j] === 0x65 || body[j] === 0x45) {
    let k = j + 1;
    if (body[k] === 0x2b || body[k] === 0x2d) k++;
    const end = digits(k);
    if (end === k) return -1;
    j = end;
  }
  // A number is known to end only at a byte that can follow it (within what was read).
  return j < limit ? j : -1;
}

const LITERALS = [Buffer.from('true'), Buffer.from('false'), Buffer.from('null')];

/** Where the value at `i` ends; -1 if it is not a value the scanner can step over within the limit. */
function skipValue(body: Buffer, i: number, limit: number): number {
  const c = body[i];
  if (c === QUOTE) {
    const end = stringEnd(body, i, limit);
    return end < 0 ? -1 : end + 1;
  }
  if (c === OPEN_OBJECT || c === OPEN_ARRAY) return containerEnd(body, i, limit);
  for (const literal of LITERALS) {
    const end = i + literal.length;
    if (end < limit && body.compare(literal, 0, literal.length, i, end) === 0) return end;
  }
  return numberEnd(body, i, limit);
}

/** Where the object or array at `i` ends, its strings stepped over; its other tokens are not checked. */
function containerEnd(body: Buffer, i: number, limit: number): number {
  let nesting = 0;
  for (let j = i; j < limit; j++) {
    const c = body[j]!;
    if (c === QUOTE) {
      j = stringEnd(body, j, limit);
      if (j < 0) return -1;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) nesting++;
    else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      nesting--;
      if (nesting === 0) return j + 1;
    } else if (c >= 0x80) return -1;
  }
  return -1;
}

/** Whether a backslash lies in [from, to): a short range (a name, a key), so a loop, not indexOf (which would search to the end). */
function hasBackslash(body: Buffer, from: number, to: number): boolean {
  for (let j = from; j < to; j++) if (body[j] === BACKSLASH) return true;
  return false;
}

function isAscii(body: Buffer, from: number, to: number): boolean {
  for (let j = from; j < to; j++) if (body[j]! >= 0x80) return false;
  return true;
}
