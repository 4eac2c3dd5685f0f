/**
 * The benchmark must not rot: one short round of every case (`--quick`), and the memory
 * measurement on small counts. No timing is asserted here; only that it runs and reports.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BENCH = join(__dirname, '..', 'bench', 'run.js');

describe('npm run bench (smoke)', () => {
  it('measures every case once and prints the table', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webhook-affinity-bench-smoke-'));
    try {
      const { stdout } = await run(process.execPath, [BENCH, '--quick', '--json', join(dir, 'bench.json')], { timeout: 110_000 });
      assert.match(stdout, /\| case \| req\/s \| p50 ms \| p99 ms \| CPU s \/ 10k req \| peak RSS MiB \| req\/s ÷ bare \|/);
      const raw = JSON.parse(readFileSync(join(dir, 'bench.json'), 'utf8')) as { results: { name: string; runs: { requests: number; errors: number }[] }[] };
      const names = raw.results.map((r) => r.name);
      for (const expected of [
        'upstream direct',
        'bare http-proxy',
        'bare http-proxy, forwarded at once',
        'bare http-proxy, no agent',
        'header mode',
        'cookie mode',
        'hash mode (3 upstreams)',
        'header + signature',
        'header + access log',
      ]) {
        assert.ok(names.includes(expected), `${expected} was measured`);
      }
      for (const r of raw.results) {
        assert.ok(r.runs[0]!.requests > 0, `${r.name} served requests`);
        assert.equal(r.runs[0]!.errors, 0, `${r.name} had no errors`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('measures heap bytes per remembered actor', { timeout: 60_000 }, async () => {
    const { stdout } = await run(process.execPath, [BENCH, 'memory', '--quick'], { timeout: 55_000 });
    const rows = [...stdout.matchAll(/^\| ([\d,]+) \| (\d+) \|$/gm)];
    assert.equal(rows.length, 2);
    for (const row of rows) assert.ok(Number(row[2]) > 0);
  });
});
