/**
 * Header mode: the key travels in a header (Actorid by default) that the load balancer hashes on
 * (HAProxy `balance hdr(Actorid)`, nginx `hash $http_actorid consistent`).
 */
import type { AffinityStrategy, StrategyContext } from './strategy';

/** `headerName` must be lower-case, as Node stores incoming header names. */
export function headerAffinity(headerName: string): AffinityStrategy {
  return {
    sanitize(headers) {
      // Node joins repeated headers into one entry, so one delete removes every copy.
      if (headers[headerName] !== undefined) delete headers[headerName];
    },
    apply(exchange) {
      exchange.upstreamHeaders ??= {};
      exchange.upstreamHeaders[headerName] = exchange.key;
    },
  };
}

/** The mode table's entry: AFFINITY_HEADER, unless it is off (hash mode, set empty). */
export function headerStrategy({ config }: StrategyContext): AffinityStrategy | undefined {
  return config.affinityHeader === undefined ? undefined : headerAffinity(config.affinityHeader);
}
