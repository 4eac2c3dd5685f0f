/**
 * The Redis spool's atomic steps, as Lua scripts, each run on one shard. Every script declares
 * the keys it touches, by name, in `keys` (passed as KEYS, in that order), so Redis Cluster
 * routes it to the shard's primary. All of a shard's keys start with `<prefix>{<tag>}:`:
 *
 *   m:<mailbox>  list: the mailbox's letters, head first, each packed (packed-letter.ts)
 *   due          sorted set: mailboxes whose head may be claimed, by the time it falls due
 *   early        set: mailboxes waiting after no answer (woken when the bot answers again)
 *   leases       sorted set: mailboxes whose head is being delivered, by when the claim runs out
 *   owners       hash: mailbox → "<owner> <delivery id>" of the claim
 *   tries        hash: delivery id → "<attempts> <first attempt ms>" of a head attempted
 *   replayed     hash: delivery id → when it was replayed from the dead letters
 *   heads        sorted set: mailboxes, by when their head arrived (the oldest stored letter is a
 *                head, as in the memory spool: one entry per mailbox, not per letter)
 *   dead         sorted set: dead delivery ids, by when they died
 *   dead-letters hash: delivery id → the dead letter, packed
 *   dead-info    hash: delivery id → JSON {a: attempts, f: first, l: last, r: reason, mb}
 *   stats        hash: depth, keyless, bytes, deadDropped
 *   alive        string: written at start; its absence later means the store lost its data
 *
 * A mailbox with a head is in exactly one of `due` and `leases`: that is what keeps one delivery
 * per key in flight across every replica. A claim that runs out (its replica died) goes back to
 * `due` at the shard's next claim by anyone.
 *
 * The one key not in KEYS is the mailbox list in CLAIM, whose name comes from `due`: it is
 * built from ARGV's shard prefix, which carries the same hash tag, so it is in the same slot
 * (BullMQ builds its job keys the same way).
 */

export interface SpoolScript {
  /** The shard keys, by name, passed as KEYS in this order ('mailbox' is the letter's m:<mailbox>). */
  readonly keys: readonly ShardKey[];
  readonly lua: string;
}

export type ShardKey = 'mailbox' | 'due' | 'early' | 'leases' | 'owners' | 'tries' | 'replayed' | 'heads' | 'dead' | 'dead-letters' | 'dead-info' | 'stats' | 'alive';

/** The arrival time in a packed letter's first line ("<id> <bytes> <arrivedAt>"). */
const ARRIVAL = `
local function arrival(packed) return string.match(packed, '^%S+ %d+ (%d+)') end
`;

/** Keeps a mailbox's entry in \`heads\` right after its head changed (or it emptied). */
const HEAD_MOVED = `${ARRIVAL}
local function headMoved(list, heads, mb)
  local head = redis.call('LINDEX', list, 0)
  if head then redis.call('ZADD', heads, arrival(head), mb) else redis.call('ZREM', heads, mb) end
end
`;

/** The shard's figures every script answers with, so the caller's view stays fresh: {next due, depth, bytes}. */
const FIGURES = `
local function figures(due, leases, stats)
  local d = redis.call('ZRANGE', due, 0, 0, 'WITHSCORES')[2]
  local l = redis.call('ZRANGE', leases, 0, 0, 'WITHSCORES')[2]
  local next = d
  if l and (not d or tonumber(l) < tonumber(d)) then next = l end
  local f = redis.call('HMGET', stats, 'depth', 'bytes')
  return {next or '', f[1] or '0', f[2] or '0'}
end
`;

