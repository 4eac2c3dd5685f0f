/**
 * Rendezvous (highest random weight) hashing: each upstream scores every key, the highest score
 * wins. The order depends only on the key and the upstreams' identities, never on their order
 * in UPSTREAMS or on the process, so replicas agree without talking, and removing an upstream
 * moves only its own keys (each to its next choice).
 */

/**
 * MurmurHash3 x86 32-bit (Austin Appleby, public domain) over the string's Latin-1 bytes (the
 * low byte of each UTF-16 code unit). Keys are printable ASCII (see request/key.ts), so that is
 * each character. Fast, tiny and well distributed; not cryptographic, which rendezvous hashing
 * does not need.
 */
export function murmur3(text: string, seed: number): number {
  return murmur3Bytes(Buffer.from(text, 'latin1'), seed);
}

/**
 * The same over bytes: keys are hashed as bytes, encoded once per request, because charCodeAt on
 * a key sliced from JSON.parse's string is slow (docs/performance.md). The `!` below are reads
 * within the bounds the loop has just checked.
 */
function murmur3Bytes(bytes: Uint8Array, seed: number): number {
  let h = seed >>> 0;
  const length = bytes.length;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = length & 3;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= bytes[blocks + 2]! << 16;
    if (rest >= 2) k ^= bytes[blocks + 1]! << 8;
    k ^= bytes[blocks]!;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export interface Scored {
  /** The upstream's normalised URL, as metrics and logs show it (a password masked). */
  readonly id: string;
  /** murmur3 of its URL as written, computed once: the seed of this upstream's scores. */
  readonly seed: number;
}

/** Every upstream in the key's rendezvous order: first choice first. Ties break on id. */
export function rendezvousOrder<T extends Scored>(key: string, upstreams: readonly T[]): T[] {
  // Insertion sort: pools are a handful of instances, and this runs for every keyed webhook.
  const order: T[] = [];
  const scores: number[] = [];
  const bytes = Buffer.from(key, 'latin1');
  for (const u of upstreams) {
    const score = murmur3Bytes(bytes, u.seed);
    let at = order.length;
    while (at > 0 && (scores[at - 1]! < score || (scores[at - 1] === score && order[at - 1]!.id > u.id))) at--;
    order.splice(at, 0, u);
    scores.splice(at, 0, score);
  }
  return order;
}
