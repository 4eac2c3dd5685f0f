import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The demo's tables: title → rows of [actor, instance]. */
function tables(output: string): Map<string, [string, string][]> {
  const result = new Map<string, [string, string][]>();
  for (const block of output.split('\n\n')) {
    const lines = block.split('\n');
    if (!lines.some((l) => l.startsWith('  actor '))) continue;
    const title = output.split('\n\n')[output.split('\n\n').indexOf(block) - 1]!.trim();
    const rows = lines.filter((l) => /^ {2}\S/.test(l) && !l.startsWith('  actor') && !l.startsWith('  ---'));
    result.set(
      title,
      rows.map((l) => [l.slice(2, 10).trim(), l.trim().split(/\s+/).at(-1)!]),
    );
  }
  return result;
}

const sticky = (rows: [string, string][]) => {
  const seen = new Map<string, Set<string>>();
  for (const [who, instance] of rows) if (who !== '(none)') seen.set(who, (seen.get(who) ?? new Set()).add(instance));
  return [...seen.values()].every((s) => s.size === 1);
};

describe('npm run demo', () => {
  it('runs to completion and prints each actor sticking to one instance', { timeout: 60_000 }, async () => {
    const { stdout } = await run(process.execPath, [join(__dirname, '..', 'demo', 'demo.js')], { timeout: 55_000 });
    assert.match(stdout, /\ndone\.\n$/);
    const t = [...tables(stdout)];
    assert.ok(t.length >= 2, 'at least the two hash-mode tables');
    const [[, hash], [, failover]] = t as [[string, [string, string][]], [string, [string, string][]]];
    assert.ok(sticky(hash) && sticky(failover), 'every actor on one instance, before and after the stop');
    assert.ok(
      failover.every(([, instance]) => /^bot-[abc]$/.test(instance)),
      'every webhook still lands',
    );
    const moved = /moved: (.*) \(they were on (bot-[abc])\)/.exec(stdout);
    assert.ok(moved, 'the demo says who moved');
    if (t.length === 4) assert.ok(sticky(t[3]![1]), 'cookie mode through HAProxy keeps actors on one instance');
  });
});
