import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../src/store/memory';
import { storeContract } from './helpers/store-contract';

storeContract('memory', async () => {
  let now = 1_000_000;
  const store = new MemoryStore({ maxEntries: 1000, clock: () => now });
  return {
    store,
    advance: async (ms) => {
      now += ms;
    },
  };
});

describe('MemoryStore', () => {
  it('evicts the least recently used key beyond maxEntries', async () => {
    const store = new MemoryStore({ maxEntries: 2 });
    await store.set('a', '1', 60_000);
    await store.set('b', '2', 60_000);
    await store.get('a'); // a is now more recent than b
    await store.set('c', '3', 60_000);
    assert.equal(store.size(), 2);
    assert.equal(await store.get('b'), undefined);
    assert.equal(await store.get('a'), '1');
    assert.equal(await store.get('c'), '3');
  });

  it('refuses a bad bound at construction', () => {
    assert.throws(() => new MemoryStore({ maxEntries: 0 }), /maxEntries must be a whole number/);
  });
});
