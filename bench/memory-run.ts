/**
 * npm run bench -- memory: heap bytes per remembered actor in the memory store, measured in a
 * child process started with --expose-gc (bench/memory.ts).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { redisSkipReason } from '../test/helpers/redis';
import { redisSpoolRows } from './redis-spool-memory';

const run = promisify(execFile);

export async function runMemoryBench(sizes: number[]): Promise<void> {
  const rows = ['| actors | heap bytes per actor |', '| ---: | ---: |'];
  for (const actors of sizes) {
    const { stdout } = await run(process.execPath, ['--expose-gc', '--max-old-space-size=4096', join(__dirname, 'memory.js'), String(actors)]);
    const { bytesPerActor } = JSON.parse(stdout) as { bytesPerActor: number };
    rows.push(`| ${actors.toLocaleString('en')} | ${Math.round(bytesPerActor)} |`);
    console.error(`  ${actors} actors: ${Math.round(bytesPerActor)} bytes each`);
  }
  console.log('\nMemory store: Webex-length ids, one AWSALB-sized learned cookie each, after a forced GC.\n');
  console.log(rows.join('\n'));
  await spoolRows(sizes);
  const skip = redisSkipReason();
  if (skip === false) await redisSpoolRows(Math.min(sizes[0]!, 100_000));
  else console.log(`\nRedis spool: not measured (${skip}).`);
}

/** DELIVERY=queued: what one stored webhook costs in the memory spool, beyond its body. */
async function spoolRows(sizes: number[]): Promise<void> {
  const rows = ['| webhooks stored | body bytes | bytes per webhook | beyond the body |', '| ---: | ---: | ---: | ---: |'];
  for (const count of sizes.map((n) => Math.min(n, 200_000))) {
    const { stdout } = await run(process.execPath, ['--expose-gc', '--max-old-space-size=4096', join(__dirname, 'spool-memory.js'), String(count)]);
    const { bodyBytes, bytesPerWebhook } = JSON.parse(stdout) as { bodyBytes: number; bytesPerWebhook: number };
    rows.push(`| ${count.toLocaleString('en')} | ${Math.round(bodyBytes)} | ${Math.round(bytesPerWebhook)} | ${Math.round(bytesPerWebhook - bodyBytes)} |`);
    console.error(`  ${count} webhooks stored: ${Math.round(bytesPerWebhook - bodyBytes)} bytes each beyond the body`);
  }
  console.log('\nDelivery mailbox, memory spool: ~1.2 KB Webex deliveries with their headers, after a forced GC.\n');
  console.log(rows.join('\n'));
}
