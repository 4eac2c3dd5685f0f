/**
 * How each request ended, as a closed set listed once: every request is reported exactly once,
 * when its response is done. The metrics (and tests) listen; the pipeline only reports.
 */
export const REQUEST_OUTCOMES = [
  'affinity', // forwarded with affinity added
  'no-key', // a JSON body without a usable key at the configured paths
  'not-json', // read as JSON but not valid JSON
  'invalid-key', // the key held control characters or non-ASCII, or was too long
  'bot', // the key is one of BOT_PERSONID
  'encoded', // a Content-Encoding body: forwarded untouched without a key
  'passthrough', // not a JSON POST: streamed through without reading
  'queued', // DELIVERY=queued: stored in the mailbox and answered QUEUE_ACK_STATUS
  'duplicate', // DEDUPE: a copy of a delivery already taken: answered 200 {"duplicate":true}, not forwarded
  'direct-fallback', // DELIVERY=queued, but the mailbox could not store it: forwarded directly
  'store-refused', // 503: DELIVERY=queued, the mailbox's store is away and QUEUE_WHEN_STORE_DOWN refuses
  'signature-rejected', // 401: missing or wrong webhook signature
  'keys-unavailable', // 503: the platform's signing keys (Teams) could not be fetched
  'too-large', // 413: body over MAX_BODY_BYTES
  'client-aborted', // the client left before its answer (499 in logs)
  'upstream-unreachable', // 502: refused, reset, not resolvable
  'upstream-timeout', // 504
  'upstream-failed', // 502: any other upstream failure
  'no-upstream', // 503: hash mode, every upstream is down
  'overloaded', // 503: the body would push the bytes buffered over MAX_BUFFERED_BYTES
  'internal-error', // 500: a bug
] as const;

export type RequestOutcome = (typeof REQUEST_OUTCOMES)[number];
