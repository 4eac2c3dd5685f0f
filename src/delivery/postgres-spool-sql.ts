/**
 * The PostgreSQL spool's tables and its atomic steps, as PL/pgSQL functions (the counterpart of
 * redis-scripts.ts): each step is one call, one round trip, one transaction, and the proxy
 * answers "queued" only once the append's transaction has committed.
 *
 *   letters      one row per stored webhook: its mailbox, request, body (bytea, byte for byte),
 *                counted bytes, arrival, replay time and attempts so far; `seq` orders a mailbox
 *   mailboxes    one row per mailbox holding letters: when its head is due, whether it waits
 *                after no answer (`early`), and the claim on it (`lease_until`, `claim` =
 *                "<owner> <delivery id>") while its head is being delivered
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
  seq bigserial primary key,
  id text not null unique,
  mailbox text not null,
  method text not null,
  url text not null,
  headers text not null,
  body bytea not null,
  bytes integer not null,
  arrived_at bigint not null,
  replayed_at bigint,
  attempts integer not null default 0,
  first_attempt_at bigint
);
create index letters_by_mailbox on ${s}.letters (mailbox, seq);

create table ${s}.mailboxes (
  mailbox text primary key,
  due_at bigint not null,
  early boolean not null default false,
  lease_until bigint,
  claim text,
  head_arrived_at bigint not null
);
create index mailboxes_due on ${s}.mailboxes (due_at) where lease_until is null;
create index mailboxes_leased on ${s}.mailboxes (lease_until) where lease_until is not null;
create index mailboxes_oldest on ${s}.mailboxes (head_arrived_at);

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

-- Stores a letter at the back of its mailbox unless QUEUE_MAX_BYTES is reached: 1 stored, 0 full.
create function ${s}.append(p_id text, p_mailbox text, p_method text, p_url text, p_headers text, p_body bytea,
    p_bytes integer, p_arrived bigint, p_max bigint, p_shard integer, p_owner text) returns integer language plpgsql as $fn$
begin
  if (select sum(bytes) from ${s}.counters) + p_bytes > p_max then return 0; end if;
  perform ${s}.lock_mailbox(p_mailbox, p_arrived, p_arrived);
  insert into ${s}.letters (id, mailbox, method, url, headers, body, bytes, arrived_at)
    values (p_id, p_mailbox, p_method, p_url, p_headers, p_body, p_bytes, p_arrived);
  update ${s}.counters set depth = depth + 1, bytes = bytes + p_bytes,
    keyless = keyless + (case when p_mailbox like 'n:%' then 1 else 0 end) where shard = p_shard;
  -- Sent at commit: the other replicas' pumps look for it then.
  perform pg_notify('${channel}', p_owner);
  return 1;
end $fn$;

-- Claims up to p_max due heads (and first frees the claims that ran out); each head's attempt is counted.
create function ${s}.claim(p_now bigint, p_lease_end bigint, p_owner text, p_max integer)
    returns table (mailbox text, id text, method text, url text, headers text, body bytea, arrived_at bigint, replayed_at bigint, attempt integer)
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
    update ${s}.letters l set attempts = l.attempts + 1, first_attempt_at = coalesce(l.first_attempt_at, p_now)
      where l.seq = (select min(y.seq) from ${s}.letters y where y.mailbox = mb) returning l.* into head;
    if not found then
      delete from ${s}.mailboxes x where x.mailbox = mb;
      continue;
    end if;
    update ${s}.mailboxes x set lease_until = p_lease_end, claim = p_owner || ' ' || head.id, early = false where x.mailbox = mb;
    mailbox := mb; id := head.id; method := head.method; url := head.url; headers := head.headers; body := head.body;
    arrived_at := head.arrived_at; replayed_at := head.replayed_at; attempt := head.attempts;
    return next;
  end loop;
end $fn$;

-- Records how an attempt ended; false when the claim was lost (it ran out and another replica has the mailbox).
create function ${s}.settle(p_mailbox text, p_id text, p_claim text, p_kind text, p_now bigint, p_at bigint,
    p_early boolean, p_reason text, p_shard integer, p_max_dead integer) returns boolean language plpgsql as $fn$
declare
  gone ${s}.letters%rowtype;
  next_arrival bigint;
  dropped integer;
begin
  perform set_config('synchronous_commit', 'off', true);
  perform 1 from ${s}.mailboxes where mailbox = p_mailbox and claim = p_claim for update;
  if not found then return false; end if;
  if p_kind = 'retry' or p_kind = 'hold' then
    -- A hold was no attempt: its count is taken back.
    if p_kind = 'hold' then
      update ${s}.letters set attempts = attempts - 1,
        first_attempt_at = case when attempts <= 1 then null else first_attempt_at end where id = p_id;
    end if;
    update ${s}.mailboxes set lease_until = null, claim = null, due_at = p_at, early = p_early where mailbox = p_mailbox;
    return true;
  end if;
  delete from ${s}.letters where id = p_id returning * into gone;
  if found then
    update ${s}.counters set depth = depth - 1, bytes = bytes - gone.bytes,
      keyless = keyless - (case when p_mailbox like 'n:%' then 1 else 0 end) where shard = p_shard;
    if p_kind = 'dead' then
      insert into ${s}.dead_letters (id, mailbox, method, url, headers, body, bytes, arrived_at, replayed_at, attempts, first_attempt_at, last_attempt_at, reason)
        values (gone.id, gone.mailbox, gone.method, gone.url, gone.headers, gone.body, gone.bytes, gone.arrived_at, gone.replayed_at,
          gone.attempts, gone.first_attempt_at, p_now, p_reason);
      with oldest as (
        select d.id from ${s}.dead_letters d order by d.died desc offset p_max_dead for update skip locked
      ) delete from ${s}.dead_letters d using oldest where d.id = oldest.id;
      get diagnostics dropped = row_count;
      if dropped > 0 then update ${s}.counters set dead_dropped = dead_dropped + dropped where shard = p_shard; end if;
    end if;
  end if;
  select l.arrived_at into next_arrival from ${s}.letters l where l.mailbox = p_mailbox order by l.seq limit 1;
  if found then
    update ${s}.mailboxes set lease_until = null, claim = null, due_at = p_now, early = false, head_arrived_at = next_arrival where mailbox = p_mailbox;
  else
    delete from ${s}.mailboxes where mailbox = p_mailbox;
  end if;
  return true;
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
