/**
 * The Spool contract, as one suite that every spool backend runs (memory now; Redis next).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { letterBytes, type Letter } from '../../src/delivery/letter';
import type { Spool } from '../../src/delivery/spool';

let serial = 0;

/** A letter for `key` (undefined: keyless) with `body` as its text. */
export function letter(key: string | undefined, body: string, arrivedAt = 0): Letter {
  serial++;
  return { id: `d-${serial}`, key, method: 'POST', url: '/webhook', headers: { 'content-type': 'application/json' }, body: Buffer.from(body), arrivedAt };
}

/** Claims everything due at `now`, in the order handed out. */
async function claimAll(spool: Spool, now: number) {
  const claimed = [];
  // One at a time, as a pump with room for one would.
  for (let c = (await spool.claim(now, 1))[0]; c !== undefined; c = (await spool.claim(now, 1))[0]) claimed.push(c);
  return claimed;
}

export function spoolContract(name: string, open: (options: { maxBytes: number; maxDead: number }) => Spool | Promise<Spool>, suite: { skip?: string | false } = {}): void {
  describe(`Spool contract: ${name}`, { skip: suite.skip ?? false }, () => {
    it('hands out one letter per mailbox at a time, in arrival order', async () => {
      const spool = await open({ maxBytes: 1e6, maxDead: 10 });
      for (const text of ['a1', 'a2', 'a3']) assert.equal(await spool.append(letter('alice', text)), 'stored');
      assert.equal(await spool.append(letter('bob', 'b1')), 'stored');
      const first = await claimAll(spool, 0);
      assert.deepEqual(first.map((c) => c.letter.body.toString()).sort(), ['a1', 'b1'], 'the heads only');
      for (const c of first) await spool.settle(c, { kind: 'delivered' }, 0);
      const second = await claimAll(spool, 0);
      assert.deepEqual(
        second.map((c) => c.letter.body.toString()),
        ['a2'],
      );
      await spool.settle(second[0]!, { kind: 'delivered' }, 0);
      assert.deepEqual(
        (await claimAll(spool, 0)).map((c) => c.letter.body.toString()),
        ['a3'],
      );
    });

    it('wakes the mailboxes waiting after no answer, and only those', async () => {
      const spool = await open({ maxBytes: 1e6, maxDead: 10 });
      await spool.append(letter('alice', 'a1'));
      await spool.append(letter('bob', 'b1'));
      const [a, b] = await claimAll(spool, 0);
      await spool.settle(a!, { kind: 'retry', at: 1000, reason: 'upstream unreachable (ECONNREFUSED)', early: true }, 0);
      await spool.settle(b!, { kind: 'retry', at: 1000, reason: 'answered 429' }, 0);
      assert.equal(await spool.wake(10), 1);
      assert.deepEqual(
        (await claimAll(spool, 10)).map((c) => c.letter.body.toString()),
        ['a1'],
        'bob keeps the time he was given',
      );
      assert.equal(await spool.nextDueAt(), 1000);
    });

    it('hands out several due mailboxes at once, up to the number asked for, one head each', async () => {
      const spool = await open({ maxBytes: 1e6, maxDead: 10 });
      for (const key of ['a', 'b', 'c']) {
        await spool.append(letter(key, `${key}1`));
        await spool.append(letter(key, `${key}2`));
      }
      // Equally due mailboxes come in no promised order (a sharded spool walks its shards in turn).
      const batch = (await spool.claim(0, 2)).map((c) => c.letter.body.toString());
      assert.equal(batch.length, 2);
      assert.ok(batch.every((b) => b.endsWith('1')) && new Set(batch).size === 2, `two heads: ${batch.join(', ')}`);
      const rest = (await spool.claim(0, 10)).map((c) => c.letter.body.toString());
      assert.deepEqual([...batch, ...rest].sort(), ['a1', 'b1', 'c1']);
    });

    it('keyless letters are not held behind one another', async () => {
      const spool = await open({ maxBytes: 1e6, maxDead: 10 });
      await spool.append(letter(undefined, 'x'));
      await spool.append(letter(undefined, 'y'));
      assert.deepEqual((await claimAll(spool, 0)).map((c) => c.letter.body.toString()).sort(), ['x', 'y']);
    });

    it('holds a retried head, and what is behind it, until its time; other mailboxes flow', async () => {
      const spool = await open({ maxBytes: 1e6, maxDead: 10 });
      await spool.append(letter('alice', 'a1'));
      await spool.append(letter('alice', 'a2'));
      await spool.append(letter('bob', 'b1'));
      const [a1, b1] = await claimAll(spool, 0);
      assert.equal(a1!.attempt, 1);
      await spool.settle(a1!, { kind: 'retry', at: 100, reason: 'answered 503' }, 0);
      await spool.settle(b1!, { kind: 'delivered' }, 0);
      assert.equal(await spool.nextDueAt(), 100);
      assert.deepEqual(await claimAll(spool, 99), [], 'alice waits, a2 behind a1');
      const again = await claimAll(spool, 100);
      assert.deepEqual(
        again.map((c) => [c.letter.body.toString(), c.attempt]),
        [['a1', 2]],
      );
      await spool.settle(again[0]!, { kind: 'delivered' }, 100);
      assert.deepEqual(
        (await claimAll(spool, 100)).map((c) => [c.letter.body.toString(), c.attempt]),
        [['a2', 1]],
      );
    });

    it('moves a dead head to the dead letters and lets the next one go; replay puts it at the back', async () => {
      const spool = await open({ maxBytes: 1e6, maxDead: 10 });
      const a1 = letter('alice', 'a1', 5);
      await spool.append(a1);
      await spool.append(letter('alice', 'a2'));
      const [c1] = await claimAll(spool, 10);
      await spool.settle(c1!, { kind: 'dead', reason: 'answered 400: refused by the bot' }, 12);
      assert.deepEqual(
        (await spool.deadLetters()).map((d) => [d.letter.id, d.attempts, d.firstAttemptAt, d.lastAttemptAt, d.reason]),
        [[a1.id, 1, 10, 12, 'answered 400: refused by the bot']],
      );
      assert.ok(await spool.replay(a1.id, 15));
      assert.equal((await spool.deadLetters()).length, 0);
      const [c2] = await claimAll(spool, 20);
      assert.equal(c2!.letter.body.toString(), 'a2', 'the replayed letter went to the back');
      await spool.settle(c2!, { kind: 'delivered' }, 20);
      const [c3] = await claimAll(spool, 20);
      assert.deepEqual([c3!.letter.id, c3!.attempt], [a1.id, 1]);
      assert.deepEqual([c3!.letter.arrivedAt, c3!.letter.replayedAt], [a1.arrivedAt, 15], 'its age counts from the replay; its arrival is kept');
      assert.equal(await spool.replay('nope', 20), false);
    });

    it('lists a key’s waiting letters, head first, with the head’s attempts', async () => {
      const spool = await open({ maxBytes: 1e6, maxDead: 10 });
      const [a1, a2] = [letter('alice', 'a1'), letter('alice', 'a2')];
      await spool.append(a1);
      await spool.append(a2);
      await spool.append(letter('bob', 'b1'));
      await claimAll(spool, 10);
      assert.deepEqual(
        (await spool.pendingFor('alice', 10)).map((w) => [w.id, w.url, w.attempts]),
        [
          [a1.id, a1.url, 1],
          [a2.id, a2.url, 0],
        ],
      );
      assert.equal((await spool.pendingFor('alice', 1)).length, 1);
      assert.deepEqual(await spool.pendingFor('nobody', 10), []);
    });

    it('refuses letters past maxBytes, and takes them again once delivered ones free the room', async () => {
      const one = letter('alice', 'x'.repeat(100));
      // Room for two such letters (they are all counted alike), not three.
      const maxBytes = 2 * letterBytes(one) + 10;
      const spool = await open({ maxBytes, maxDead: 10 });
      assert.equal(await spool.append(one), 'stored');
      assert.equal(await spool.append(letter('bob', 'x'.repeat(100))), 'stored');
      assert.equal(await spool.append(letter('carol', 'x'.repeat(100))), 'full');
      const before = await spool.stats(0);
      assert.equal(before.depth, 2);
      assert.ok(before.bytes <= maxBytes);
      const [c] = await claimAll(spool, 0);
      await spool.settle(c!, { kind: 'delivered' }, 0);
      assert.equal(await spool.append(letter('carol', 'x'.repeat(100))), 'stored');
    });

    it('replays a dead letter only when maxBytes leaves room for it', async () => {
      const dead = letter('alice', 'x'.repeat(100));
      const spool = await open({ maxBytes: 2 * letterBytes(dead) + 10, maxDead: 10 });
      assert.equal(await spool.append(dead), 'stored');
      const [c] = await claimAll(spool, 0);
      await spool.settle(c!, { kind: 'dead', reason: 'answered 400' }, 0);
      assert.equal(await spool.append(letter('bob', 'x'.repeat(100))), 'stored');
      assert.equal(await spool.append(letter('carol', 'x'.repeat(100))), 'stored');
      assert.equal(await spool.replay(dead.id, 1), false, 'full: the dead letter stays dead');
      assert.equal((await spool.deadLetters()).length, 1);
      const [next] = await claimAll(spool, 1);
      await spool.settle(next!, { kind: 'delivered' }, 1);
      assert.equal(await spool.replay(dead.id, 2), true, 'room again');
      assert.equal((await spool.stats(2)).depth, 2);
    });

    it('keeps at most maxDead dead letters, dropping the oldest and counting them', async () => {
      const spool = await open({ maxBytes: 1e6, maxDead: 2 });
      for (const key of ['a', 'b', 'c']) await spool.append(letter(key, key));
      for (const c of await claimAll(spool, 0)) await spool.settle(c, { kind: 'dead', reason: 'answered 400' }, 0);
      assert.deepEqual(
        (await spool.deadLetters()).map((d) => d.letter.key),
        ['c', 'b'],
        'newest first',
      );
      assert.equal((await spool.stats(0)).deadDropped, 1);
      const id = (await spool.deadLetters())[0]!.letter.id;
      assert.ok(await spool.forget(id));
      assert.equal(await spool.forget(id), false);
    });

    it('reports depth, mailboxes, in flight and the oldest letter’s age', async () => {
      const spool = await open({ maxBytes: 1e6, maxDead: 10 });
      await spool.append(letter('alice', 'a1', 1000));
      await spool.append(letter('alice', 'a2', 1500));
      await spool.append(letter(undefined, 'k', 1200));
      await spool.claim(2000, 1);
      const stats = await spool.stats(2000);
      assert.deepEqual([stats.depth, stats.keyless, stats.mailboxes, stats.inFlight, stats.oldestAgeMs], [3, 1, 2, 1, 1000]);
    });
  });
}
