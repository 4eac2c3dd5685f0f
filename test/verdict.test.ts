/**
 * The status page's verdict (admin/verdict.ts): Not ready with the failing checks, Degraded with
 * each reason, Healthy otherwise; and the last minute's outcomes from the traffic history.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TrafficSample } from '../src/admin/traffic';
import { lastMinuteOf, verdictOf, type VerdictFacts } from '../src/admin/verdict';

const calm: VerdictFacts = { checks: { listening: { ok: true, detail: 'listening' } }, upstreams: [{ url: 'http://a/', state: 'up' }], deadLetters: 0, lastMinute: { affinity: 40, queued: 3 } };

describe('status verdict', () => {
  it('healthy when every check passes and nothing is down, dead or failing', () => {
    assert.deepEqual(verdictOf(calm), { state: 'healthy', reasons: [] });
  });

  it('degraded, with each reason: an instance down, dead letters, the store away, webhooks refused or failing', () => {
    const verdict = verdictOf({
      checks: { listening: { ok: true, detail: 'listening' }, store: { ok: true, degraded: true, detail: 'redis://r:6379 unreachable (ECONNREFUSED)' } },
      upstreams: [
        { url: 'http://a/', state: 'up' },
        { url: 'http://b/', state: 'down' },
      ],
      deadLetters: 3,
      lastMinute: { affinity: 10, 'signature-rejected': 2, 'upstream-timeout': 1, 'direct-fallback': 4 },
    });
    assert.equal(verdict.state, 'degraded');
    assert.deepEqual(verdict.reasons, [
      'store: redis://r:6379 unreachable (ECONNREFUSED)',
      'instance http://b/ is down',
      '3 dead letter(s) waiting',
      '2 webhook(s) in the last minute: refused: bad signature',
      '1 webhook(s) in the last minute: the bot too slow',
      '4 webhook(s) in the last minute: not kept by the mailbox, forwarded directly',
    ]);
  });

  it('queued mode: a bot that stops taking its deliveries makes it degraded at the first retry, before any dead letter', () => {
    const verdict = verdictOf({ ...calm, lastMinuteDeliveries: { delivered: 30, retried: 12 } });
    assert.deepEqual(verdict, { state: 'degraded', reasons: ['12 delivery attempt(s) in the last minute not taken by the bot (to be retried)'] });
    assert.deepEqual(verdictOf({ ...calm, lastMinuteDeliveries: { dead: 2 } }).reasons, ['2 webhook(s) given up on in the last minute (dead letters)']);
  });

  it('not ready, naming the checks that fail (and only them)', () => {
    const verdict = verdictOf({ ...calm, checks: { listening: { ok: false, detail: 'not listening yet' }, store: { ok: true, detail: 'ok' } }, deadLetters: 5 });
    assert.deepEqual(verdict, { state: 'not-ready', reasons: ['listening: not listening yet'] });
  });

  it('the last minute: the newest counters less those of the sample a minute before (or the first)', () => {
    const samples: TrafficSample[] = [
      { at: 0, outcomes: {}, deliveries: {}, buckets: [], deliveryBuckets: [], answeredBy: {}, failedBy: {} },
      { at: 30_000, outcomes: { affinity: 5, 'upstream-failed': 1 }, deliveries: { delivered: 2 }, buckets: [], deliveryBuckets: [], answeredBy: {}, failedBy: {} },
      { at: 62_000, outcomes: { affinity: 9, 'upstream-failed': 1 }, deliveries: { delivered: 4, retried: 1 }, buckets: [], deliveryBuckets: [], answeredBy: {}, failedBy: {} },
      { at: 100_000, outcomes: { affinity: 20, 'upstream-failed': 3 }, deliveries: { delivered: 4, retried: 7, dead: 1 }, buckets: [], deliveryBuckets: [], answeredBy: {}, failedBy: {} },
    ];
    assert.deepEqual(lastMinuteOf(samples), { affinity: 15, 'upstream-failed': 2 });
    assert.deepEqual(lastMinuteOf(samples.slice(0, 2)), { affinity: 5, 'upstream-failed': 1 }, 'less than a minute kept: since the first');
    assert.deepEqual(lastMinuteOf([]), {});
    assert.deepEqual(lastMinuteOf(samples, 'deliveries'), { delivered: 2, retried: 7, dead: 1 }, 'the mailbox: deliveries the same way');
  });
});
