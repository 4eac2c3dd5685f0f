/**
 * Where Redis is: one server (REDIS_URL), a Sentinel set (REDIS_SENTINELS + REDIS_SENTINEL_NAME)
 * or a Redis Cluster (REDIS_CLUSTER_NODES), with the credentials and TLS for each. Reading only:
 * redis-connection.ts opens it.
 */
import type { EnvReader } from '../config/env-reader';
import { redactUrl } from '../config/redact';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export type RedisTopology =
  | { readonly kind: 'server'; readonly url: string }
  | { readonly kind: 'sentinel'; readonly sentinels: readonly HostPort[]; readonly name: string }
  | { readonly kind: 'cluster'; readonly nodes: readonly HostPort[] };

/**
 * Credentials and TLS for the data nodes of a Sentinel set or a cluster (REDIS_URL carries its
 * own in the URL: redis://user:password@host, rediss:// for TLS).
 */
export interface RedisAuth {
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: boolean;
  /** The sentinels' own password (REDIS_SENTINEL_PASSWORD), when they have one. */
  readonly sentinelPassword: string | undefined;
}

const DEFAULT_URL = 'redis://127.0.0.1:6379';

/** Reads the topology variables; more than one topology, or a malformed list, is a problem. */
export function readTopology(read: EnvReader): { topology: RedisTopology; auth: RedisAuth } {
  const url = read.string('REDIS_URL', DEFAULT_URL);
  if (!/^rediss?:\/\/[^\s]*$/.test(url)) read.problem('REDIS_URL', redactUrl(url), 'a redis:// or rediss:// URL, such as redis://127.0.0.1:6379');
  const sentinels = hostPorts(read, 'REDIS_SENTINELS', read.list('REDIS_SENTINELS', ''), 26379);
  const name = read.string('REDIS_SENTINEL_NAME', 'mymaster');
  const nodes = hostPorts(read, 'REDIS_CLUSTER_NODES', read.list('REDIS_CLUSTER_NODES', ''), 6379);
  // REDIS_URL at its default (as .env.example writes it) names no topology of its own.
  const chosen = [url !== DEFAULT_URL && 'REDIS_URL', sentinels.length > 0 && 'REDIS_SENTINELS', nodes.length > 0 && 'REDIS_CLUSTER_NODES'].filter((v) => v !== false);
  if (chosen.length > 1)
    read.problem(chosen[1]!, read.given(chosen[1]!) ?? '', `unset: ${chosen.join(' and ')} each name a Redis topology; set only one of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES`);
  const auth: RedisAuth = {
    username: read.string('REDIS_USERNAME', '') || undefined,
    password: read.string('REDIS_PASSWORD', '') || undefined,
    tls: read.boolean('REDIS_TLS', false),
    sentinelPassword: read.string('REDIS_SENTINEL_PASSWORD', '') || undefined,
  };
  if (sentinels.length > 0) return { topology: { kind: 'sentinel', sentinels, name }, auth };
  if (nodes.length > 0) return { topology: { kind: 'cluster', nodes }, auth };
  return { topology: { kind: 'server', url }, auth };
}

/** For the start line and logs: where it is, without a password. */
export function describeTopology(topology: RedisTopology): string {
  const list = (hosts: readonly HostPort[]) => hosts.map((h) => `${h.host}:${h.port}`).join(',');
  if (topology.kind === 'sentinel') return `Redis Sentinel ${topology.name} via ${list(topology.sentinels)}`;
  if (topology.kind === 'cluster') return `Redis Cluster via ${list(topology.nodes)}`;
  return `Redis at ${redactUrl(topology.url)}`;
}

/** `host:port,host:port` (IPv6 as [::1]:6379) as listed in `name`; the port defaults to `defaultPort`. */
function hostPorts(read: EnvReader, name: string, items: readonly string[], defaultPort: number): HostPort[] {
  const parsed: HostPort[] = [];
  for (const item of items) {
    const m = /^(\[[0-9a-f:.]+\]|[^\s:[\]]+)(?::(\d{1,5}))?$/i.exec(item);
    const port = m?.[2] === undefined ? defaultPort : Number(m[2]);
    if (m === null || port < 1 || port > 65535) {
      read.problem(name, item, 'a comma-separated list of host:port, such as 10.0.0.5:26379,10.0.0.6:26379');
      continue;
    }
    parsed.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port });
  }
  return parsed;
}
