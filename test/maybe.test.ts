/**
 * core/maybe.ts: a value that is here goes on in the same tick (the hot path's promise), one
 * that comes later goes on when it settles, and nothing it throws or rejects goes unhandled.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { goOn, isPending, mapMaybe } from '../src/core/maybe';

/** For a path the test must not take. */
const never = (what: unknown): never => assert.fail(`not expected here: ${String(what)}`);

describe('value or promise (core/maybe.ts)', () => {
  it('a value that is here is used in this tick; a promise once it resolves', async () => {
    const seen: string[] = [];
    const now = mapMaybe(2, (n) => n * 10);
    assert.equal(now, 20, 'no promise for a value that is here');
    goOn('here', (v) => seen.push(v), never);
    assert.deepEqual(seen, ['here'], 'in the same tick');
    const later = mapMaybe(Promise.resolve(3), (n) => n * 10);
    assert.ok(isPending(later));
    assert.equal(await later, 30);
    const arrived = new Promise<void>((resolve) =>
      goOn(
        Promise.resolve('later'),
        (v) => {
          seen.push(v);
          resolve();
        },
        never,
      ),
    );
    assert.deepEqual(seen, ['here'], 'not before the promise settles');
    await arrived;
    assert.deepEqual(seen, ['here', 'later']);
  });

  it('a rejection goes to its handler; without one, mapMaybe rejects', async () => {
    assert.equal(
      await mapMaybe(
        Promise.reject(new Error('away')),
        () => 'value',
        () => 'fallback',
      ),
      'fallback',
    );
    await assert.rejects(Promise.resolve(mapMaybe(Promise.reject(new Error('away')), () => 'value')), /away/);
    const why = await new Promise<unknown>((resolve) => goOn(Promise.reject(new Error('away')), never, never, resolve));
    assert.match(String(why), /away/);
  });

  it('goOn: a throw is the caller’s when the value is here, `crashed`’s when it came later', async () => {
    assert.throws(
      () =>
        goOn(
          1,
          () => {
            throw new Error('bug now');
          },
          never,
        ),
      /bug now/,
    );
    const crashed = await new Promise<unknown>((resolve) =>
      goOn(
        Promise.resolve(1),
        () => {
          throw new Error('bug later');
        },
        resolve,
      ),
    );
    assert.match(String(crashed), /bug later/);
    const inRejected = await new Promise<unknown>((resolve) =>
      goOn(Promise.reject(new Error('away')), never, resolve, () => {
        throw new Error('bug in the fallback');
      }),
    );
    assert.match(String(inRejected), /bug in the fallback/);
  });
});
