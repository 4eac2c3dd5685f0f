/**
 * Child of memory-run.ts: stores `argv[2]` realistic Webex deliveries in a MemorySpool the way
 * DELIVERY=queued does (headers as forwarded, the body in a buffer of its own), forces GC, and
 * prints the bytes each stored webhook costs beyond its body, as JSON.
 */
import { MemorySpool } from '../src/delivery/memory-spool';
import { letterMaker } from './stored-letters';

function main(): void {
  const count = Number(process.argv[2]);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  const letterFor = letterMaker();
  const spool = new MemorySpool({ maxBytes: Number.MAX_SAFE_INTEGER, maxDead: 1 });
  gc();
  const before = process.memoryUsage();
  let bodies = 0;
  for (let i = 0; i < count; i++) {
    const letter = letterFor(i, 10_000);
    bodies += letter.body.length;
    if (spool.append(letter) !== 'stored') throw new Error('spool refused a letter');
  }
  gc();
  const after = process.memoryUsage();
  const total = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
  process.stdout.write(JSON.stringify({ count, bodyBytes: bodies / count, bytesPerWebhook: total / count }));
}

main();
