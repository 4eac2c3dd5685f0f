/**
 * The DeliveryIds contract (DEDUPE), as one suite that every backend runs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DeliveryIds } from '../../src/dedupe/delivery-ids';

export interface DeliveryIdsUnderTest {
  readonly ids: DeliveryIds;
  /** A second view of the same ids (another replica), where the backend is shared; else the same. */
  readonly other: DeliveryIds;
  /** Moves the backend's notion of time forward by `ms`. */
  advance(ms: number): Promise<void>;
}

export function deliveryIdsContract(name: string, open: () => Promise<DeliveryIdsUnderTest>, suite: { skip?: string | false } = {}): void {
  describe(`DeliveryIds contract: ${name}`, { skip: suite.skip ?? false }, () => {
    it('lets the first claim of an id through, and not a copy, on any replica', async () => {
      const { ids, other } = await open();
      await ids.ready();
      assert.equal(await ids.claim('delivery-1', 60_000), true);
      assert.equal(await ids.claim('delivery-1', 60_000), false);
      assert.equal(await other.claim('delivery-1', 60_000), false);
      assert.equal(await other.claim('delivery-2', 60_000), true);
    });

    it('lets a released id through again (its delivery failed)', async () => {
      const { ids, other } = await open();
      assert.equal(await ids.claim('failed-1', 60_000), true);
      await ids.release('failed-1');
      assert.equal(await other.claim('failed-1', 60_000), true);
      await ids.release('never-claimed');
    });

    it('forgets an id once its TTL has passed', async () => {
      const { ids, advance } = await open();
      assert.equal(await ids.claim('old-1', 1000), true);
      await advance(999);
      assert.equal(await ids.claim('old-1', 1000), false);
      await advance(2);
      assert.equal(await ids.claim('old-1', 1000), true);
    });
  });
}
