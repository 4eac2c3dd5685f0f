/**
 * The Redis spool's atomic steps, as Lua scripts. Keys all start with the spool's prefix P
 * (ARGV[1]); a mailbox is `k:<key>` (or `n:<delivery id>` for a keyless webhook):
 *
 *   P letter:<id>  hash: the stored webhook (body as bytes, headers as JSON), its attempts
 *   P mb:<mailbox> list: the mailbox's delivery ids, head first
 *   P due          sorted set: mailboxes whose head may be claimed, by the time it falls due
 *   P early        set: mailboxes waiting after no answer (woken when the bot answers again)
 *   P leases       sorted set: mailboxes whose head is being delivered, by when the claim runs out
 *   P owners       hash: mailbox → "<owner> <delivery id>" of the claim
 *   P arrivals     sorted set: stored delivery ids by arrival (the oldest one's age)
 *   P dead         list: dead delivery ids, newest first
 *   P stats        hash: depth, bytes, deadDropped
 *
 * A mailbox with a head is in exactly one of `due` and `leases`: that is what keeps one delivery
 * per key in flight across every replica. A claim that runs out (its replica died) goes back to
 * `due` at the next claim by anyone.
 */

/** ARGV: P, id, mailbox, now, maxBytes, bytes, then the letter's field/value pairs. */
export const APPEND = `
local P = ARGV[1]
local bytes = tonumber(ARGV[6])
local used = tonumber(redis.call('HGET', P .. 'stats', 'bytes') or '0')
if used + bytes > tonumber(ARGV[5]) then return 0 end
redis.call('HSET', P .. 'letter:' .. ARGV[2], unpack(ARGV, 7))
if redis.call('RPUSH', P .. 'mb:' .. ARGV[3], ARGV[2]) == 1 then redis.call('ZADD', P .. 'due', ARGV[4], ARGV[3]) end
redis.call('ZADD', P .. 'arrivals', ARGV[4], ARGV[2])
redis.call('HINCRBY', P .. 'stats', 'depth', 1)
redis.call('HINCRBY', P .. 'stats', 'bytes', bytes)
if string.sub(ARGV[3], 1, 2) == 'n:' then redis.call('HINCRBY', P .. 'stats', 'keyless', 1) end
return 1
`;

/** ARGV: P, now, claim's end, owner, max. Returns up to max {id, attempt, fields} triples. */
export const CLAIM = `
local P = ARGV[1]
local now = tonumber(ARGV[2])
for _, mb in ipairs(redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', now)) do
  redis.call('ZREM', P .. 'leases', mb)
  redis.call('HDEL', P .. 'owners', mb)
  redis.call('ZADD', P .. 'due', now, mb)
end
local claimed = {}
for _, mb in ipairs(redis.call('ZRANGEBYSCORE', P .. 'due', '-inf', now, 'LIMIT', 0, tonumber(ARGV[5]))) do
  redis.call('ZREM', P .. 'due', mb)
  redis.call('SREM', P .. 'early', mb)
  local id = redis.call('LINDEX', P .. 'mb:' .. mb, 0)
  if id then
    redis.call('ZADD', P .. 'leases', ARGV[3], mb)
    redis.call('HSET', P .. 'owners', mb, ARGV[4] .. ' ' .. id)
    local attempt = redis.call('HINCRBY', P .. 'letter:' .. id, 'attempts', 1)
    redis.call('HSETNX', P .. 'letter:' .. id, 'first', ARGV[2])
    table.insert(claimed, {id, attempt, redis.call('HGETALL', P .. 'letter:' .. id)})
  end
end
return claimed
`;

