/**
 * What a store backend declares, for the table in backends.ts: how it reads its variables, how
 * it opens, and what the rest of the proxy may know of it.
 */
import type { EnvReader } from '../config/env-reader';
import type { DeliveryIds } from '../dedupe/delivery-ids';
import type { Spool } from '../delivery/spool';
import type { AffinityStore, Clock } from './store';

/** What every backend is opened with, whatever its own options. */
export interface StoreCommon {
  readonly clock: Clock;
  /** A call slower than this fails: a miss, or a dropped write (STORE_TIMEOUT_MS). */
  readonly timeoutMs: number;
}

/** What a delivery spool is opened with (DELIVERY=queued), whatever the backend. */
export interface SpoolCommon {
  /** Bytes of stored webhooks before new ones are refused (QUEUE_MAX_BYTES). */
  readonly maxBytes: number;
  /** Dead letters kept (DEAD_LETTER_MAX). */
  readonly maxDead: number;
  /** How long a claim lasts unless renewed, for a shared spool (QUEUE_LEASE_MS). */
  readonly leaseMs: number;
  /** A call slower than this fails (STORE_TIMEOUT_MS). */
  readonly timeoutMs: number;
  readonly clock: Clock;
}

export interface StoreBackend<Options> {
  /** Every replica and worker sees the same entries (required with WORKERS > 1 in cookie modes). */
  readonly shared: boolean;
  /** Reads this backend's variables; a bad value is recorded as a problem on the reader. */
  readOptions(read: EnvReader): Options;
  /** Where it lives, fit for the start line and logs (no password). */
  describe(options: Options): string;
  open(options: Options, common: StoreCommon): AffinityStore;
  /** The delivery mailbox's spool in this backend (DELIVERY=queued): where webhooks wait. */
  openSpool(options: Options, common: SpoolCommon): Spool;
  /** The delivery ids seen lately (DEDUPE), shared when the backend is. */
  openDeliveryIds(options: Options, common: StoreCommon): DeliveryIds;
}
