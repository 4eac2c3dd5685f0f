/**
 * Microsoft Teams: Bot Framework JWTs checked against keys from a local OpenID configuration and
 * JWKS server. The shared fixture vectors (signed with the fixture key set's private half), and
 * tokens minted here: clock skew, key rotation, forged key ids, endorsements, and key endpoints
 * that are down. Through the proxy: the 401's reason, the 503, and the delivery byte for byte.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RejectionReason, Verdict } from '../src/signature/scheme';
import { signatureVerifier, type SignatureVerifier } from '../src/signature/verifier';
import { closedPortUrl, request, startPair, stopPair, type RunningProxy, type Upstream } from './helpers/http';
import { mint, signingKey, startKeyServer, TEAMS_APP_ID, type KeyServer } from './helpers/teams-keys';

const FIXTURES = join(__dirname, '..', '..', 'test', 'fixtures', 'teams');
const fixture = (file: string) => readFileSync(join(FIXTURES, file));
const ACTIVITY = fixture('message-personal.json');
const SERVICE_URL = 'https://smba.trafficmanager.net/emea/';

interface Vector {
  readonly name: string;
  readonly headers: { readonly Authorization: string };
  readonly expect: 'accept' | 'reject';
}
const VECTORS = JSON.parse(fixture('signature-vectors.json').toString('utf8')) as { appId: string; vectors: Vector[] };

/** The reason each fixture vector must be refused with. */
const EXPECTED: Record<string, RejectionReason | 'ok'> = {
  good: 'ok',
  'wrong audience': 'wrong-audience',
  'wrong issuer': 'wrong-issuer',
  expired: 'expired',
  'not yet valid': 'not-yet-valid',
  'unknown key id': 'unknown-key',
  'alg none': 'wrong-algorithm',
  'HS256 keyed with the public key': 'wrong-algorithm',
  'serviceurl mismatch': 'wrong-service-url',
  'tampered payload': 'mismatch',
};

const reasonOf = (v: Verdict) => (v.ok ? 'ok' : v.reason);

/** A teams verifier on `server`'s keys; the cooldowns are the proxy's unless a test shortens them. */
function teamsVerifier(server: KeyServer | string, retryAfterFailureMs = 5000, unknownKeyCooldownMs = 60_000): SignatureVerifier {
  const teamsOpenIdUrl = typeof server === 'string' ? server : server.openIdUrl;
  const teamsKeyFetch = { retryAfterFailureMs, unknownKeyCooldownMs, timeoutMs: 2000 };
  return signatureVerifier('teams', [], { teamsAppId: TEAMS_APP_ID, teamsOpenIdUrl, teamsKeyFetch });
}

const check = async (verifier: SignatureVerifier, authorization: string | undefined, body = ACTIVITY, now = Date.now()) =>
  reasonOf(await verifier.verify({ headers: authorization === undefined ? {} : { authorization }, body, now }));

