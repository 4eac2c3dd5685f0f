/**
 * Child of memory-run.ts: fills a MemoryStore with `argv[2]` actors the way cookie mode does
 * (the stored jar of one AWSALB cookie), forces GC, prints heap bytes per actor as JSON.
 */
import { encodeJar } from '../src/affinity/cookie-jar';
import { MemoryStore } from '../src/store/memory';
import { actorId } from './payloads';
import { AWSALB_COOKIE } from './upstream';

async function main(): Promise<void> {
  const actors = Number(process.argv[2]);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  const value = AWSALB_COOKIE.slice('AWSALB='.length, AWSALB_COOKIE.indexOf(';'));
  gc();
  const before = process.memoryUsage().heapUsed;
  const store = new MemoryStore({ maxEntries: actors });
  const now = Date.now();
  for (let i = 0; i < actors; i++) {
    // The id and the stored text are counted: both are held per actor. The id comes out of
    // JSON.parse, as in the proxy: a flat string (the generator's is a slice of a longer one).
    const key = JSON.parse(`{"actorId":"${actorId(i)}"}`).actorId as string;
    await store.set(key, encodeJar([{ name: 'AWSALB', value, expiresAt: now + 86_400_000 }]), 86_400_000);
  }
  gc();
  const after = process.memoryUsage().heapUsed;
  if (store.size() !== actors) throw new Error(`store holds ${store.size()}, expected ${actors}`);
  process.stdout.write(JSON.stringify({ actors, bytesPerActor: (after - before) / actors }));
}

void main();
