/**
 * The signature schemes beside Webex's, against each platform's vectors (test/fixtures/<platform>/,
 * copied from the shared fixtures): every good delivery accepted, a changed body, a wrong secret
 * or key, a missing or malformed header, and (Slack, Zoom) a stale timestamp refused with its reason.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Verdict } from '../src/signature/scheme';
import type { SignatureSchemeName } from '../src/signature/schemes';
import { signatureVerifier } from '../src/signature/verifier';
import { request, startPair, stopPair } from './helpers/http';

const FIXTURES = join(__dirname, '..', '..', 'test', 'fixtures');

interface Vector {
  readonly secret?: string;
  readonly bodyFile?: string;
  readonly bodyInline?: string;
  readonly header?: string;
  readonly signature?: string;
  readonly headers?: Record<string, string>;
  readonly expect?: 'accept' | 'reject';
  readonly note?: string;
}

const fixtureOf = (platform: string, file: string) => readFileSync(join(FIXTURES, platform, file));
const vectorsOf = (platform: string): Vector[] => JSON.parse(fixtureOf(platform, 'signature-vectors.json').toString('utf8')) as Vector[];
const bodyOf = (platform: string, v: Vector) => (v.bodyFile !== undefined ? fixtureOf(platform, v.bodyFile) : Buffer.from(v.bodyInline ?? '', 'utf8'));

/** The vector's headers as Node presents them (lower-case names), its signature header included. */
function headersOf(v: Vector): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(v.headers ?? {})) headers[name.toLowerCase()] = value;
  if (v.header !== undefined && v.signature !== undefined) headers[v.header.toLowerCase()] = v.signature;
  return headers;
}

/** The verdict of a scheme that answers at once. */
function verdict(result: Verdict | Promise<Verdict>): Verdict {
  assert.ok(!(result instanceof Promise), 'these schemes answer at once');
  return result;
}

/** The signed timestamp of a vector (seconds), as "now" in milliseconds. */
function signedAt(headers: IncomingHttpHeaders, name: string): number {
  return Number(headers[name]) * 1000;
}

describe('signature schemes: HMAC over the body (github)', () => {
  for (const v of vectorsOf('github')) {
    it(`accepts, and refuses when anything changes: ${v.note}`, () => {
      const verifier = signatureVerifier('github', [v.secret ?? '']);
      const body = bodyOf('github', v);
      const headers = headersOf(v);
      assert.deepEqual(verdict(verifier.verify({ headers, body, now: 0 })), { ok: true });
      assert.deepEqual(verdict(verifier.verify({ headers, body: Buffer.concat([body, Buffer.from(' ')]), now: 0 })), { ok: false, reason: 'mismatch' });
      assert.deepEqual(verdict(signatureVerifier('github', ['other']).verify({ headers, body, now: 0 })), { ok: false, reason: 'mismatch' });
      assert.deepEqual(verdict(verifier.verify({ headers: {}, body, now: 0 })), { ok: false, reason: 'missing' });
      assert.deepEqual(verdict(verifier.verify({ headers: { 'x-hub-signature-256': 'sha1=abc' }, body, now: 0 })), { ok: false, reason: 'malformed' });
    });
  }
});

for (const [platform, scheme, timestampHeader] of [
  ['slack', 'slack', 'x-slack-request-timestamp'],
  ['zoom', 'zoom', 'x-zm-request-timestamp'],
] as const) {
  describe(`signature schemes: timestamped HMAC (${platform})`, () => {
    const vectors = vectorsOf(platform);
    const secrets = [...new Set(vectors.map((v) => v.secret ?? ''))];
    for (const v of vectors) {
      it(`accepts within the tolerance, and refuses a stale or changed delivery: ${v.note}`, () => {
        const verifier = signatureVerifier(scheme, secrets, { toleranceMs: 300_000 });
        const body = bodyOf(platform, v);
        const headers = headersOf(v);
        const now = signedAt(headers, timestampHeader);
        assert.deepEqual(verdict(verifier.verify({ headers, body, now: now + 299_000 })), { ok: true });
        assert.deepEqual(verdict(verifier.verify({ headers, body, now: now + 301_000 })), { ok: false, reason: 'stale' });
        assert.deepEqual(verdict(verifier.verify({ headers, body, now: now - 301_000 })), { ok: false, reason: 'stale' });
        assert.deepEqual(verdict(verifier.verify({ headers, body: Buffer.concat([body, Buffer.from('x')]), now })), { ok: false, reason: 'mismatch' });
        assert.deepEqual(verdict(signatureVerifier(scheme, ['other']).verify({ headers, body, now })), { ok: false, reason: 'mismatch' });
      });
    }

    it('refuses a missing timestamp or signature, and a malformed one', () => {
      const verifier = signatureVerifier(scheme, secrets);
      const [first] = vectors;
      assert.ok(first !== undefined);
      const headers = headersOf(first);
      const body = bodyOf(platform, first);
      const without = (name: string) => Object.fromEntries(Object.entries(headers).filter(([n]) => n !== name));
      assert.deepEqual(verdict(verifier.verify({ headers: without(timestampHeader), body, now: 0 })), { ok: false, reason: 'missing' });
      const signatureHeader = Object.keys(headers).find((n) => n.endsWith('signature'));
      assert.ok(signatureHeader !== undefined);
      assert.deepEqual(verdict(verifier.verify({ headers: without(signatureHeader), body, now: 0 })), { ok: false, reason: 'missing' });
      assert.deepEqual(verdict(verifier.verify({ headers: { ...headers, [signatureHeader]: 'v1=00' }, body, now: 0 })), { ok: false, reason: 'malformed' });
    });

    it('signs a fresh delivery the way the platform does, and the proxy checks it against the clock', () => {
      const [first] = vectors;
      assert.ok(first?.secret !== undefined);
      const body = Buffer.from('{"fresh":true}');
      const ts = String(Math.floor(Date.now() / 1000));
      const signature = `v0=${createHmac('sha256', first.secret).update(`v0:${ts}:`).update(body).digest('hex')}`;
      const signatureHeader = Object.keys(headersOf(first)).find((n) => n.endsWith('signature')) ?? '';
      const result = signatureVerifier(scheme, [first.secret]).verify({ headers: { [timestampHeader]: ts, [signatureHeader]: signature }, body, now: Date.now() });
      assert.deepEqual(verdict(result), { ok: true });
    });
  });
}