describe('teams scheme: the fixture vectors', () => {
  let keys: KeyServer;
  before(async () => {
    keys = await startKeyServer(JSON.parse(fixture('jwks.json').toString('utf8')) as { keys: unknown[] });
  });
  after(() => keys.close());

  it('accepts the good token and refuses each bad one with its reason', async () => {
    assert.equal(VECTORS.appId, TEAMS_APP_ID);
    const verifier = teamsVerifier(keys);
    assert.equal(VECTORS.vectors.length, Object.keys(EXPECTED).length, 'every vector has an expected reason');
    for (const v of VECTORS.vectors) {
      assert.equal(await check(verifier, v.headers.Authorization), EXPECTED[v.name], v.name);
      assert.equal(EXPECTED[v.name] === 'ok', v.expect === 'accept', `${v.name}: the fixture agrees`);
    }
    assert.equal(keys.fetches.openid, 1, 'the OpenID configuration is read once');
  });

  it('refuses a missing, non-Bearer or malformed Authorization header without fetching anything', async () => {
    const server = await startKeyServer({ keys: [] });
    const verifier = teamsVerifier(server);
    assert.equal(await check(verifier, undefined), 'missing');
    for (const bad of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer not-a-jwt', 'Bearer a.b.c.d']) assert.equal(await check(verifier, bad), 'malformed', bad);
    assert.equal(await check(verifier, 'Bearer e30.e30.AAAA'), 'malformed', 'a header without alg');
    assert.deepEqual(server.fetches, { openid: 0, keys: 0 });
    await server.close();
  });
});

describe('teams scheme: minted tokens', () => {
  const k1 = signingKey('k1');
  let keys: KeyServer;
  before(async () => {
    keys = await startKeyServer({ keys: [k1.jwk] });
  });
  after(() => keys.close());

  it('allows five minutes of clock skew on exp and nbf, not more', async () => {
    const verifier = teamsVerifier(keys);
    const now = Math.floor(Date.now() / 1000);
    const at = (exp: number, nbf: number) => mint(k1, { serviceurl: SERVICE_URL, exp, nbf });
    assert.equal(await check(verifier, `Bearer ${await at(now - 290, now - 3600)}`), 'ok', 'expired 290 s ago');
    assert.equal(await check(verifier, `Bearer ${await at(now - 310, now - 3600)}`), 'expired');
    assert.equal(await check(verifier, `Bearer ${await at(now + 3600, now + 290)}`), 'ok', 'valid in 290 s');
    assert.equal(await check(verifier, `Bearer ${await at(now + 3600, now + 310)}`), 'not-yet-valid');
  });

  it('requires the serviceurl claim when the activity names its serviceUrl', async () => {
    const verifier = teamsVerifier(keys);
    assert.equal(await check(verifier, `Bearer ${await mint(k1, {})}`), 'wrong-service-url');
    const noServiceUrl = Buffer.from(JSON.stringify({ type: 'message', channelId: 'msteams', from: { id: '29:x' } }));
    assert.equal(await check(verifier, `Bearer ${await mint(k1, {})}`, noServiceUrl), 'ok');
  });

  it('refuses a key not endorsed for the activity’s channel', async () => {
    const webchat = signingKey('webchat-only', ['webchat']);
    const server = await startKeyServer({ keys: [webchat.jwk] });
    const token = `Bearer ${await mint(webchat, { serviceurl: SERVICE_URL })}`;
    assert.equal(await check(teamsVerifier(server), token), 'not-endorsed');
    await server.close();
  });

  it('fetches the key set again for a new key id (a rotation)', async () => {
    const server = await startKeyServer({ keys: [k1.jwk] });
    const verifier = teamsVerifier(server, 5000, 0);
    assert.equal(await check(verifier, `Bearer ${await mint(k1, { serviceurl: SERVICE_URL })}`), 'ok');
    assert.equal(server.fetches.keys, 1);
    const k2 = signingKey('k2');
    server.keys = { keys: [k1.jwk, k2.jwk] };
    assert.equal(await check(verifier, `Bearer ${await mint(k2, { serviceurl: SERVICE_URL })}`), 'ok');
    assert.deepEqual(server.fetches, { openid: 1, keys: 2 });
    await server.close();
  });

  it('asks the key endpoint about unknown key ids at most once a minute', async () => {
    const server = await startKeyServer({ keys: [k1.jwk] });
    const verifier = teamsVerifier(server);
    assert.equal(await check(verifier, `Bearer ${await mint(k1, { serviceurl: SERVICE_URL })}`), 'ok');
    // Forged key ids right after the fetch: refused, and the endpoint is not asked again.
    const forged = signingKey('k3');
    server.keys = { keys: [k1.jwk, forged.jwk] };
    for (let i = 0; i < 5; i++) assert.equal(await check(verifier, `Bearer ${await mint(forged, { serviceurl: SERVICE_URL })}`), 'unknown-key');
    assert.deepEqual(server.fetches, { openid: 1, keys: 1 });
    await server.close();
  });

  it('says unavailable (never accepted, never thrown) while the key endpoints are down, and recovers', async () => {
    const token = `Bearer ${await mint(k1, { serviceurl: SERVICE_URL })}`;
    assert.equal(await check(teamsVerifier(`${await closedPortUrl()}/openid`), token), 'unavailable', 'OpenID configuration unreachable');
    const server = await startKeyServer(500);
    const verifier = teamsVerifier(server, 0);
    assert.equal(await check(verifier, token), 'unavailable', 'key set answering 500');
    server.keys = { keys: [k1.jwk] };
    assert.equal(await check(verifier, token), 'ok', 'once the key set is back');
    await server.close();
  });
});

describe('PLATFORM=teams through the proxy', () => {
  const k1 = signingKey('k1');
  let keys: KeyServer;
  let pair: { upstream: Upstream; proxy: RunningProxy };
  before(async () => {
    keys = await startKeyServer({ keys: [k1.jwk] });
    pair = await startPair({ PLATFORM: 'teams', TEAMS_APP_ID, TEAMS_OPENID_URL: keys.openIdUrl });
  });
  after(async () => {
    await stopPair(pair);
    await keys.close();
  });

  it('forwards a verified activity byte for byte, Authorization included, keyed by the sender', async () => {
    const authorization = `Bearer ${await mint(k1, { serviceurl: SERVICE_URL })}`;
    const received = pair.upstream.nextRequest();
    const res = await request(pair.proxy.port, { body: ACTIVITY, headers: { authorization } });
    assert.equal(res.status, 200);
    const got = await received;
    assert.deepEqual(got.body, ACTIVITY);
    assert.equal(got.headers.authorization, authorization);
    assert.equal(got.headers.actorid, '6f0c7f2e-3b1a-4d9e-9c41-2a7e5b8d1c33');
  });

  it('answers 401 with the reason and forwards nothing', async () => {
    const before = pair.upstream.requests.length;
    const otherBot = `Bearer ${await mint(k1, { serviceurl: SERVICE_URL, aud: 'another-bot' })}`;
    const expired = `Bearer ${await mint(k1, { serviceurl: SERVICE_URL, exp: Math.floor(Date.now() / 1000) - 3600 })}`;
    for (const [authorization, message] of [
      [otherBot, 'wrong audience (Authorization)'],
      [expired, 'token expired (Authorization)'],
      ['Bearer x', 'malformed signature (Authorization)'],
    ] as const) {
      const res = await request(pair.proxy.port, { body: ACTIVITY, headers: { authorization } });
      assert.deepEqual([res.status, res.json()], [401, { status: 401, error: 'Unauthorized', message }]);
    }
    assert.equal(pair.upstream.requests.length, before);
  });
});

describe('PLATFORM=teams with its key endpoint down', () => {
  let pair: { upstream: Upstream; proxy: RunningProxy };
  before(async () => {
    pair = await startPair({ PLATFORM: 'teams', TEAMS_APP_ID, TEAMS_OPENID_URL: `${await closedPortUrl()}/openid` });
  });
  after(() => stopPair(pair));

  it('answers 503 with Retry-After, forwards nothing, and keeps serving', async () => {
    const authorization = `Bearer ${await mint(signingKey('k1'), { serviceurl: SERVICE_URL })}`;
    for (let i = 0; i < 3; i++) {
      const res = await request(pair.proxy.port, { body: ACTIVITY, headers: { authorization } });
      assert.equal(res.status, 503);
      assert.equal(res.headers['retry-after'], '5');
      assert.match(String(res.json().message), /signing keys cannot be fetched/);
    }
    assert.equal(pair.upstream.requests.length, 0);
    assert.equal((await request(pair.proxy.port, { method: 'GET', path: '/' })).status, 200, 'the proxy still forwards what needs no check');
    assert.deepEqual(
      pair.upstream.requests.map((r) => r.method),
      ['GET'],
    );
  });
});
