/**
 * npm run bench -- keys: what reading the affinity key costs, in this process, for a Webex
 * delivery padded to 1 KB, 64 KB and 900 KB (its actorId near the start, as Webex writes it):
 * the scanner's way (keyFromBody) against JSON.parse of the whole body.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyFromBody, keyFromDocument, type KeyRules } from '../src/request/key';

const RULES: KeyRules = { keyPaths: [['actorId']], keyMaxLength: 256, botPersonIds: new Set() };

/** The fixture with a `data.text` padding field, to `size` bytes. */
function padded(size: number): Buffer {
  const fixture = JSON.parse(readFileSync(join(__dirname, '..', '..', 'test', 'fixtures', 'message-created.json'), 'utf8')) as Record<string, unknown>;
  const base = JSON.stringify({ ...fixture, padding: '' });
  return Buffer.from(JSON.stringify({ ...fixture, padding: 'x'.repeat(Math.max(0, size - base.length)) }));
}

function microseconds(run: () => unknown, rounds: number): number {
  for (let i = 0; i < Math.min(200, rounds); i++) run();
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const started = performance.now();
    for (let i = 0; i < rounds; i++) run();
    runs.push(((performance.now() - started) * 1000) / rounds);
  }
  return runs.sort((a, b) => a - b)[2]!;
}

export function printKeyCosts(): void {
  console.log('\n| body | µs per key read, keyFromBody | µs, JSON.parse of the whole body | ratio |');
  console.log('| ---: | ---: | ---: | ---: |');
  for (const size of [1024, 64 * 1024, 900 * 1024]) {
    const body = padded(size);
    const rounds = size > 100_000 ? 200 : 5000;
    const found = keyFromBody(body, RULES);
    if (!found.found) throw new Error('the padded fixture has no key');
    const scanned = microseconds(() => keyFromBody(body, RULES), rounds);
    const parsed = microseconds(() => keyFromDocument(JSON.parse(body.toString('utf8')), RULES), rounds);
    console.log(`| ${Math.round(body.length / 1024)} KB | ${scanned.toFixed(1)} | ${parsed.toFixed(1)} | ${(parsed / scanned).toFixed(1)}× |`);
  }
}
