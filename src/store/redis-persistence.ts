/**
 * What the delivery spool's Redis can lose, read at start and on every reconnection: a primary
 * with neither AOF, nor RDB snapshots, nor a replica loses every acked webhook when it restarts;
 * QUEUE_ACK_REPLICAS above the replicas it has makes every webhook wait, then go directly.
 * Said once, and again only after it was fixed and came back.
 */
import { Cluster, type Redis } from 'ioredis';
import { logError } from '../log';
import type { RedisConnection } from './redis-connection';

export interface Persistence {
  readonly aof: boolean;
  /** RDB snapshots are configured (`save` not empty); undefined when CONFIG is refused (managed Redis). */
  readonly rdb: boolean | undefined;
  readonly replicas: number;
}

/** Reads one server's persistence and replicas. */
async function persistenceOf(node: Redis): Promise<Persistence> {
  const [persistence, replication] = await Promise.all([node.info('persistence'), node.info('replication')]);
  const field = (text: string, name: string) => new RegExp(`^${name}:(\\S*)`, 'm').exec(text)?.[1];
  let rdb: boolean | undefined;
  try {
    const save = await node.config('GET', 'save');
    rdb = Array.isArray(save) && typeof save[1] === 'string' ? save[1].trim() !== '' : undefined;
  } catch {
    rdb = undefined;
  }
  return { aof: field(persistence, 'aof_enabled') === '1', rdb, replicas: Number(field(replication, 'connected_slaves') ?? 0) };
}

/** How long the persistence questions may take before they are left for the next reconnection. */
const PERSISTENCE_TIMEOUT_MS = 5000;

/** Warns when the spool's primaries can lose acked webhooks, or cannot confirm QUEUE_ACK_REPLICAS. */
export function watchPersistence(connection: RedisConnection, ackReplicas: number): void {
  let warned = '';
  connection.onReady((client) => {
    const nodes = client instanceof Cluster ? client.nodes('master') : [client];
    // Bounded like every other call: a server that stops answering must not leave this waiting.
    const read = (node: Redis) => connection.call(PERSISTENCE_TIMEOUT_MS, () => persistenceOf(node));
    Promise.all(nodes.map(async (node) => ({ at: `${node.options.host}:${node.options.port}`, p: await read(node) }))).then(
      (found) => {
        const volatile = found.filter(({ p }) => !p.aof && p.rdb === false && p.replicas === 0).map(({ at }) => at);
        const short = found.filter(({ p }) => p.replicas < ackReplicas).map(({ at, p }) => `${at} has ${p.replicas}`);
        const lines: string[] = [];
        if (volatile.length > 0) {
          lines.push(
            `delivery mailbox: ${connection.where}: ${volatile.join(', ')} keep(s) no AOF, no RDB snapshot and no replica: acked webhooks are lost if Redis restarts (set appendonly yes, or add a replica and QUEUE_ACK_REPLICAS)`,
          );
        }
        if (short.length > 0)
          lines.push(`delivery mailbox: QUEUE_ACK_REPLICAS=${ackReplicas} but ${short.join(', ')} replica(s): webhooks will be forwarded directly until enough replicas are connected`);
        const now = lines.join('\n');
        if (now !== '' && now !== warned) for (const line of lines) logError(`warning: ${line}`);
        warned = now;
      },
      () => {}, // Asked again at the next reconnection; the calls themselves report an outage.
    );
  });
}
