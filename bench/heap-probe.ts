/**
 * Preloaded into a proxy the bench starts (`node --expose-gc -r build/bench/heap-probe.js`): on
 * SIGUSR2 it collects garbage and writes process.memoryUsage() as JSON to HEAP_PROBE_FILE, so the
 * bench can read what the live heap holds at a moment of its choosing.
 */
import { writeFileSync } from 'node:fs';

const file = process.env.HEAP_PROBE_FILE;
const gc = (globalThis as { gc?: () => void }).gc;
if (file !== undefined && gc !== undefined) {
  process.on('SIGUSR2', () => {
    gc();
    writeFileSync(file, JSON.stringify(process.memoryUsage()));
  });
}