/** ARGV: id, mailbox, arrivedAt, maxBytes, bytes, packed letter, keyless (1/0). Returns {stored 1/0, figures}. */
const APPEND: SpoolScript = {
  keys: ['mailbox', 'due', 'heads', 'stats', 'leases'],
  lua: `${FIGURES}
local used = tonumber(redis.call('HGET', KEYS[4], 'bytes') or '0')
if used + tonumber(ARGV[5]) > tonumber(ARGV[4]) then return {0, figures(KEYS[2], KEYS[5], KEYS[4])} end
if redis.call('RPUSH', KEYS[1], ARGV[6]) == 1 then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
end
redis.call('HINCRBY', KEYS[4], 'depth', 1)
redis.call('HINCRBY', KEYS[4], 'bytes', ARGV[5])
if ARGV[7] == '1' then redis.call('HINCRBY', KEYS[4], 'keyless', 1) end
return {1, figures(KEYS[2], KEYS[5], KEYS[4])}
`,
};

/**
 * ARGV: now, claim's end, owner, max, the shard's mailbox prefix (<prefix>{<tag}:m:).
 * Returns {{packed, attempt, first attempt, replayed at, mailbox}..., figures}.
 */
const CLAIM: SpoolScript = {
  keys: ['due', 'leases', 'owners', 'early', 'tries', 'replayed', 'stats'],
  lua: `${FIGURES}
local now = tonumber(ARGV[1])
for _, mb in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[2], mb)
  redis.call('HDEL', KEYS[3], mb)
  redis.call('ZADD', KEYS[1], ARGV[1], mb)
end
local claimed = {}
for _, mb in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))) do
  redis.call('ZREM', KEYS[1], mb)
  redis.call('SREM', KEYS[4], mb)
  local head = redis.call('LINDEX', ARGV[5] .. mb, 0)
  if head then
    local id = string.match(head, '^(%S+)')
    redis.call('ZADD', KEYS[2], ARGV[2], mb)
    redis.call('HSET', KEYS[3], mb, ARGV[3] .. ' ' .. id)
    local attempt, first = 1, ARGV[1]
    local tried = redis.call('HGET', KEYS[5], id)
    if tried then
      local a, f = string.match(tried, '^(%d+) (%d+)')
      attempt, first = tonumber(a) + 1, f
    end
    redis.call('HSET', KEYS[5], id, attempt .. ' ' .. first)
    table.insert(claimed, {head, attempt, first, redis.call('HGET', KEYS[6], id) or '', mb})
  end
end
table.insert(claimed, figures(KEYS[1], KEYS[2], KEYS[7]))
return claimed
`,
};

/**
 * ARGV: mailbox, id, owner, kind, now, at, early (1/0), reason, dead score.
 * Returns {settled 1/0 (0: the claim was lost), figures}.
 */
const SETTLE: SpoolScript = {
  keys: ['mailbox', 'due', 'leases', 'owners', 'early', 'tries', 'heads', 'stats', 'dead', 'dead-letters', 'dead-info', 'replayed'],
  lua: `${FIGURES}${HEAD_MOVED}
local mb, id, kind = ARGV[1], ARGV[2], ARGV[4]
if redis.call('HGET', KEYS[4], mb) ~= ARGV[3] .. ' ' .. id then
  return {0, figures(KEYS[2], KEYS[3], KEYS[8])}
end
redis.call('ZREM', KEYS[3], mb)
redis.call('HDEL', KEYS[4], mb)
if kind == 'retry' or kind == 'hold' then
  if kind == 'hold' then
    local a, f = string.match(redis.call('HGET', KEYS[6], id) or '1 0', '^(%d+) (%d+)')
    if tonumber(a) <= 1 then redis.call('HDEL', KEYS[6], id) else redis.call('HSET', KEYS[6], id, (tonumber(a) - 1) .. ' ' .. f) end
  end
  redis.call('ZADD', KEYS[2], ARGV[6], mb)
  if ARGV[7] == '1' then redis.call('SADD', KEYS[5], mb) end
  return {1, figures(KEYS[2], KEYS[3], KEYS[8])}
end
local head = redis.call('LPOP', KEYS[1])
headMoved(KEYS[1], KEYS[7], mb)
redis.call('HINCRBY', KEYS[8], 'depth', -1)
redis.call('HINCRBY', KEYS[8], 'bytes', -tonumber(string.match(head or '', '^%S+ (%d+)') or '0'))
if string.sub(mb, 1, 2) == 'n:' then redis.call('HINCRBY', KEYS[8], 'keyless', -1) end
local tried = redis.call('HGET', KEYS[6], id) or '0 0'
redis.call('HDEL', KEYS[6], id)
if kind == 'dead' and head then
  local a, f = string.match(tried, '^(%d+) (%d+)')
  redis.call('HSET', KEYS[10], id, head)
  redis.call('HSET', KEYS[11], id, cjson.encode({a = tonumber(a), f = f, l = ARGV[5], r = ARGV[8], mb = mb}))
  redis.call('ZADD', KEYS[9], ARGV[9], id)
else
  redis.call('HDEL', KEYS[12], id)
end
if redis.call('LLEN', KEYS[1]) > 0 then redis.call('ZADD', KEYS[2], ARGV[5], mb) end
return {1, figures(KEYS[2], KEYS[3], KEYS[8])}
`,
};

