/**
 * What the networked stores' connections (redis-connection.ts, postgres-connection.ts) share:
 * how a call that fails without the store's fault is told apart, and what a part says it does
 * while the store is away. Callers see only a rejection, which each part turns into its fallback.
 */

/** A call refused without being sent: the store is away. */
export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE';
}

/** A call not answered in time. */
export class StoreTimeoutError extends Error {
  readonly code = 'STORE_TIMEOUT';
}

/** What a part says when it uses a connection: named in the one line said per outage. */
export interface StoreUse {
  /** "affinity store", "delivery mailbox", "dedupe". */
  readonly part: string;
  /** What happens to webhooks while the store is away. */
  readonly fallback: string;
}

/** The outage line: where, why, and what each part does until it returns. */
export function outageLine(where: string, reason: string, uses: readonly StoreUse[]): string {
  const parts = uses.map((u) => `${u.part}: ${u.fallback}`).join('; ');
  return `${where} unreachable (${reason})${parts === '' ? '' : `; until it returns, ${parts}`}`;
}

/**
 * `pending`, or a StoreTimeoutError saying `late` once `ms` have passed without its answer;
 * `onLate` runs then (a client that can cancel what it sent does so).
 */
export function withDeadline<T>(pending: Promise<T>, ms: number, late: string, onLate?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      onLate?.();
      reject(new StoreTimeoutError(late));
    }, ms);
  });
  return Promise.race([pending, deadline]).finally(() => clearTimeout(timer));
}
