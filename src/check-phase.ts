/**
 * Runs work after the event loop's poll phase instead of at once: everything queued during one
 * pass of the loop runs together, in order, from a single setImmediate.
 *
 * Why: a proxy under load that forwards each request the moment it has read it interleaves
 * reading clients, writing upstreams and reading answers one request at a time. Reading all
 * that is ready first and then forwarding it all measured 1.2–1.3× the requests per second on
 * the same machine, with about a quarter less CPU per request (README, Performance); the wait
 * is at most one pass of the loop, microseconds when it is idle.
 */
export function inCheckPhase<A, B>(run: (a: A, b: B) => void): (a: A, b: B) => void {
  let queue: unknown[] = [];
  const flush = (): void => {
    const batch = queue;
    queue = [];
    for (let i = 0; i < batch.length; i += 2) run(batch[i] as A, batch[i + 1] as B);
  };
  return (a, b) => {
    if (queue.length === 0) setImmediate(flush);
    queue.push(a, b);
  };
}
