/**
 * QUEUE_ACK_REPLICAS: a stored webhook counts as stored once N replicas have it. Redis
 * replication is asynchronous; `WAIT N timeout` blocks until every write sent before it on the
 * same connection reached N replicas (or the timeout passes) and answers how many did.
 *
 * WAIT blocks its connection, so appends and their WAITs go over a connection of their own. And
 * one WAIT covers every write before it: while one is out, the appends finished meanwhile share
 * the next (a group commit), rather than each blocking the connection in turn.
 */
import { Cluster, type Redis } from 'ioredis';
import type { RedisConnection } from '../store/redis-connection';
import { slotOf } from './shards';
import { getOrAdd } from '../core/get-or-add';

interface Round {
  /** Sent, or to be sent once the one before it answers. */
  readonly answer: Promise<number>;
}

const rounds = new WeakMap<Redis, { current: Round | undefined; next: Round | undefined }>();

/** True once `replicas` replicas hold every write this connection sent to the shard of `keyPrefix` so far. */
export async function ackedByReplicas(connection: RedisConnection, keyPrefix: string, replicas: number, timeoutMs: number): Promise<boolean> {
  // The WAIT itself may take timeoutMs; the call gets a second more before it counts as lost.
  const confirmed = await connection.call(timeoutMs + 1000, (client) => nextRound(nodeOf(client, keyPrefix), replicas, timeoutMs).answer);
  return confirmed >= replicas;
}

/** The round a write finished now is covered by: the next WAIT to be sent on `node`. */
function nextRound(node: Redis, replicas: number, timeoutMs: number): Round {
  const s = getOrAdd(rounds, node, () => ({ current: undefined, next: undefined }));
  if (s.current === undefined) {
    s.current = send(node, replicas, timeoutMs, () => (s.current = undefined));
    return s.current;
  }
  s.next ??= {
    answer: s.current.answer.then(
      () => waitTurn(),
      () => waitTurn(),
    ),
  };
  return s.next;

  function waitTurn(): Promise<number> {
    s.next = undefined;
    s.current = send(node, replicas, timeoutMs, () => (s.current = undefined));
    return s.current.answer;
  }
}

function send(node: Redis, replicas: number, timeoutMs: number, done: () => void): Round {
  const answer = node.wait(replicas, timeoutMs).then(Number);
  void answer.then(done, done);
  return { answer };
}

/** The primary serving the shard's slot (a cluster), or the one server. */
function nodeOf(client: Redis | Cluster, keyPrefix: string): Redis {
  if (!(client instanceof Cluster)) return client;
  const tag = /\{([^}]+)\}/.exec(keyPrefix)?.[1] ?? keyPrefix;
  const [primary] = client.slots[slotOf(tag)] ?? [];
  const node = client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === primary);
  if (node === undefined) throw new Error(`no primary known for the shard ${tag}`);
  return node;
}
