/**
 * Reads the values at a few dotted paths of a JSON body without building the document: one
 * pass over the bytes that validates the whole text exactly as JSON.parse does and remembers
 * only where the wanted values lie. JSON.parse of a ~1.2 KB webhook builds every object and
 * string in it; this allocates nothing but the values asked for.
 *
 * Same answers as `JSON.parse(body.toString('utf8'))` followed by an own-property walk (the
 * property tests hold it to that): the last of duplicate names wins, also for the objects on
 * the way; `__proto__` is a name like any other; escapes in names and values are decoded.
 * Only strings and numbers are reported (what a key can be); objects, arrays, booleans and
 * null read as undefined. A path that runs into an array is not handled here (JSON.parse would
 * index it): the caller is told to fall back.
 */

/** A compiled set of paths: a trie of their segments. */
export interface PathSet {
  readonly root: PathNode;
  readonly count: number;
}

interface PathNode {
  /** Children by segment, with the segment's UTF-8 bytes for comparison in place. */
  readonly children: { readonly segment: string; readonly bytes: Buffer; readonly node: PathNode }[];
  /** The paths (by index) that end at this node. */
  readonly ends: number[];
  /** The paths (by index) that end here or below: forgotten when this name appears again. */
  readonly below: number[];
}

/** The body is not valid JSON. */
export const NOT_JSON = Symbol('not-json');
/** A path leads into an array: use JSON.parse for this body. */
export const UNSUPPORTED = Symbol('unsupported');

export function compilePaths(paths: readonly (readonly string[])[]): PathSet {
  const newNode = (): PathNode => ({ children: [], ends: [], below: [] });
  const root = newNode();
  paths.forEach((path, index) => {
    let node = root;
    for (const segment of path) {
      let child = node.children.find((c) => c.segment === segment);
      if (child === undefined) node.children.push((child = { segment, bytes: Buffer.from(segment, 'utf8'), node: newNode() }));
      child.node.below.push(index);
      node = child.node;
    }
    node.ends.push(index);
  });
  return { root, count: paths.length };
}

// Where a wanted value lies: kind, and its bytes (a string's without the quotes).
const NONE = 0;
const STRING = 1;
const NUMBER = 2;

// Flags of the last string scanned.
const ESCAPED = 1;
const NON_ASCII = 2;

/**
 * The value at each path (string, number, or undefined for anything else or nothing), in the
 * order the paths were compiled; NOT_JSON or UNSUPPORTED as above.
 */
