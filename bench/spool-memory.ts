/**
 * Child of memory-run.ts: stores `argv[2]` realistic Webex deliveries in a MemorySpool the way
 * DELIVERY=queued does (headers as forwarded, the body in a buffer of its own), forces GC, and
 * prints the bytes each stored webhook costs beyond its body, as JSON.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Letter } from '../src/delivery/letter';
import { MemorySpool } from '../src/delivery/memory-spool';
import { actorId, webexPayloads } from './payloads';

function main(): void {
  const count = Number(process.argv[2]);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  const fixture = readFileSync(join(__dirname, '..', '..', 'test', 'fixtures', 'message-created.json'), 'utf8');
  const [payload] = webexPayloads(fixture, [actorId(0)]);
  if (payload === undefined) throw new Error('no payload');
  const spool = new MemorySpool({ maxBytes: Number.MAX_SAFE_INTEGER, maxDead: 1 });
  gc();
  const before = process.memoryUsage();
  let bodies = 0;
  for (let i = 0; i < count; i++) {
    const body = Buffer.from(payload.body.replace(actorId(0), actorId(i % 10_000)));
    bodies += body.length;
    // What letterOf() keeps of a Webex delivery: its headers as forwarded, X-Forwarded-* added.
    const letter: Letter = {
      id: crypto.randomUUID(),
      key: JSON.parse(`{"k":"${actorId(i % 10_000)}"}`).k as string,
      method: 'POST',
      url: '/webhook',
      headers: {
        host: 'bots.example.com',
        'user-agent': 'Java/1.8.0_301',
        'content-type': 'application/json; charset=utf-8',
        ...payload.headers,
        trackingid: `WH_${i.toString(16).padStart(32, '0')}`,
        'x-forwarded-for': '146.20.231.19',
        'x-forwarded-port': '443',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'bots.example.com',
      },
      body,
      arrivedAt: Date.now(),
    };
    if (spool.append(letter) !== 'stored') throw new Error('spool refused a letter');
  }
  gc();
  const after = process.memoryUsage();
  const total = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
  process.stdout.write(JSON.stringify({ count, bodyBytes: bodies / count, bytesPerWebhook: total / count }));
}

main();
