/**
 * The one way tests wait for something that happens on its own schedule (a socket, a process,
 * Redis reconnecting): check, let the event loop turn, check again.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface WaitOptions {
  /** Give up after this long (default 5000 ms): the failure names `what`. */
  readonly ms?: number;
  /** Between checks; 0 (the default) waits only for the next turn of the event loop. */
  readonly pauseMs?: number;
  /** Checked after each miss: true means it can no longer happen (a process exited). */
  readonly gaveUp?: () => boolean;
}

/** What a check returns when it is not yet met. */
type NotYet = undefined | false;

/**
 * Resolves with `check()`'s value once it is neither undefined nor false. Fails after
 * `options.ms`, or as soon as `options.gaveUp()` holds, naming `what`.
 */
export async function waitFor<T>(check: () => T | NotYet | Promise<T | NotYet>, what: string, options: WaitOptions = {}): Promise<T> {
  const ms = options.ms ?? 5000;
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (options.gaveUp?.() === true) throw new Error(`${what}: can no longer happen`);
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    if ((options.pauseMs ?? 0) > 0) await delay(options.pauseMs);
    else await new Promise((resolve) => setImmediate(resolve));
  }
}
