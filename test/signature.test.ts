import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, request, startPair, startProxy, stopPair, webhook, type RunningProxy, type Upstream } from './helpers/http';
import type { IncomingHttpHeaders } from 'node:http';
import { signatureVerifier, type SignatureVerifier } from '../src/signature/verifier';
import type { RequestOutcome } from '../src/observe/outcomes';

interface Vector {
  secret: string;
  bodyInline?: string;
  bodyFile?: string;
  header: string;
  signature: string;
  note: string;
}
const VECTORS = JSON.parse(readFileSync(join(__dirname, '..', '..', 'test', 'fixtures', 'signature-vectors.json'), 'utf8')) as Vector[];
const bodyOf = (v: Vector) => (v.bodyFile !== undefined ? fixture(v.bodyFile) : Buffer.from(v.bodyInline!, 'utf8'));
const sign = (secret: string, body: string | Buffer) => createHmac('sha1', secret).update(body).digest('hex');

/** Whether `verifier` accepts `body` with `headers` (webex answers at once, without a promise). */
function accepts(verifier: SignatureVerifier, body: Buffer, headers: IncomingHttpHeaders): boolean {
  const verdict = verifier.verify({ headers, body, now: Date.now() });
  assert.ok(!(verdict instanceof Promise), 'webex verifies synchronously');
  return verdict.ok;
}

describe('webex signature scheme', () => {
  for (const v of VECTORS) {
    it(`accepts the published vector: ${v.note}`, () => {
      assert.equal(v.header, 'X-Spark-Signature');
      const verifier = signatureVerifier('webex', [v.secret]);
      assert.equal(accepts(verifier, bodyOf(v), { 'x-spark-signature': v.signature }), true);
    });
    it(`refuses the vector with a changed body, secret or signature: ${v.note}`, () => {
      const body = bodyOf(v);
      assert.equal(accepts(signatureVerifier('webex', [`${v.secret}x`]), body, { 'x-spark-signature': v.signature }), false);
      assert.equal(accepts(signatureVerifier('webex', [v.secret]), Buffer.concat([body, Buffer.from(' ')]), { 'x-spark-signature': v.signature }), false);
      const flipped = (v.signature[0] === '0' ? '1' : '0') + v.signature.slice(1);
      assert.equal(accepts(signatureVerifier('webex', [v.secret]), body, { 'x-spark-signature': flipped }), false);
    });
  }

  it('accepts any of several secrets (rotation)', () => {
    const verifier = signatureVerifier('webex', ['old-secret', 'new-secret']);
    const body = Buffer.from('{"a":1}');
    assert.equal(accepts(verifier, body, { 'x-spark-signature': sign('old-secret', body) }), true);
    assert.equal(accepts(verifier, body, { 'x-spark-signature': sign('new-secret', body) }), true);
    assert.equal(accepts(verifier, body, { 'x-spark-signature': sign('other', body) }), false);
  });

  it('refuses a missing, short, non-hex or upper-case signature', () => {
    const verifier = signatureVerifier('webex', ['s']);
    const body = Buffer.from('{}');
    for (const given of [undefined, '', 'abc', 'z'.repeat(40), sign('s', body).toUpperCase(), `${sign('s', body)}00`]) {
      assert.equal(accepts(verifier, body, given === undefined ? {} : { 'x-spark-signature': given }), false, String(given));
    }
  });
});

describe('WEBHOOK_SECRET set', () => {
  let upstream: Upstream;
  let proxy: RunningProxy;
  const outcomes: RequestOutcome[] = [];
  before(async () => ({ upstream, proxy } = await startPair({ WEBHOOK_SECRET: 'old-secret, s3cr3t-for-tests' }, undefined, { observer: { requestEnded: (r) => outcomes.push(r.outcome) } })));
  after(() => stopPair({ upstream, proxy }));

  it('forwards a signed webhook byte-identical, signature header included', async () => {
    const v = VECTORS.find((x) => x.bodyFile === 'membership-deleted.json')!;
    const body = bodyOf(v);
    const received = upstream.nextRequest();
    const res = await request(proxy.port, { body, headers: { 'X-Spark-Signature': v.signature } });
    assert.equal(res.status, 200);
    const got = await received;
    assert.deepEqual(got.body, body);
    assert.equal(got.headers['x-spark-signature'], v.signature);
  });

  it('answers 401 to a forged or unsigned webhook and forwards nothing', async () => {
    const before = upstream.requests.length;
    const body = webhook('alice');
    const cases: [Record<string, string>, string][] = [
      [{}, 'missing signature'],
      [{ 'X-Spark-Signature': sign('guessed', body) }, 'bad signature'],
      [{ 'X-Spark-Signature': 'nonsense' }, 'malformed signature'],
    ];
    for (const [headers, reason] of cases) {
      const res = await request(proxy.port, { body, headers });
      assert.equal(res.status, 401);
      assert.deepEqual(res.json(), { status: 401, error: 'Unauthorized', message: `${reason} (X-Spark-Signature)` });
    }
    // A signed request after them still goes through, and is the only one the upstream saw.
    const received = upstream.nextRequest();
    assert.equal((await request(proxy.port, { body, headers: { 'X-Spark-Signature': sign('old-secret', body) } })).status, 200);
    await received;
    assert.equal(upstream.requests.length, before + 1);
    assert.deepEqual(outcomes.slice(-4), ['signature-rejected', 'signature-rejected', 'signature-rejected', 'affinity']);
  });

  it('checks POSTs of any content type', async () => {
    const res = await request(proxy.port, { body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 401);
    const body = 'a=1';
    const received = upstream.nextRequest();
    const ok = await request(proxy.port, { body, headers: { 'content-type': 'text/plain', 'X-Spark-Signature': sign('old-secret', body) } });
    assert.equal(ok.status, 200);
    assert.equal((await received).body.toString(), body);
  });

  it('does not check GETs unless VERIFY_ALL_METHODS=true', async () => {
    assert.equal((await request(proxy.port, { method: 'GET', path: '/health' })).status, 200);
    const strict = await startProxy(upstream.url, { WEBHOOK_SECRET: 's', VERIFY_ALL_METHODS: 'true' });
    try {
      assert.equal((await request(strict.port, { method: 'GET', path: '/health' })).status, 401);
      const received = upstream.nextRequest();
      const res = await request(strict.port, { method: 'GET', path: '/health', headers: { 'X-Spark-Signature': sign('s', '') } });
      assert.equal(res.status, 200);
      const got = await received;
      assert.equal(got.method, 'GET');
      assert.equal(got.headers['content-length'], undefined, 'a GET gains no body framing');
    } finally {
      await strict.close();
    }
  });
});
