/**
 * The AffinityStore contract: where learned affinity lives, per key. Every backend implements
 * all of it, and passes the same shared test suite (test/helpers/store-contract.ts).
 */
import type { Maybe } from '../core/maybe';

/** Whether a store's calls can succeed now, for readiness and metrics. */
export interface StoreHealth {
  /** Networked (shared by replicas, and can be unreachable) rather than in this process. */
  readonly remote: boolean;
  /** Calls can succeed now. */
  readonly up: boolean;
  /** In words, for /readyz: "Redis connected", "Redis unreachable". */
  readonly detail: string;
}

export interface AffinityStore {
  /**
   * The value stored for `key`, or undefined when none or expired. An in-process store answers
   * at once, without a promise: cookie mode then forwards in the same tick as the lookup (a
   * promise and its microtask per webhook are a measurable cost).
   */
  get(key: string): Maybe<string | undefined>;
  /** Stores `value` for `key` for `ttlMs` milliseconds (> 0), replacing any previous value. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Forgets `key`; forgetting an unknown key is not an error. */
  delete(key: string): Promise<void>;
  /** Releases timers and connections. Safe to call twice. */
  close(): Promise<void>;
  /**
   * Resolves once calls can succeed, rejects when the first connection attempt fails (a
   * networked store keeps trying). The proxy waits for it, briefly, before listening.
   */
  ready(): Promise<void>;
  health(): StoreHealth;
  /** Keys held, when the store can count them without a round trip; undefined otherwise. */
  size(): number | undefined;
}
