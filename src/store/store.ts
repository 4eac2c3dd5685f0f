/**
 * The AffinityStore contract: where learned affinity lives, per key.
 * Every backend (memory, Redis) passes the same shared test suite.
 */
export interface AffinityStore {
  /** The value stored for `key`, or undefined when none or expired. */
  get(key: string): Promise<string | undefined>;
  /**
   * In-process stores: `get` without a promise. Cookie mode then forwards in the same tick as
   * the lookup (a promise and its microtask per webhook are a measurable cost).
   */
  getSync?(key: string): string | undefined;
  /** Stores `value` for `key` for `ttlMs` milliseconds (> 0), replacing any previous value. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Forgets `key`; forgetting an unknown key is not an error. */
  delete(key: string): Promise<void>;
  /** Releases timers and connections. Safe to call twice. */
  close(): Promise<void>;
  /**
   * Networked stores: resolves once connected, rejects when the first attempt fails. The proxy
   * waits for it (briefly) before listening, so its first webhooks do not miss for nothing.
   */
  waitUntilReady?(): Promise<void>;
  /** Networked stores: whether calls can succeed right now (for readiness). */
  readonly ready?: boolean;
}

/** A source of the current time in milliseconds; injected so TTL tests never sleep. */
export type Clock = () => number;
