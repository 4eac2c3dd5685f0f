/**
 * The PostgreSQL spool's tables and its atomic steps, as PL/pgSQL functions (the counterpart of
 * redis-scripts.ts): each step is one call, one round trip, one transaction, and the proxy
 * answers "queued" only once the append's transaction has committed. Appends and settlements
 * take arrays: the spool sends those made meanwhile together (batcher.ts), one commit for many.
 *
 *   letters      one row per stored webhook: its mailbox, request, body (bytea, byte for byte),
 *                counted bytes, arrival and replay time; `seq` orders a mailbox. Written once,
 *                read, deleted: never updated (a row with its body rewritten per attempt costs)
 *   mailboxes    one row per mailbox holding letters: when its head is due, whether it waits
 *                after no answer (`early`), the claim on it (`lease_until`, `claim` =
 *                "<owner> <delivery id>") while its head is being delivered, and the head's
 *                attempts so far (only a head is ever attempted)
 *   dead_letters letters given up on, with how they ended; `died` orders them
 *   counters     depth, keyless, bytes and dead letters dropped, in 16 rows that appends and
 *                settlements pick at random and reads add up: one row would make every append
 *                wait for the one before it to commit
 *
 * What must survive is the append: it commits as the database is set to (synchronous_commit,
 * a synchronous standby). Claims and settlements commit without waiting for their WAL to be
 * flushed (synchronous_commit off, for their transaction only): one lost in a crash means a
 * delivery made again (at least once), never a webhook lost, and the append's flush is then the
 * only one a webhook waits for.
 *
 * One delivery in flight per key across every replica: a claim takes due mailboxes with
 * `FOR UPDATE SKIP LOCKED` (replicas claiming at once take different ones) and sets their
 * lease; an append or a settlement locks its mailbox's row first, so the two never interleave
 * on one mailbox (an append never adds a letter to a mailbox a settlement is deleting). A lease
 * that ran out (its replica died) is due again at the next claim by anyone.
 */

