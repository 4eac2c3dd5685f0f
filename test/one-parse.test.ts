/**
 * One JSON.parse per webhook: the key, the platform's delivery id (dedupe) and its facts (is the
 * answer read by the platform?) are read from one parse of the body, through a real proxy.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, startPair, type RunningProxy, type Upstream } from './helpers/http';

const FIXTURES = join(__dirname, '..', '..', 'test', 'fixtures');

/** Calls `send`, counting the JSON.parse calls made on `text` meanwhile. */
async function parsesOf(text: string, send: () => Promise<unknown>): Promise<number> {
  const original = JSON.parse;
  let count = 0;
  JSON.parse = function counted(this: unknown, ...args: Parameters<typeof JSON.parse>) {
    if (args[0] === text) count++;
    return original.apply(this, args);
  } as typeof JSON.parse;
  try {
    await send();
  } finally {
    JSON.parse = original;
  }
  return count;
}

describe('one parse per webhook', () => {
  const running: { upstream: Upstream; proxy: RunningProxy }[] = [];
  after(async () => {
    for (const { upstream, proxy } of running) {
      await proxy.close();
      await upstream.close();
    }
  });

  for (const [platform, file] of [
    ['slack', 'slack/event-message.json'],
    ['teams', 'teams/conversation-update-members-added.json'],
  ] as const) {
    it(`${platform}: the key, the delivery id and the platform's facts come from one parse`, async () => {
      const pair = await startPair({ PLATFORM: platform, SIGNATURE_SCHEME: 'none', DEDUPE: 'on' });
      running.push(pair);
      const body = readFileSync(join(FIXTURES, file), 'utf8');
      const parses = await parsesOf(body, async () => {
        const res = await request(pair.proxy.port, { body });
        assert.equal(res.status, 200);
      });
      assert.equal(pair.upstream.requests.length, 1, 'forwarded');
      assert.equal(parses, 1);
    });
  }
});
