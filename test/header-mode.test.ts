import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, BOT, fixture, rawExchange, request, startPair, startProxy, startUpstream, stopPair, webhook, type RunningProxy, type Upstream } from './helpers/http';

describe('header mode', () => {
  let upstream: Upstream;
  let proxy: RunningProxy;
  before(async () => ({ upstream, proxy } = await startPair({ BOT_PERSONID: `${BOT}, other-bot` })));
  after(() => stopPair({ upstream, proxy }));

  async function forwarded(body: string | Buffer, headers: Record<string, string> = {}) {
    const received = upstream.nextRequest();
    const res = await request(proxy.port, { body, headers });
    assert.equal(res.status, 200);
    return received;
  }

  it('injects Actorid with the actorId of a real Webex delivery', async () => {
    const got = await forwarded(fixture('message-created.json'));
    assert.equal(got.headers.actorid, ALICE);
  });

  it('takes a numeric key as its decimal text', async () => {
    assert.equal((await forwarded(webhook(12345))).headers.actorid, '12345');
  });

  it('removes a spoofed inbound Actorid before injecting the real one', async () => {
    const got = await forwarded(webhook('real-actor'), { ActorID: 'spoofed' });
    assert.equal(got.headers.actorid, 'real-actor');
    assert.equal(got.rawHeaders.filter((h) => h.toLowerCase() === 'actorid').length, 1);
  });

  it('removes every copy of a spoofed Actorid, any case, even when the body has no key', async () => {
    const received = upstream.nextRequest();
    const reply = await rawExchange(
      proxy.port,
      'POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nactorid: one\r\nACTORID: two\r\n' + 'Connection: close\r\nContent-Length: 2\r\n\r\n{}',
    );
    assert.match(reply, /^HTTP\/1\.1 200/);
    const got = await received;
    assert.equal(got.headers.actorid, undefined);
  });

  it('gives no affinity to the bot’s own events (BOT_PERSONID)', async () => {
    const got = await forwarded(fixture('bot-own-message.json'));
    assert.equal(got.headers.actorid, undefined);
    assert.deepEqual(got.body, fixture('bot-own-message.json'));
  });

  it('forwards an event without actorId unchanged, without affinity', async () => {
    const got = await forwarded(fixture('org-alert-no-actor.json'));
    assert.equal(got.headers.actorid, undefined);
    assert.deepEqual(got.body, fixture('org-alert-no-actor.json'));
  });

  for (const [name, value] of [
    ['an object', { id: 1 }],
    ['an empty string', ''],
    ['null', null],
    ['a boolean', true],
  ] as const) {
    it(`forwards without affinity when actorId is ${name}`, async () => {
      assert.equal((await forwarded(webhook(value))).headers.actorid, undefined);
    });
  }

  it('gives no affinity to a key with control characters (no header split)', async () => {
    const got = await forwarded(webhook('alice\r\nX-Injected: 1'));
    assert.equal(got.headers.actorid, undefined);
    assert.equal(got.headers['x-injected'], undefined);
  });

  it('gives no affinity to a key longer than AFFINITY_KEY_MAX_LENGTH', async () => {
    assert.equal((await forwarded(webhook('a'.repeat(257)))).headers.actorid, undefined);
    assert.equal((await forwarded(webhook('a'.repeat(256)))).headers.actorid, 'a'.repeat(256));
  });
});

describe('AFFINITY_KEY paths', () => {
  let upstream: Upstream;
  let proxy: RunningProxy;
  before(async () => ({ upstream, proxy } = await startPair({ AFFINITY_KEY: 'data.roomId, actorId', AFFINITY_HEADER: 'X-Affinity-Key' })));
  after(() => stopPair({ upstream, proxy }));

  it('uses the first path that holds a key, in the configured header', async () => {
    let received = upstream.nextRequest();
    await request(proxy.port, { body: JSON.stringify({ actorId: 'alice', data: { roomId: 'room-1' } }) });
    assert.equal((await received).headers['x-affinity-key'], 'room-1');

    received = upstream.nextRequest();
    await request(proxy.port, { body: JSON.stringify({ actorId: 'alice', data: {} }) });
    const got = await received;
    assert.equal(got.headers['x-affinity-key'], 'alice');
    assert.equal(got.headers.actorid, undefined);
  });

  it('reads own properties only: inherited names are not followed', async () => {
    const received = upstream.nextRequest();
    // "data" is a string: its `roomId`/`length` are not own JSON properties.
    await request(proxy.port, { body: JSON.stringify({ data: 'x', actorId: 'bob' }) });
    assert.equal((await received).headers['x-affinity-key'], 'bob');
  });
});

describe('key paths through __proto__, constructor and prototype', () => {
  it('treats them as plain names, never reading or polluting Object.prototype', async () => {
    const upstream = await startUpstream();
    const proxy = await startProxy(upstream.url, { AFFINITY_KEY: '__proto__.actorId,constructor.name,prototype.x' });
    try {
      let received = upstream.nextRequest();
      await request(proxy.port, { body: '{"__proto__":{"actorId":"polluter","polluted":"yes"}}' });
      assert.equal((await received).headers.actorid, 'polluter', 'an own "__proto__" member is just a name');
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(({} as Record<string, unknown>).actorId, undefined);

      received = upstream.nextRequest();
      await request(proxy.port, { body: '{"a":1}' });
      assert.equal((await received).headers.actorid, undefined, 'inherited constructor.name is not a key');
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });
});