/** The DDL and functions, in the schema `s` (already quoted). */
export function spoolSchema(s: string, channel: string): string {
  return `
create table ${s}.letters (
  -- Orders a mailbox (through letters_by_mailbox); no index of its own: nothing looks a seq up.
  seq bigint generated always as identity,
  id text primary key,
  mailbox text not null,
  method text not null,
  url text not null,
  headers text not null,
  body bytea not null,
  bytes integer not null,
  arrived_at bigint not null,
  replayed_at bigint
);
create index letters_by_mailbox on ${s}.letters (mailbox, seq);

create table ${s}.mailboxes (
  mailbox text primary key,
  due_at bigint not null,
  early boolean not null default false,
  lease_until bigint,
  claim text,
  head_arrived_at bigint not null,
  head_attempts integer not null default 0,
  head_first_attempt_at bigint
) with (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_cost_delay = 0);
create index mailboxes_due on ${s}.mailboxes (due_at) where lease_until is null;
create index mailboxes_leased on ${s}.mailboxes (lease_until) where lease_until is not null;

create table ${s}.dead_letters (
  id text primary key,
  died bigserial not null,
  mailbox text not null,
  method text not null,
  url text not null,
  headers text not null,
  body bytea not null,
  bytes integer not null,
  arrived_at bigint not null,
  replayed_at bigint,
  attempts integer not null,
  first_attempt_at bigint,
  last_attempt_at bigint not null,
  reason text not null
);
create index dead_letters_by_death on ${s}.dead_letters (died);

create table ${s}.counters (
  shard integer primary key,
  depth bigint not null default 0,
  keyless bigint not null default 0,
  bytes bigint not null default 0,
  dead_dropped bigint not null default 0
);
insert into ${s}.counters (shard) select generate_series(0, 15);

-- Locks the mailbox's row, making it first if it has none (a letter joins it under the lock).
create function ${s}.lock_mailbox(p_mailbox text, p_due bigint, p_arrived bigint) returns void language plpgsql as $fn$
begin
  loop
    insert into ${s}.mailboxes (mailbox, due_at, head_arrived_at) values (p_mailbox, p_due, p_arrived) on conflict (mailbox) do nothing;
    exit when found;
    perform 1 from ${s}.mailboxes where mailbox = p_mailbox for update;
    exit when found;
  end loop;
end $fn$;

-- Bodies come as base64 (a third less to send than bytea's hex text form), decoded here.
-- Stores a batch of letters, each at the back of its mailbox, in the order given, those that
-- QUEUE_MAX_BYTES leaves room for: 1 stored, 0 full, per letter. Mailboxes are locked in name
-- order, so two batches never wait for each other in a circle.
create function ${s}.append_many(p_ids text[], p_mailboxes text[], p_methods text[], p_urls text[], p_headers text[],
    p_bodies text[], p_bytes integer[], p_arrived bigint[], p_max bigint, p_shard integer, p_owner text)
    returns integer[] language plpgsql as $fn$
declare
  n integer := array_length(p_ids, 1);
  stored integer[] := array_fill(0, array[n]);
  used bigint;
  added integer := 0;
  added_bytes bigint := 0;
  added_keyless integer := 0;
  mb record;
begin
  select sum(bytes) into used from ${s}.counters;
  for i in 1 .. n loop
    if used + added_bytes + p_bytes[i] <= p_max then
      stored[i] := 1;
      added := added + 1;
      added_bytes := added_bytes + p_bytes[i];
      if p_mailboxes[i] like 'n:%' then added_keyless := added_keyless + 1; end if;
    end if;
  end loop;
  if added = 0 then return stored; end if;
  for mb in select t.m, min(t.a) as a from unnest(p_mailboxes, p_arrived, stored) as t(m, a, s) where t.s = 1 group by t.m order by t.m loop
    perform ${s}.lock_mailbox(mb.m, mb.a, mb.a);
  end loop;
  for i in 1 .. n loop
    continue when stored[i] = 0;
    insert into ${s}.letters (id, mailbox, method, url, headers, body, bytes, arrived_at)
      values (p_ids[i], p_mailboxes[i], p_methods[i], p_urls[i], p_headers[i], decode(p_bodies[i], 'base64'), p_bytes[i], p_arrived[i]);
  end loop;
  update ${s}.counters set depth = depth + added, bytes = bytes + added_bytes, keyless = keyless + added_keyless where shard = p_shard;
  -- Sent at commit: the other replicas' pumps look for work then.
  perform pg_notify('${channel}', p_owner);
  return stored;
end $fn$;

-- Claims up to p_max due heads (and first frees the claims that ran out); each head's attempt is
-- counted. A last row, without a letter, carries the spool's figures: when a mailbox next falls
-- due (or a claim runs out), and the depth (the pump asks for both after each claim).
create function ${s}.claim(p_now bigint, p_lease_end bigint, p_owner text, p_max integer)
    returns table (mailbox text, id text, method text, url text, headers text, body bytea, arrived_at bigint, replayed_at bigint, attempt integer,
      next_due bigint, depth bigint)
    language plpgsql as $fn$
#variable_conflict use_column
declare
  mb text;
  head ${s}.letters%rowtype;
begin
  perform set_config('synchronous_commit', 'off', true);
  update ${s}.mailboxes m set lease_until = null, claim = null, due_at = p_now
    where m.mailbox in (select x.mailbox from ${s}.mailboxes x where x.lease_until <= p_now for update skip locked);
  for mb in select x.mailbox from ${s}.mailboxes x where x.lease_until is null and x.due_at <= p_now
      order by x.due_at limit p_max for update skip locked loop
    select l.* into head from ${s}.letters l where l.mailbox = mb order by l.seq limit 1;
    if not found then
      delete from ${s}.mailboxes x where x.mailbox = mb;
      continue;
    end if;
    update ${s}.mailboxes x set lease_until = p_lease_end, claim = p_owner || ' ' || head.id, early = false,
        head_attempts = x.head_attempts + 1, head_first_attempt_at = coalesce(x.head_first_attempt_at, p_now)
      where x.mailbox = mb returning x.head_attempts into attempt;
    mailbox := mb; id := head.id; method := head.method; url := head.url; headers := head.headers; body := head.body;
    arrived_at := head.arrived_at; replayed_at := head.replayed_at;
    return next;
  end loop;
  mailbox := null;
  next_due := least((select min(x.due_at) from ${s}.mailboxes x where x.lease_until is null),
                    (select min(x.lease_until) from ${s}.mailboxes x where x.lease_until is not null));
  depth := (select sum(c.depth) from ${s}.counters c);
  return next;
end $fn$;

-- Records how a batch of attempts ended (mailboxes in name order, as appends lock them): per
-- attempt, false when its claim was lost (it ran out and another replica has the mailbox).
create function ${s}.settle_many(p_mailboxes text[], p_ids text[], p_claims text[], p_kinds text[], p_at bigint[],
    p_early boolean[], p_reasons text[], p_now bigint, p_shard integer, p_max_dead integer)
    returns boolean[] language plpgsql as $fn$
declare
  settled boolean[] := array_fill(false, array[array_length(p_ids, 1)]);
  r record;
  tried record;
  gone ${s}.letters%rowtype;
  next_arrival bigint;
  removed integer := 0;
  removed_bytes bigint := 0;
  removed_keyless integer := 0;
  died integer := 0;
  dropped integer;
begin
  perform set_config('synchronous_commit', 'off', true);
  for r in select t.* from unnest(p_mailboxes, p_ids, p_claims, p_kinds, p_at, p_early, p_reasons) with ordinality
      as t(mb, id, claim, kind, at, early, reason, i) order by t.mb loop
    select m.head_attempts, m.head_first_attempt_at into tried from ${s}.mailboxes m where m.mailbox = r.mb and m.claim = r.claim for update;
    continue when not found;
    settled[r.i] := true;
    if r.kind = 'retry' or r.kind = 'hold' then
      -- A hold was no attempt: its count is taken back.
      update ${s}.mailboxes set lease_until = null, claim = null, due_at = r.at, early = r.early,
          head_attempts = head_attempts - (case when r.kind = 'hold' then 1 else 0 end),
          head_first_attempt_at = case when r.kind = 'hold' and head_attempts <= 1 then null else head_first_attempt_at end
        where mailbox = r.mb;
      continue;
    end if;
    delete from ${s}.letters where id = r.id returning * into gone;
    if found then
      removed := removed + 1;
      removed_bytes := removed_bytes + gone.bytes;
      if r.mb like 'n:%' then removed_keyless := removed_keyless + 1; end if;
      if r.kind = 'dead' then
        insert into ${s}.dead_letters (id, mailbox, method, url, headers, body, bytes, arrived_at, replayed_at, attempts, first_attempt_at, last_attempt_at, reason)
          values (gone.id, gone.mailbox, gone.method, gone.url, gone.headers, gone.body, gone.bytes, gone.arrived_at, gone.replayed_at,
            tried.head_attempts, tried.head_first_attempt_at, p_now, r.reason);
        died := died + 1;
      end if;
    end if;
    select l.arrived_at into next_arrival from ${s}.letters l where l.mailbox = r.mb order by l.seq limit 1;
    if found then
      update ${s}.mailboxes set lease_until = null, claim = null, due_at = p_now, early = false, head_arrived_at = next_arrival,
          head_attempts = 0, head_first_attempt_at = null where mailbox = r.mb;
    else
      delete from ${s}.mailboxes where mailbox = r.mb;
    end if;
  end loop;
  if removed > 0 then
    update ${s}.counters set depth = depth - removed, bytes = bytes - removed_bytes, keyless = keyless - removed_keyless where shard = p_shard;
  end if;
  if died > 0 then
    with oldest as (
      select d.id from ${s}.dead_letters d order by d.died desc offset p_max_dead for update skip locked
    ) delete from ${s}.dead_letters d using oldest where d.id = oldest.id;
    get diagnostics dropped = row_count;
    if dropped > 0 then update ${s}.counters set dead_dropped = dead_dropped + dropped where shard = p_shard; end if;
  end if;
  return settled;
end $fn$;

-- Puts a dead letter back at the back of its mailbox, due now: 1; 0 when not dead; -1 when QUEUE_MAX_BYTES leaves no room.
create function ${s}.replay(p_id text, p_now bigint, p_max bigint, p_shard integer) returns integer language plpgsql as $fn$
declare
  d ${s}.dead_letters%rowtype;
begin
  select * into d from ${s}.dead_letters where id = p_id for update;
  if not found then return 0; end if;
  if (select sum(bytes) from ${s}.counters) + d.bytes > p_max then return -1; end if;
  delete from ${s}.dead_letters where id = p_id;
  perform ${s}.lock_mailbox(d.mailbox, p_now, d.arrived_at);
  insert into ${s}.letters (id, mailbox, method, url, headers, body, bytes, arrived_at, replayed_at)
    values (d.id, d.mailbox, d.method, d.url, d.headers, d.body, d.bytes, d.arrived_at, p_now);
  update ${s}.counters set depth = depth + 1, bytes = bytes + d.bytes,
    keyless = keyless + (case when d.mailbox like 'n:%' then 1 else 0 end) where shard = p_shard;
  return 1;
end $fn$;
`;
}
