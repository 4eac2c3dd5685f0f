/**
 * A value now, or a promise of it later: what every part with an in-process and a networked
 * variant answers (the memory store and spool at once, Redis and PostgreSQL later; a signature
 * checked locally, or against keys fetched over the network).
 *
 * The hot path goes on in the same tick when the value is here: a microtask per step per webhook
 * is measurable (`npm run bench -- instructions`). These helpers are the one way the code branches
 * on "here or later", so that choice is made in one place.
 */

export type Maybe<T> = T | Promise<T>;

/** True when the value comes later: an async caller awaits only then, and keeps its tick otherwise. */
export function isPending<T>(value: Maybe<T>): value is Promise<T> {
  return value instanceof Promise;
}

/**
 * `next(value)`: in this tick when the value is here, once it resolves when it comes later.
 * `rejected` answers a promise that fails (without it, the returned promise rejects).
 */
export function mapMaybe<T, R>(value: Maybe<T>, next: (value: T) => R, rejected?: (err: unknown) => R): Maybe<R> {
  if (!isPending(value)) return next(value);
  return rejected === undefined ? value.then(next) : value.then(next, rejected);
}

/**
 * Goes on with `next(value)` and returns nothing: in this tick when the value is here (a throw
 * reaches the caller), or later; then a rejection goes to `rejected` (default `crashed`), and a
 * throw inside `next` or `rejected` to `crashed`, so nothing goes unhandled.
 */
export function goOn<T>(value: Maybe<T>, next: (value: T) => void, crashed: (err: unknown) => void, rejected: (err: unknown) => void = crashed): void {
  if (isPending(value)) value.then(next, rejected).catch(crashed);
  else next(value);
}