/** ARGV: mailbox, "<owner> <id>", claim's new end. Returns 1, or 0 when the claim was lost. */
const RENEW: SpoolScript = {
  keys: ['owners', 'leases'],
  lua: `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[2], 'XX', ARGV[3], ARGV[1])
return 1
`,
};

/** ARGV: now. Returns how many mailboxes were made due now. */
const WAKE: SpoolScript = {
  keys: ['early', 'due'],
  lua: `
local woken = 0
for _, mb in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('ZSCORE', KEYS[2], mb) then
    redis.call('ZADD', KEYS[2], ARGV[1], mb)
    woken = woken + 1
  end
end
redis.call('DEL', KEYS[1])
return woken
`,
};

/**
 * ARGV: id, now (when it was replayed), the room this shard may fill (QUEUE_MAX_BYTES less the
 * other shards' bytes), the shard's mailbox prefix. Puts a dead letter back at the back of its
 * mailbox, due at once. Returns 1; 0 when not dead here; -1 when there is no room for it.
 */
const REPLAY: SpoolScript = {
  keys: ['dead', 'dead-letters', 'dead-info', 'due', 'heads', 'stats', 'replayed'],
  lua: `${ARRIVAL}
local id = ARGV[1]
if not redis.call('ZSCORE', KEYS[1], id) then return 0 end
local head = redis.call('HGET', KEYS[2], id)
local info = cjson.decode(redis.call('HGET', KEYS[3], id))
local bytes = tonumber(string.match(head, '^%S+ (%d+)'))
if tonumber(redis.call('HGET', KEYS[6], 'bytes') or '0') + bytes > tonumber(ARGV[3]) then return -1 end
redis.call('ZREM', KEYS[1], id)
redis.call('HDEL', KEYS[2], id)
redis.call('HDEL', KEYS[3], id)
redis.call('HSET', KEYS[7], id, ARGV[2])
if redis.call('RPUSH', ARGV[4] .. info.mb, head) == 1 then
  redis.call('ZADD', KEYS[4], 0, info.mb)
  redis.call('ZADD', KEYS[5], arrival(head), info.mb)
end
redis.call('HINCRBY', KEYS[6], 'depth', 1)
redis.call('HINCRBY', KEYS[6], 'bytes', bytes)
if string.sub(info.mb, 1, 2) == 'n:' then redis.call('HINCRBY', KEYS[6], 'keyless', 1) end
return 1
`,
};

/** ARGV: ids to drop (FORGET: one; trimming to DEAD_LETTER_MAX: the oldest), counted (1/0) as dropped. Returns how many were there. */
const DROP_DEAD: SpoolScript = {
  keys: ['dead', 'dead-letters', 'dead-info', 'replayed', 'stats'],
  lua: `
local dropped = 0
for i = 2, #ARGV do
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    redis.call('HDEL', KEYS[2], ARGV[i])
    redis.call('HDEL', KEYS[3], ARGV[i])
    redis.call('HDEL', KEYS[4], ARGV[i])
    dropped = dropped + 1
  end
end
if ARGV[1] == '1' then redis.call('HINCRBY', KEYS[5], 'deadDropped', dropped) end
return dropped
`,
};

