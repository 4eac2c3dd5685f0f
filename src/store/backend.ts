/**
 * What a store backend declares, for the table in backends.ts: how it reads its variables, and
 * how it connects. One connection (a session) per proxy carries every part the backend offers:
 * the affinity store, the delivery mailbox's spool and the delivery ids.
 */
import type { EnvReader } from '../config/env-reader';
import type { DeliveryIds } from '../dedupe/delivery-ids';
import type { Spool } from '../delivery/spool';
import type { AffinityStore } from './store';
import type { Clock } from '../core/clock';

/** What every backend is opened with, whatever its own options. */
export interface StoreCommon {
  readonly clock: Clock;
  /** A lookup or write slower than this fails: a miss, or a dropped write (STORE_TIMEOUT_MS). */
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
  /** A spool call slower than this fails (SPOOL_TIMEOUT_MS): the webhook is forwarded directly. */
  readonly timeoutMs: number;
  /** Replicas that must hold a webhook before it is acknowledged (QUEUE_ACK_REPLICAS), where the backend has them. */
  readonly ackReplicas: number;
  /** The store came back without the spool's data; `lost`: webhooks it held, as last seen. */
  readonly onReset?: (lost: number) => void;
  readonly clock: Clock;
}

/** One backend connection, shared by the parts opened from it; each part is opened once at most. */
export interface StoreSession {
  store(): AffinityStore;
  /** The delivery mailbox's spool (DELIVERY=queued): where webhooks wait. */
  spool(common: SpoolCommon): Spool;
  /** The delivery ids seen lately (DEDUPE), shared when the backend is. */
  deliveryIds(): DeliveryIds;
  /** Closes the connection; the parts are unusable after it. Safe to call twice. */
  close(): Promise<void>;
}

export interface StoreBackend<Options> {
  /** Every replica and worker sees the same entries (required with WORKERS > 1 in cookie modes). */
  readonly shared: boolean;
  /** Reads this backend's variables; a bad value is recorded as a problem on the reader. */
  readOptions(read: EnvReader): Options;
  /** Where it lives, fit for the start line and logs (no password). */
  describe(options: Options): string;
  /** A session that connects when its first part is opened. */
  connect(options: Options, common: StoreCommon): StoreSession;
  /**
   * For --check: whether the backend can be reached and is ready for this proxy (a schema
   * current), looked at without changing anything. Backends without it are not contacted.
   */
  inspect?(options: Options): Promise<StoreInspection>;
}

/** What --check says of a store: `ok` false makes it exit 1. */
export interface StoreInspection {
  readonly ok: boolean;
  readonly text: string;
}
