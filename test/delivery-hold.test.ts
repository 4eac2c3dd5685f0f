/**
 * DELIVERY=queued in hash mode: a key whose own instance goes down waits for it (QUEUE_HOLD_MS)
 * rather than move, and moves to its next instance only once the hold has passed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rendezvousOrder } from '../src/affinity/hash';
import { Bot } from './helpers/bot';
import { request, startProxy, webhook, type RunningProxy } from './helpers/http';
import { waitFor } from './helpers/wait';

/** Runs `n` rounds of health probes now (HEALTH_CHECK_FALL and _RISE count rounds). */
async function probeRounds(proxy: RunningProxy, n: number): Promise<void> {
  const pool = proxy.proxy.pool;
  assert.ok(pool !== undefined, 'hash mode has a pool');
  for (let i = 0; i < n; i++) await pool.probeAll();
}

/** Two bots answering /health, and the proxy in hash mode, queued, in front of them. */
async function fleet(holdMs: number): Promise<{ bots: Bot[]; proxy: RunningProxy }> {
  const bots = [await new Bot().start(), await new Bot().start()];
  const proxy = await startProxy('', {
    AFFINITY_MODE: 'hash',
    UPSTREAMS: bots.map((b) => b.url).join(','),
    // Probes run when the test says (probeRounds), not on a timer.
    HEALTH_CHECK_PATH: '/health',
    HEALTH_CHECK_INTERVAL_MS: '3600000',
    DELIVERY: 'queued',
    QUEUE_RETRY_MIN_MS: '10',
    QUEUE_RETRY_MAX_MS: '50',
    QUEUE_HOLD_MS: String(holdMs),
    SHUTDOWN_TIMEOUT_MS: '1000',
  });
  return { bots, proxy };
}

/** The bot that owns `key` (first in its rendezvous order), and the other one. */
function owner(proxy: RunningProxy, bots: Bot[], key: string): { own: Bot; other: Bot } {
  const pool = proxy.proxy.pool;
  assert.ok(pool !== undefined);
  const first = rendezvousOrder(key, pool.members)[0];
  const own = bots.find((b) => `${b.url}/` === first?.id);
  const other = bots.find((b) => b !== own);
  assert.ok(own !== undefined && other !== undefined);
  return { own, other };
}

const webhooksOf = (bot: Bot, key: string) => bot.deliveries.filter((d) => d.key === key && d.id !== undefined);

describe('delivery mailbox in hash mode: hold, don’t move', () => {
  it('keeps a key’s webhooks for its own instance while it restarts within QUEUE_HOLD_MS', async () => {
    const { bots, proxy } = await fleet(60_000);
    const { own, other } = owner(proxy, bots, 'alice');
    try {
      await own.stop();
      await probeRounds(proxy, 2);
      for (let seq = 0; seq < 3; seq++) assert.equal((await request(proxy.port, { body: webhook('alice', { seq }) })).status, 200);
      // Held: the mailbox waits rather than try the instance that is up.
      await waitFor(async () => (await proxy.proxy.mailbox?.stats())?.depth === 3, 'three stored');
      await own.start();
      await probeRounds(proxy, 2);
      await waitFor(() => webhooksOf(own, 'alice').length === 3, 'delivered to its own instance once back');
      assert.deepEqual(
        webhooksOf(own, 'alice').map((d) => d.seq),
        [0, 1, 2],
      );
      assert.equal(webhooksOf(other, 'alice').length, 0, 'never moved');
    } finally {
      await proxy.close();
      for (const b of bots) await b.stop();
    }
  });

  it('moves a key to its next instance once its own has been down longer than QUEUE_HOLD_MS; other keys stay', async () => {
    const { bots, proxy } = await fleet(1);
    const { own, other } = owner(proxy, bots, 'alice');
    // A key whose own instance is the one that stays up.
    const stayer = Array.from({ length: 50 }, (_, i) => `key-${i}`).find((k) => owner(proxy, bots, k).own === other);
    assert.ok(stayer !== undefined);
    try {
      await own.stop();
      await probeRounds(proxy, 2);
      await request(proxy.port, { body: webhook('alice', { seq: 0 }) });
      await request(proxy.port, { body: webhook(stayer, { seq: 0 }) });
      await waitFor(() => webhooksOf(other, 'alice').length === 1, 'alice delivered to her next instance');
      await waitFor(() => webhooksOf(other, stayer).length === 1, 'the other key where it always was');
    } finally {
      await proxy.close();
      for (const b of bots) await b.stop();
    }
  });
});
