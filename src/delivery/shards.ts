/**
 * The Redis spool's shards: a mailbox belongs to one of SPOOL_SHARDS shards by a hash of its
 * name, and every Redis key of a shard carries the shard's hash tag, so a shard's keys share one
 * cluster slot (its scripts can run) and different shards spread over a cluster's primaries.
 *
 * Each shard's tag is chosen so that its slot falls in the shard's own 1/N of the slot space
 * (shard 0 in the first sixteenth of 0..16383, ...): a cluster whose primaries split the slots
 * evenly gets an even share of shards, rather than whatever N random slots would give.
 */

const SLOTS = 16384;

/** CRC16/XMODEM, the function Redis Cluster maps a key (or its {tag}) onto a slot with. */
function crc16(text: string): number {
  let crc = 0;
  for (const byte of Buffer.from(text)) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The cluster slot of a hash tag's content. */
export function slotOf(tag: string): number {
  return crc16(tag) % SLOTS;
}

/** One hash tag per shard, each in its own slice of the slot space (stable for a given count). */
export function shardTags(count: number): string[] {
  const tags: string[] = [];
  for (let shard = 0; shard < count; shard++) {
    const low = Math.floor((shard * SLOTS) / count);
    const high = Math.floor(((shard + 1) * SLOTS) / count);
    // About `count` tries per shard: each try lands in the slice with probability 1/count.
    let tag = '';
    for (let n = 0; ; n++) {
      tag = `s${shard}.${n}`;
      const slot = slotOf(tag);
      if (slot >= low && slot < high) break;
    }
    tags.push(tag);
  }
  return tags;
}

/** The shard of a mailbox: a 32-bit FNV-1a of its name, modulo the count. */
export function shardOf(mailbox: string, count: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < mailbox.length; i++) {
    hash ^= mailbox.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % count;
}