/** ARGV: P, mailbox, id, owner, kind, now, at, early (1/0), reason, maxDead. Returns 1, or 0 when the claim was lost. */
export const SETTLE = `
local P = ARGV[1]
local mb, id = ARGV[2], ARGV[3]
if redis.call('HGET', P .. 'owners', mb) ~= ARGV[4] .. ' ' .. id then return 0 end
redis.call('ZREM', P .. 'leases', mb)
redis.call('HDEL', P .. 'owners', mb)
local kind = ARGV[5]
if kind == 'retry' or kind == 'hold' then
  if kind == 'hold' then redis.call('HINCRBY', P .. 'letter:' .. id, 'attempts', -1) end
  redis.call('ZADD', P .. 'due', ARGV[7], mb)
  if ARGV[8] == '1' then redis.call('SADD', P .. 'early', mb) end
  return 1
end
redis.call('LPOP', P .. 'mb:' .. mb)
redis.call('ZREM', P .. 'arrivals', id)
redis.call('HINCRBY', P .. 'stats', 'depth', -1)
redis.call('HINCRBY', P .. 'stats', 'bytes', -tonumber(redis.call('HGET', P .. 'letter:' .. id, 'bytes') or '0'))
if string.sub(mb, 1, 2) == 'n:' then redis.call('HINCRBY', P .. 'stats', 'keyless', -1) end
if kind == 'dead' then
  redis.call('HSET', P .. 'letter:' .. id, 'reason', ARGV[9], 'last', ARGV[6])
  redis.call('LPUSH', P .. 'dead', id)
  local keep = tonumber(ARGV[10])
  for _, old in ipairs(redis.call('LRANGE', P .. 'dead', keep, -1)) do
    redis.call('DEL', P .. 'letter:' .. old)
    redis.call('HINCRBY', P .. 'stats', 'deadDropped', 1)
  end
  redis.call('LTRIM', P .. 'dead', 0, keep - 1)
else
  redis.call('DEL', P .. 'letter:' .. id)
end
if redis.call('LLEN', P .. 'mb:' .. mb) > 0 then redis.call('ZADD', P .. 'due', ARGV[6], mb) end
return 1
`;

/** ARGV: P, mailbox, id, owner, claim's new end. Returns 1, or 0 when the claim was lost. */
export const RENEW = `
local P = ARGV[1]
if redis.call('HGET', P .. 'owners', ARGV[2]) ~= ARGV[4] .. ' ' .. ARGV[3] then return 0 end
redis.call('ZADD', P .. 'leases', 'XX', ARGV[5], ARGV[2])
return 1
`;

/** ARGV: P, now. Returns how many mailboxes were made due now. */
export const WAKE = `
local P = ARGV[1]
local woken = 0
for _, mb in ipairs(redis.call('SMEMBERS', P .. 'early')) do
  if redis.call('ZSCORE', P .. 'due', mb) then
    redis.call('ZADD', P .. 'due', ARGV[2], mb)
    woken = woken + 1
  end
end
redis.call('DEL', P .. 'early')
return woken
`;

/** ARGV: P, id, due (its score in due), now (its age counts from then). Puts a dead letter back at the back of its mailbox; 1, or 0 when not dead. */
export const REPLAY = `
local P = ARGV[1]
local id = ARGV[2]
if redis.call('LREM', P .. 'dead', 1, id) == 0 then return 0 end
redis.call('HDEL', P .. 'letter:' .. id, 'attempts', 'first', 'reason', 'last')
redis.call('HSET', P .. 'letter:' .. id, 'replayedAt', ARGV[4])
local mb = redis.call('HGET', P .. 'letter:' .. id, 'mb')
if redis.call('RPUSH', P .. 'mb:' .. mb, id) == 1 then redis.call('ZADD', P .. 'due', ARGV[3], mb) end
redis.call('ZADD', P .. 'arrivals', redis.call('HGET', P .. 'letter:' .. id, 'arrivedAt'), id)
redis.call('HINCRBY', P .. 'stats', 'depth', 1)
redis.call('HINCRBY', P .. 'stats', 'bytes', tonumber(redis.call('HGET', P .. 'letter:' .. id, 'bytes') or '0'))
if string.sub(mb, 1, 2) == 'n:' then redis.call('HINCRBY', P .. 'stats', 'keyless', 1) end
return 1
`;

/** ARGV: P, id. Forgets a dead letter; 1, or 0 when not dead. */
export const FORGET = `
local P = ARGV[1]
if redis.call('LREM', P .. 'dead', 1, ARGV[2]) == 0 then return 0 end
redis.call('DEL', P .. 'letter:' .. ARGV[2])
return 1
`;
