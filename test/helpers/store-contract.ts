/**
 * The AffinityStore contract, as one suite that every backend runs.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AffinityStore } from '../../src/store/store';

export interface StoreUnderTest {
  readonly store: AffinityStore;
  /** Moves the store's notion of time forward by `ms` (an injected clock, or waiting for real expiry). */
  advance(ms: number): Promise<void>;
}

export function storeContract(name: string, create: () => Promise<StoreUnderTest>, options: { skip?: string | false } = {}): void {
  describe(`AffinityStore contract: ${name}`, { skip: options.skip ?? false }, () => {
    const opened: AffinityStore[] = [];
    async function open(): Promise<StoreUnderTest> {
      const s = await create();
      opened.push(s.store);
      return s;
    }
    after(async () => {
      for (const s of opened) await s.close();
    });

    it('is ready once open, says it is up, and counts its keys or says it cannot', async () => {
      const { store } = await open();
      await store.ready();
      assert.equal(store.health().up, true);
      await store.set('alice', 'a', 60_000);
      const size = store.size();
      assert.ok(size === undefined || size >= 1, `size ${size}`);
    });

    it('returns undefined for an unknown key', async () => {
      const { store } = await open();
      assert.equal(await store.get('nobody'), undefined);
    });

    it('returns what was set', async () => {
      const { store } = await open();
      await store.set('alice', 'AWSALB=1', 60_000);
      assert.equal(await store.get('alice'), 'AWSALB=1');
    });

    it('replaces a value', async () => {
      const { store } = await open();
      await store.set('alice', 'v1', 60_000);
      await store.set('alice', 'v2', 60_000);
      assert.equal(await store.get('alice'), 'v2');
    });

    it('keeps keys apart', async () => {
      const { store } = await open();
      await store.set('alice', 'a', 60_000);
      await store.set('bob', 'b', 60_000);
      assert.equal(await store.get('alice'), 'a');
      assert.equal(await store.get('bob'), 'b');
    });

    it('forgets a deleted key, and deleting an unknown key is fine', async () => {
      const { store } = await open();
      await store.set('alice', 'a', 60_000);
      await store.delete('alice');
      await store.delete('never-set');
      assert.equal(await store.get('alice'), undefined);
    });

    it('forgets a value once its TTL has passed', async () => {
      const s = await open();
      await s.store.set('alice', 'short', 200);
      await s.store.set('bob', 'long', 60_000);
      await s.advance(400);
      assert.equal(await s.store.get('alice'), undefined);
      assert.equal(await s.store.get('bob'), 'long');
    });

    it('stores keys and values with any characters as they are', async () => {
      const { store } = await open();
      const key = 'Y2lzY29zcGFyazovL3VzL1BFT1BMRS8x:{}*?[] é';
      const value = '1764331200000 AWSALB=abc+/=\n1764331200000 SERVERID="x"';
      await store.set(key, value, 60_000);
      assert.equal(await store.get(key), value);
    });

    it('can be closed twice', async () => {
      const { store } = await open();
      await store.close();
      await store.close();
    });
  });
}
