import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applySetCookies, cookieHeader, decodeJar, encodeJar, EXPIRY_REFRESH_MS, MAX_COOKIES_PER_KEY } from '../src/affinity/cookie-jar';

const now = 1_800_000_000_000;
const options = { accepts: () => true, now, ttlMs: 86_400_000 };

describe('cookie jar', () => {
  it('round-trips through its stored form', () => {
    const jar = [
      { name: 'AWSALB', value: 'a+b/c=', expiresAt: now + 1000 },
      { name: 'SERVERID', value: '"quoted"', expiresAt: now + 2000 },
    ];
    assert.deepEqual(decodeJar(encodeJar(jar), now), jar);
  });

  it('drops expired and malformed stored lines', () => {
    const at = (ms: number) => ms.toString(36);
    const text = [`${at(now - 1)} OLD=x`, 'garbage', ` NOEXPIRY=x`, `${at(now + 5)} =novalue`, `zz!! BAD=1`, `${at(now + 5)} OK=1`].join('\n');
    assert.deepEqual(decodeJar(text, now), [{ name: 'OK', value: '1', expiresAt: now + 5 }]);
  });

  it('returns undefined when no Set-Cookie concerns it', () => {
    assert.equal(applySetCookies([], ['session=1'], { ...options, accepts: (n) => n === 'AWSALB' }), undefined);
  });

  it('keeps at most MAX_COOKIES_PER_KEY cookies, the latest ones', () => {
    const many = Array.from({ length: MAX_COOKIES_PER_KEY + 5 }, (_, i) => `c${i}=v`);
    const jar = applySetCookies([], many, options)!;
    assert.equal(jar.length, MAX_COOKIES_PER_KEY);
    assert.equal(jar.at(-1)!.name, `c${MAX_COOKIES_PER_KEY + 4}`);
  });

  it('prefers Max-Age over Expires (RFC 6265 §5.3)', () => {
    const jar = applySetCookies([], ['A=1; Max-Age=10; Expires=Thu, 01 Jan 1970 00:00:00 GMT'], options)!;
    assert.equal(jar[0]!.expiresAt, now + 10_000);
  });

  it('re-stores an unchanged cookie only once its expiry has moved by EXPIRY_REFRESH_MS', () => {
    const jar = applySetCookies([], ['SERVERID=bot1'], options)!;
    assert.equal(applySetCookies(jar, ['SERVERID=bot1'], { ...options, now: now + EXPIRY_REFRESH_MS - 1 }), undefined);
    const refreshed = applySetCookies(jar, ['SERVERID=bot1'], { ...options, now: now + EXPIRY_REFRESH_MS })!;
    assert.equal(refreshed[0]!.expiresAt, now + EXPIRY_REFRESH_MS + options.ttlMs);
    assert.equal(applySetCookies(jar, ['SERVERID=bot2'], { ...options, now: now + 1 })![0]!.value, 'bot2', 'a new value is always stored');
  });

  it('keeps the raw value, never URL-decoding it', () => {
    assert.equal(applySetCookies([], ['A=a%20b'], options)![0]!.value, 'a%20b');
  });

  it('builds the Cookie header from kept inbound pairs and the jar', () => {
    const jar = [{ name: 'A', value: '1', expiresAt: now + 1 }];
    assert.equal(
      cookieHeader('x=1;  A=forged ;y', jar, () => true),
      'x=1; y; A=1',
    );
    assert.equal(
      cookieHeader(undefined, [], () => true),
      undefined,
    );
    assert.equal(
      cookieHeader('B=2', [], (n) => n !== 'B'),
      undefined,
    );
  });
});