export function valuesAt(body: Buffer, paths: PathSet): (string | number | undefined)[] | typeof NOT_JSON | typeof UNSUPPORTED {
  const kind = new Uint8Array(paths.count);
  const start = new Int32Array(paths.count);
  const end = new Int32Array(paths.count);
  const flagsOf = new Uint8Array(paths.count);

  const len = body.length;
  // One entry per open object or array: its node in the path trie (null: nothing wanted
  // inside), and whether it is an array.
  const nodes: (PathNode | null)[] = [];
  const arrays: boolean[] = [];
  let flags = 0; // of the last string scanned

  /** Index after the string whose opening quote is at `i`, or -1. Sets `flags`. */
  const scanString = (i: number): number => {
    flags = 0;
    for (i++; i < len; i++) {
      const c = body[i]!;
      if (c === 0x22) return i + 1;
      if (c === 0x5c) {
        flags |= ESCAPED;
        const e = body[++i];
        if (e === 0x75) {
          if (!isHex(body[i + 1]) || !isHex(body[i + 2]) || !isHex(body[i + 3]) || !isHex(body[i + 4])) return -1;
          i += 4;
        } else if (e !== 0x22 && e !== 0x5c && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return -1;
      } else if (c < 0x20) return -1;
      else if (c >= 0x80) flags |= NON_ASCII;
    }
    return -1;
  };

  /** Index after the number starting at `i`, or -1 (RFC 8259 §6). */
  const scanNumber = (i: number): number => {
    if (body[i] === 0x2d) i++;
    if (body[i] === 0x30) i++;
    else if (isDigit19(body[i])) while (isDigit(body[++i]));
    else return -1;
    if (body[i] === 0x2e) {
      if (!isDigit(body[++i])) return -1;
      while (isDigit(body[++i]));
    }
    if (body[i] === 0x65 || body[i] === 0x45) {
      i++;
      if (body[i] === 0x2b || body[i] === 0x2d) i++;
      if (!isDigit(body[i])) return -1;
      while (isDigit(body[++i]));
    }
    return i;
  };

  const remember = (node: PathNode, what: number, from: number, to: number): void => {
    for (const p of node.ends) {
      kind[p] = what;
      start[p] = from;
      end[p] = to;
      flagsOf[p] = flags;
    }
  };

  // The trie node of the value about to be read (null: not wanted).
  let target: PathNode | null = paths.root;

  /**
   * Reads `"name":` at i in the innermost open object and points `target` at what that name
   * holds; returns where its value starts, or -1.
   */
  const member = (i: number): number => {
    if (body[i] !== 0x22) return -1;
    const nameEnd = scanString(i);
    if (nameEnd === -1) return -1;
    const parent = nodes[nodes.length - 1]!;
    target = parent === null ? null : childNamed(body, parent, i + 1, nameEnd - 1, flags);
    // A name seen again replaces its whole value: what was found under it before is gone.
    if (target !== null) for (const p of target.below) kind[p] = NONE;
    i = skipSpace(body, nameEnd);
    if (body[i] !== 0x3a) return -1;
    return skipSpace(body, i + 1);
  };

  let i = skipSpace(body, 0);
  for (;;) {
    // ---- one value at i ----
    const c = body[i];
    if (c === 0x7b) {
      i = skipSpace(body, i + 1);
      if (body[i] === 0x7d) i++;
      else {
        nodes.push(target !== null && target.children.length > 0 ? target : null);
        arrays.push(false);
        i = member(i);
        if (i === -1) return NOT_JSON;
        continue;
      }
    } else if (c === 0x5b) {
      if (target !== null && target.children.length > 0) return UNSUPPORTED;
      i = skipSpace(body, i + 1);
      if (body[i] === 0x5d) i++;
      else {
        nodes.push(null);
        arrays.push(true);
        target = null;
        continue;
      }
    } else if (c === 0x22) {
      const next = scanString(i);
      if (next === -1) return NOT_JSON;
      if (target !== null) remember(target, STRING, i + 1, next - 1);
      i = next;
    } else if (c === 0x2d || isDigit(c)) {
      const next = scanNumber(i);
      if (next === -1) return NOT_JSON;
      if (target !== null) remember(target, NUMBER, i, next);
      i = next;
    } else if (c === 0x74 && body[i + 1] === 0x72 && body[i + 2] === 0x75 && body[i + 3] === 0x65) i += 4;
    else if (c === 0x66 && body[i + 1] === 0x61 && body[i + 2] === 0x6c && body[i + 3] === 0x73 && body[i + 4] === 0x65) i += 5;
    else if (c === 0x6e && body[i + 1] === 0x75 && body[i + 2] === 0x6c && body[i + 3] === 0x6c) i += 4;
    else return NOT_JSON;

    // ---- after a value: close containers, or find where the next value starts ----
    for (;;) {
      i = skipSpace(body, i);
      if (nodes.length === 0) return i === len ? decode(body, kind, start, end, flagsOf) : NOT_JSON;
      const inArray = arrays[arrays.length - 1]!;
      const d = body[i];
      if (d === (inArray ? 0x5d : 0x7d)) {
        nodes.pop();
        arrays.pop();
        i++;
        continue;
      }
      if (d !== 0x2c) return NOT_JSON;
      i = skipSpace(body, i + 1);
      if (inArray) {
        target = null;
        break;
      }
      i = member(i);
      if (i === -1) return NOT_JSON;
      break;
    }
  }
}

/** The child of `node` whose segment is the name in body[from, to), or null. */
function childNamed(body: Buffer, node: PathNode, from: number, to: number, flags: number): PathNode | null {
  if (flags === 0) {
    // Plain ASCII without escapes: compare the bytes in place.
    for (const child of node.children) {
      if (child.bytes.length === to - from && body.compare(child.bytes, 0, child.bytes.length, from, to) === 0) return child.node;
    }
    return null;
  }
  const name = decodeString(body, from, to, flags);
  for (const child of node.children) if (child.segment === name) return child.node;
  return null;
}

/** The string in body[from, to) (between its quotes, already validated) as JSON.parse reads it. */
function decodeString(body: Buffer, from: number, to: number, flags: number): string {
  if (flags & ESCAPED) return JSON.parse(body.toString('utf8', from - 1, to + 1)) as string;
  return body.toString(flags & NON_ASCII ? 'utf8' : 'latin1', from, to);
}

function decode(body: Buffer, kind: Uint8Array, start: Int32Array, end: Int32Array, flags: Uint8Array): (string | number | undefined)[] {
  const values: (string | number | undefined)[] = [];
  for (let p = 0; p < kind.length; p++) {
    if (kind[p] === STRING) values.push(decodeString(body, start[p]!, end[p]!, flags[p]!));
    else if (kind[p] === NUMBER) values.push(Number(body.toString('latin1', start[p]!, end[p]!)));
    else values.push(undefined);
  }
  return values;
}

/** JSON whitespace: space, tab, line feed, carriage return. */
function skipSpace(body: Buffer, i: number): number {
  for (;;) {
    const c = body[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;
const isDigit19 = (c: number | undefined): boolean => c !== undefined && c >= 0x31 && c <= 0x39;
const isHex = (c: number | undefined): boolean =>
  c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
