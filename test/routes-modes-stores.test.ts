/**
 * The tables the proxy is built from: the routing seam (fixed target, rendezvous pool), the mode
 * table, and the store backends table.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cookieStrategy } from '../src/affinity/cookie';
import { rendezvousOrder } from '../src/affinity/hash';
import { parseConfig } from '../src/config/config';
import { AFFINITY_MODES, MODES } from '../src/modes';
import { fixedRoute } from '../src/route/fixed';
import { rendezvousRoute } from '../src/route/rendezvous';
import { STORE_BACKENDS, STORE_NAMES, describeStore } from '../src/store/backends';
import { MemoryStore } from '../src/store/memory';
import { UpstreamPool } from '../src/upstream/pool';

describe('routes', () => {
  it('a fixed route offers its target alone, to every request', () => {
    const route = fixedRoute(new URL('http://lb.internal:8080/bots'));
    assert.deepEqual(
      route.candidates('alice').map((c) => c.id),
      ['http://lb.internal:8080/bots'],
    );
    assert.equal(route.candidates(undefined), route.candidates('bob'), 'the same array: nothing allocated per request');
    assert.equal(route.attempts, 1);
    assert.equal(route.pool, undefined);
  });

  it('a rendezvous route offers the key’s order, and drops an instance that cannot be reached', () => {
    const urls = ['http://10.0.0.1:3000', 'http://10.0.0.2:3000', 'http://10.0.0.3:3000'].map((u) => new URL(u));
    const pool = new UpstreamPool(urls, { fall: 2, rise: 2, coolDownMs: 60_000, clock: () => 0 });
    const route = rendezvousRoute(pool, 1);
    const order = rendezvousOrder('alice', pool.members).map((m) => m.id);
    assert.deepEqual(
      route.candidates('alice').map((c) => c.id),
      order,
    );
    assert.equal(route.attempts, 2, 'RETRIES=1: two instances tried at most');

    const first = route.candidates('alice')[0];
    assert.ok(first !== undefined);
    route.unreachable(first, 'ECONNREFUSED');
    route.unreachable(first, 'ECONNREFUSED');
    assert.deepEqual(
      route.candidates('alice').map((c) => c.id),
      order.slice(1),
      'down after HEALTH_CHECK_FALL failures',
    );
    route.close();
  });
});

describe('mode table', () => {
  it('lists every mode once, with the traits the rest of the proxy reads', () => {
    assert.deepEqual([...AFFINITY_MODES], Object.keys(MODES));
    for (const name of AFFINITY_MODES) {
      const mode = MODES[name];
      // A mode learns exactly when it replays cookies, which is what needs a store.
      assert.equal(mode.learns, mode.strategies.includes(cookieStrategy), name);
    }
    assert.deepEqual(
      AFFINITY_MODES.filter((m) => MODES[m].route === 'pool'),
      ['hash'],
    );
  });

  it('names its modes in the configuration’s error message', () => {
    assert.throws(() => parseConfig({ AFFINITY_MODE: 'sticky' }), new RegExp(`expected one of ${AFFINITY_MODES.join(', ')}`));
  });
});

describe('store backends table', () => {
  it('gives STORE its names, and each backend reads its own variables', () => {
    assert.deepEqual([...STORE_NAMES], Object.keys(STORE_BACKENDS));
    assert.throws(() => parseConfig({ STORE: 'mysql' }), new RegExp(`STORE="mysql" is not valid: expected one of ${STORE_NAMES.join(', ')}`));
    const config = parseConfig({ STORE: 'redis', REDIS_URL: 'redis://u:hunter2@r:6379', REDIS_PREFIX: 'p:', AFFINITY_MAX_ENTRIES: '7' });
    assert.equal(describeStore('redis', config.storeOptions), 'Redis at redis://u:***@r:6379 (prefix p:)');
    assert.equal(config.storeOptions.memory.maxEntries, 7);
    const onPostgres = parseConfig({ STORE: 'postgres', DATABASE_URL: 'postgres://bots:hunter2@db1,db2/bots?target_session_attrs=read-write', POSTGRES_SCHEMA: 'wa' });
    assert.equal(describeStore('postgres', onPostgres.storeOptions), 'PostgreSQL at postgres://bots:***@db1,db2/bots?target_session_attrs=read-write (schema wa)');
  });

  it('the memory store is local, always up, and counts its keys', async () => {
    const store = new MemoryStore({ maxEntries: 10 });
    await store.set('alice', 'v', 60_000);
    assert.deepEqual(store.health(), { remote: false, up: true, detail: 'in memory' });
    assert.equal(store.size(), 1);
    await store.ready();
  });
});