/** ARGV: max. The dead letters, newest first: {{id, score, packed, info}...}. */
const DEAD: SpoolScript = {
  keys: ['dead', 'dead-letters', 'dead-info'],
  lua: `
local out = {}
local ids = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
for i = 1, #ids, 2 do
  table.insert(out, {ids[i], ids[i + 1], redis.call('HGET', KEYS[2], ids[i]) or '', redis.call('HGET', KEYS[3], ids[i]) or '{}'})
end
return out
`,
};

/** ARGV: max. The first letters of one mailbox, packed, and the head's "<attempts> <first>". */
const PEEK: SpoolScript = {
  keys: ['mailbox', 'tries'],
  lua: `
local letters = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
local tried = ''
if letters[1] then tried = redis.call('HGET', KEYS[2], string.match(letters[1], '^(%S+)')) or '' end
return {letters, tried}
`,
};

/**
 * No ARGV. The shard's figures, and whether its `alive` marker had vanished (written again):
 * {depth, keyless, bytes, due, leases, oldest arrival or '', dead, deadDropped, marker was missing 1/0}.
 */
const STATS: SpoolScript = {
  keys: ['stats', 'due', 'leases', 'heads', 'dead', 'alive'],
  lua: `
local s = redis.call('HMGET', KEYS[1], 'depth', 'keyless', 'bytes', 'deadDropped')
local oldest = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')[2] or ''
local missing = 0
if redis.call('SET', KEYS[6], '1', 'NX') then missing = 1 end
return {s[1] or '0', s[2] or '0', s[3] or '0', redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3]), oldest, redis.call('ZCARD', KEYS[5]), s[4] or '0', missing}
`,
};

/**
 * ARGV: id, mailbox. Takes back a letter just stored whose replicas did not confirm it
 * (QUEUE_ACK_REPLICAS): 1 when withdrawn; 0 when it is being delivered already (it goes on, and
 * the direct copy carries the same delivery id) or gone.
 */
const WITHDRAW: SpoolScript = {
  keys: ['mailbox', 'due', 'owners', 'heads', 'stats', 'tries'],
  lua: `${HEAD_MOVED}
local owner = redis.call('HGET', KEYS[3], ARGV[2])
if owner and string.match(owner, ' (%S+)$') == ARGV[1] then return 0 end
local letters = redis.call('LRANGE', KEYS[1], 0, -1)
for i = #letters, 1, -1 do
  if string.match(letters[i], '^(%S+)') == ARGV[1] then
    redis.call('LREM', KEYS[1], -1, letters[i])
    headMoved(KEYS[1], KEYS[4], ARGV[2])
    redis.call('HDEL', KEYS[6], ARGV[1])
    redis.call('HINCRBY', KEYS[5], 'depth', -1)
    redis.call('HINCRBY', KEYS[5], 'bytes', -tonumber(string.match(letters[i], '^%S+ (%d+)')))
    if string.sub(ARGV[2], 1, 2) == 'n:' then redis.call('HINCRBY', KEYS[5], 'keyless', -1) end
    if redis.call('LLEN', KEYS[1]) == 0 then redis.call('ZREM', KEYS[2], ARGV[2]) end
    return 1
  end
end
return 0
`,
};

export const SCRIPTS = {
  append: APPEND,
  claim: CLAIM,
  settle: SETTLE,
  renew: RENEW,
  wake: WAKE,
  replay: REPLAY,
  dropDead: DROP_DEAD,
  dead: DEAD,
  peek: PEEK,
  stats: STATS,
  withdraw: WITHDRAW,
} as const;
export type ScriptName = keyof typeof SCRIPTS;
