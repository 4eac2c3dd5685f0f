/**
 * A log line that cannot flood: the first occurrence is written at once, later ones within
 * `intervalMs` are only counted and summarised by the next line written after the interval.
 */
import type { Clock } from './store/store';

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