describe('signature schemes: secret token (telegram)', () => {
  for (const v of vectorsOf('telegram')) {
    it(`${v.expect === 'accept' ? 'accepts' : 'refuses'} ${v.bodyFile}${v.note ? `: ${v.note}` : ''}`, () => {
      const result = verdict(signatureVerifier('telegram', [v.secret ?? '']).verify({ headers: headersOf(v), body: bodyOf('telegram', v), now: 0 }));
      assert.equal(result.ok, v.expect === 'accept');
    });
  }
});

describe('signature schemes: Ed25519 (discord)', () => {
  const { publicKey, vectors } = JSON.parse(fixtureOf('discord', 'signature-vectors.json').toString('utf8')) as { publicKey: string; vectors: Vector[] };
  for (const v of vectors) {
    it(`${v.expect === 'reject' ? 'refuses' : 'accepts'} ${v.bodyFile}: ${v.note}`, () => {
      const verifier = signatureVerifier('discord', [], { publicKeyHex: publicKey });
      const body = bodyOf('discord', v);
      const result = verdict(verifier.verify({ headers: headersOf(v), body, now: 0 }));
      assert.equal(result.ok, v.expect !== 'reject');
      if (result.ok) assert.deepEqual(verdict(verifier.verify({ headers: headersOf(v), body: Buffer.concat([body, Buffer.from(' ')]), now: 0 })), { ok: false, reason: 'mismatch' });
    });
  }

  it('refuses a missing or malformed signature', () => {
    const verifier = signatureVerifier('discord', [], { publicKeyHex: publicKey });
    assert.deepEqual(verdict(verifier.verify({ headers: {}, body: Buffer.from('{}'), now: 0 })), { ok: false, reason: 'missing' });
    assert.deepEqual(verdict(verifier.verify({ headers: { 'x-signature-ed25519': 'zz', 'x-signature-timestamp': '1' }, body: Buffer.from('{}'), now: 0 })), { ok: false, reason: 'malformed' });
  });
});

describe('SIGNATURE_SCHEME in the proxy', () => {
  const cases: [SignatureSchemeName, Record<string, string>, string, Vector][] = [
    ['github', {}, 'github', vectorsOf('github')[1] ?? {}],
    ['telegram', {}, 'telegram', vectorsOf('telegram')[0] ?? {}],
  ];
  for (const [scheme, env, platform, v] of cases) {
    it(`${scheme}: forwards a signed delivery byte for byte, refuses it unsigned (401)`, async () => {
      const pair = await startPair({ SIGNATURE_SCHEME: scheme, WEBHOOK_SECRET: v.secret ?? '', ...env });
      try {
        const body = bodyOf(platform, v);
        const headers = Object.fromEntries(Object.entries(headersOf(v)).map(([n, value]) => [n, String(value)]));
        const received = pair.upstream.nextRequest();
        assert.equal((await request(pair.proxy.port, { body, headers })).status, 200);
        assert.deepEqual((await received).body, body);
        const refused = await request(pair.proxy.port, { body });
        assert.equal(refused.status, 401);
      } finally {
        await stopPair(pair);
      }
    });
  }

  it('discord: checks with DISCORD_PUBLIC_KEY', async () => {
    const { publicKey, vectors } = JSON.parse(fixtureOf('discord', 'signature-vectors.json').toString('utf8')) as { publicKey: string; vectors: Vector[] };
    const [v] = vectors;
    assert.ok(v !== undefined);
    const pair = await startPair({ SIGNATURE_SCHEME: 'discord', DISCORD_PUBLIC_KEY: publicKey });
    try {
      const body = bodyOf('discord', v);
      const headers = Object.fromEntries(Object.entries(headersOf(v)).map(([n, value]) => [n, String(value)]));
      assert.equal((await request(pair.proxy.port, { body, headers })).status, 200);
      assert.equal((await request(pair.proxy.port, { body: Buffer.concat([body, Buffer.from(' ')]), headers })).status, 401);
    } finally {
      await stopPair(pair);
    }
  });
});
