import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { murmur3, rendezvousOrder } from '../src/affinity/hash';
import { PoolMember, UpstreamPool } from '../src/upstream/pool';

const members = (...urls: string[]) => urls.map((u) => new PoolMember(new URL(u)));
const first = (key: string, pool: PoolMember[]) => rendezvousOrder(key, pool)[0]!.id;
const randomKeys = (n: number) => Array.from({ length: n }, () => randomBytes(30).toString('base64url'));
const FOUR = ['http://10.0.0.1:8080', 'http://10.0.0.2:8080', 'http://10.0.0.3:8080', 'http://10.0.0.4:8080'];

describe('murmur3', () => {
  it('matches the reference vectors of MurmurHash3_x86_32', () => {
    assert.equal(murmur3('', 0), 0);
    assert.equal(murmur3('', 1), 0x514e28b7);
    assert.equal(murmur3('hello', 0), 0x248bfa47);
    assert.equal(murmur3('The quick brown fox jumps over the lazy dog', 0), 0x2e4ff723);
  });
});

describe('rendezvous hashing', () => {
  it('maps a key to the same upstream across restarts and any order of UPSTREAMS', () => {
    const keys = randomKeys(500);
    const reference = keys.map((k) => first(k, members(...FOUR)));
    for (const order of [
      [3, 2, 1, 0],
      [1, 3, 0, 2],
      [2, 0, 3, 1],
    ]) {
      const shuffled = members(...order.map((i) => FOUR[i]!));
      assert.deepEqual(
        keys.map((k) => first(k, shuffled)),
        reference,
      );
    }
  });

  it('balances 10 000 random keys over 4 upstreams within ±10 % of a quarter', (t) => {
    const pool = members(...FOUR);
    const counts = new Map<string, number>();
    for (const key of randomKeys(10_000)) counts.set(first(key, pool), (counts.get(first(key, pool)) ?? 0) + 1);
    t.diagnostic(`keys per upstream: ${[...counts.values()].join(', ')}`);
    assert.equal(counts.size, 4);
    for (const n of counts.values()) assert.ok(n >= 2250 && n <= 2750, `${n} is not within 2500 ± 10 %`);
  });

  it('removing one of 4 upstreams moves exactly that upstream’s keys', (t) => {
    const four = members(...FOUR);
    const three = members(...FOUR.slice(0, 3));
    const removed = four[3]!.id;
    let moved = 0;
    for (const key of randomKeys(10_000)) {
      const before = first(key, four);
      const after = first(key, three);
      if (before === removed) {
        moved++;
        assert.equal(after, rendezvousOrder(key, four)[1]!.id, 'a moved key goes to its second choice');
      } else assert.equal(after, before, 'a key of a remaining upstream stays');
    }
    t.diagnostic(`keys moved on removal: ${moved} of 10000`);
  });

  it('adding a fifth upstream moves about a fifth of the keys, all of them to the new one', (t) => {
    const four = members(...FOUR);
    const five = members(...FOUR, 'http://10.0.0.5:8080');
    let moved = 0;
    for (const key of randomKeys(10_000)) {
      const before = first(key, four);
      const after = first(key, five);
      if (after !== before) {
        moved++;
        assert.equal(after, 'http://10.0.0.5:8080/');
      }
    }
    t.diagnostic(`keys moved on adding a fifth: ${moved} of 10000 (${(moved / 100).toFixed(1)} %)`);
    assert.ok(moved >= 1800 && moved <= 2200, `${moved} moved, expected about 2000`);
  });
});

describe('upstream pool', () => {
  it('fails over to the next in the key’s order, and back when the upstream recovers', () => {
    let now = 0;
    const pool = new UpstreamPool(
      FOUR.map((u) => new URL(u)),
      { fall: 2, rise: 2, coolDownMs: 5000, clock: () => now },
    );
    const key = 'alice';
    const [firstChoice, secondChoice] = pool.candidates(key);
    pool.reportFailure(firstChoice!, 'refused');
    assert.equal(pool.candidates(key)[0], firstChoice, 'one failure is not yet FALL');
    pool.reportFailure(firstChoice!, 'refused');
    assert.equal(pool.candidates(key)[0], secondChoice);
    now += 5000;
    assert.equal(pool.candidates(key)[0], firstChoice, 'tried again after the cool-down');
    pool.reportSuccess(firstChoice!);
    assert.equal(firstChoice!.up, true);
  });

  it('rests a recovered-looking upstream again when the retry fails', () => {
    let now = 0;
    const pool = new UpstreamPool([new URL(FOUR[0]!)], { fall: 1, rise: 1, coolDownMs: 1000, clock: () => now });
    const [only] = pool.members;
    pool.reportFailure(only!, 'refused');
    assert.deepEqual(pool.candidates('k'), []);
    assert.equal(pool.retryAfterSeconds(), 1);
    now += 1000;
    pool.reportFailure(only!, 'refused again');
    assert.deepEqual(pool.candidates('k'), []);
  });

  it('spreads keyless requests in turn over the available upstreams', () => {
    const pool = new UpstreamPool(
      FOUR.slice(0, 3).map((u) => new URL(u)),
      { fall: 1, rise: 1, coolDownMs: 1000 },
    );
    const firsts = Array.from({ length: 6 }, () => pool.candidates(undefined)[0]!.id);
    assert.deepEqual(
      firsts.slice(0, 3).sort(),
      FOUR.slice(0, 3)
        .map((u) => `${u}/`)
        .sort(),
    );
    assert.deepEqual(firsts.slice(3), firsts.slice(0, 3));
  });
});
