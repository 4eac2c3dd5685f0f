import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request, startProxy, startUpstream, webhook, type RunningProxy, type Upstream } from './helpers/http';
import type { Env } from '../src/config/env-reader';

/** A clock the test moves by hand: expiry is tested without sleeping. */
function manualClock(start = Date.UTC(2026, 10, 28, 12, 0, 0)) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('cookie mode', () => {
  let upstream: Upstream;
  let proxy: RunningProxy;
  let setCookies: string[] = [];
  const clock = manualClock();

  async function start(env: Env = {}) {
    setCookies = [];
    upstream = await startUpstream((_req, res) => {
      if (setCookies.length > 0) res.setHeader('set-cookie', setCookies);
      res.end('ok');
    });
    proxy = await startProxy(upstream.url, { AFFINITY_MODE: 'cookie', ...env }, { clock: clock.now });
  }
  afterEach(async () => {
    await proxy.close();
    await upstream.close();
  });

  /** Posts a webhook for `actor`; resolves with the Cookie header the upstream got and the response. */
  async function post(actor: string, headers: Record<string, string> = {}) {
    const received = upstream.nextRequest();
    const res = await request(proxy.port, { body: webhook(actor), headers });
    return { cookie: (await received).headers.cookie, res, headers: (await received).headers };
  }

  it('learns the AWSALB cookie set for a key and replays it on that key’s next webhook', async () => {
    await start();
    setCookies = ['AWSALB=abc123+/=; Expires=Sat, 05 Dec 2026 12:00:00 GMT; Path=/'];
    const first = await post('alice');
    assert.equal(first.cookie, undefined);
    assert.deepEqual(first.res.headers['set-cookie'], setCookies, 'the response reaches the sender unchanged');
    setCookies = [];
    assert.equal((await post('alice')).cookie, 'AWSALB=abc123+/=');
    assert.equal((await post('bob')).cookie, undefined, 'another key gets nothing');
  });

  it('does not inject the affinity header in cookie mode', async () => {
    await start();
    assert.equal((await post('alice')).headers.actorid, undefined);
  });

  it('replaces a rotated cookie with its new value', async () => {
    await start();
    setCookies = ['SERVERID=bot1'];
    await post('alice');
    setCookies = ['SERVERID=bot2'];
    assert.equal((await post('alice')).cookie, 'SERVERID=bot1');
    setCookies = [];
    assert.equal((await post('alice')).cookie, 'SERVERID=bot2');
  });

  it('forgets a cookie on Max-Age=0 and on a past Expires', async () => {
    await start();
    setCookies = ['SERVERID=bot1', 'AWSALB=x'];
    await post('alice');
    setCookies = ['SERVERID=; Max-Age=0'];
    await post('alice');
    setCookies = [];
    assert.equal((await post('alice')).cookie, 'AWSALB=x');
    setCookies = ['AWSALB=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT'];
    await post('alice');
    setCookies = [];
    assert.equal((await post('alice')).cookie, undefined);
  });

  it('stops replaying a cookie when its Max-Age has passed', async () => {
    await start();
    setCookies = ['AWSALB=short; Max-Age=60', 'SERVERID=long; Max-Age=3600'];
    await post('alice');
    setCookies = [];
    clock.advance(59_000);
    assert.equal((await post('alice')).cookie, 'AWSALB=short; SERVERID=long');
    clock.advance(2_000);
    assert.equal((await post('alice')).cookie, 'SERVERID=long');
  });

  it('keeps a cookie no longer than AFFINITY_TTL, whatever its own expiry says', async () => {
    await start({ AFFINITY_TTL: '10' });
    setCookies = ['AWSALB=x; Max-Age=86400'];
    await post('alice');
    setCookies = [];
    clock.advance(9_000);
    assert.equal((await post('alice')).cookie, 'AWSALB=x');
    clock.advance(2_000);
    assert.equal((await post('alice')).cookie, undefined);
  });

  it('does not learn cookies outside AFFINITY_COOKIES', async () => {
    await start();
    setCookies = ['session=secret', 'AWSALB=x'];
    await post('alice');
    setCookies = [];
    assert.equal((await post('alice')).cookie, 'AWSALB=x');
  });

  it('learns every cookie with AFFINITY_COOKIES=*', async () => {
    await start({ AFFINITY_COOKIES: '*' });
    setCookies = ['session=s1', 'other=o1'];
    await post('alice');
    setCookies = [];
    assert.equal((await post('alice')).cookie, 'session=s1; other=o1');
  });

  it('merges with inbound cookies, ours winning on a name clash', async () => {
    await start();
    setCookies = ['SERVERID=bot1'];
    await post('alice');
    setCookies = [];
    const { cookie } = await post('alice', { cookie: 'theme=dark; SERVERID=bot9; lang=en' });
    assert.equal(cookie, 'theme=dark; lang=en; SERVERID=bot1');
  });

  it('drops an inbound affinity cookie so a caller cannot pin a key elsewhere', async () => {
    await start();
    assert.equal((await post('alice', { cookie: 'AWSALB=forged; theme=dark' })).cookie, 'theme=dark');
    assert.equal((await post('alice', { cookie: 'AWSALB=forged' })).cookie, undefined);
  });

  it('leaves the cookies of a request without a key alone', async () => {
    await start();
    const received = upstream.nextRequest();
    await request(proxy.port, { method: 'GET', path: '/ui', headers: { cookie: 'AWSALB=browser' } });
    assert.equal((await received).headers.cookie, 'AWSALB=browser');
  });

  it('never holds more than AFFINITY_MAX_ENTRIES keys (least recently used goes)', async () => {
    await start({ AFFINITY_MAX_ENTRIES: '2' });
    setCookies = ['SERVERID=a'];
    await post('alice');
    setCookies = ['SERVERID=b'];
    await post('bob');
    setCookies = ['SERVERID=c'];
    await post('carol');
    setCookies = [];
    assert.equal((await post('alice')).cookie, undefined, 'alice was evicted');
    assert.equal((await post('bob')).cookie, 'SERVERID=b');
    assert.equal((await post('carol')).cookie, 'SERVERID=c');
  });

  it('ignores malformed and oversized Set-Cookie values and still relays the response', async () => {
    await start();
    setCookies = [`AWSALB=${'x'.repeat(5000)}`, 'SERVERID=a b', 'route', '=novalue', 'GCLB="quoted"'];
    const first = await post('alice');
    assert.equal(first.res.status, 200);
    assert.equal(first.res.headers['set-cookie']?.length, 5);
    setCookies = [];
    assert.equal((await post('alice')).cookie, 'GCLB="quoted"');
  });
});

describe('both mode', () => {
  it('injects the header and replays the cookie together', async () => {
    let setCookies = ['SERVERID=bot2'];
    const upstream = await startUpstream((_req, res) => {
      res.setHeader('set-cookie', setCookies);
      res.end();
    });
    const proxy = await startProxy(upstream.url, { AFFINITY_MODE: 'both' });
    try {
      await request(proxy.port, { body: webhook('alice') });
      setCookies = [];
      const received = upstream.nextRequest();
      await request(proxy.port, { body: webhook('alice') });
      const got = await received;
      assert.equal(got.headers.actorid, 'alice');
      assert.equal(got.headers.cookie, 'SERVERID=bot2');
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });
});
