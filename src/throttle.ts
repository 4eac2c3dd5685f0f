/**
 * A log line that cannot flood: the first occurrence is written at once, later ones within
 * `intervalMs` are only counted and summarised by the next line written after the interval.
 */
import type { Clock } from './core/clock';

export function throttled(write: (line: string) => void, intervalMs: number, clock: Clock = Date.now): (line: string) => void {
  let last = -Infinity;
  let suppressed = 0;
  return (line) => {
    const now = clock();
    if (now - last < intervalMs) {
      suppressed++;
      return;
    }
    write(suppressed > 0 ? `${line} (and ${suppressed} more like it since the last report)` : line);
    last = now;
    suppressed = 0;
  };
}

/**
 * For state changes (an instance down, then up): like `throttled`, but the latest line of a
 * burst is never lost. A line within `intervalMs` of the last one written waits for the end of
 * the interval, replaced by any later one, and is then written with the count of those it stood
 * for; the reader always learns the state things settled in.
 */
export function latestOf(write: (line: string) => void, intervalMs: number): (line: string) => void {
  let last = -Infinity;
  let waiting: string | undefined;
  let replaced = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    timer = undefined;
    if (waiting === undefined) return;
    write(replaced > 0 ? `${waiting} (after ${replaced + 1} changes within ${intervalMs / 1000} s)` : waiting);
    waiting = undefined;
    replaced = 0;
    last = performance.now();
  };
  return (line) => {
    const now = performance.now();
    if (timer === undefined && now - last >= intervalMs) {
      write(line);
      last = now;
      return;
    }
    if (waiting !== undefined) replaced++;
    waiting = line;
    // Unref'd: a pending line must not keep a stopping process alive.
    timer ??= setTimeout(flush, Math.max(0, last + intervalMs - now)).unref();
  };
}
