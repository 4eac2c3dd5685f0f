/**
 * Header mode: the key travels in a header (Actorid by default) that the load balancer hashes on
 * (HAProxy `balance hdr(Actorid)`, nginx `hash $http_actorid consistent`).
 */
import type { AffinityStrategy } from './strategy';

/** `headerName` must be lower-case, as Node stores incoming header names. */
export function headerAffinity(headerName: string): AffinityStrategy {
  return {
    sanitize(headers) {
      // Node joins repeated headers into one entry, so one delete removes every copy.
      if (headers[headerName] !== undefined) delete headers[headerName];
    },
    apply(exchange) {
      (exchange.upstreamHeaders ??= {})[headerName] = exchange.key;
    },
  };
}
