/**
 * Property-based: for arbitrary bodies and keys the upstream receives exactly the bytes sent,
 * the header is the key exactly when the key is a valid header value, and the proxy never
 * crashes or hangs (each request must complete within the test timeout).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { request, startPair, stopPair, type RunningProxy, type Upstream } from './helpers/http';

const RUNS = 150;
// A failing run is replayed with FC_SEED=<seed>; every run says which seed it used.
const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 2 ** 31);
console.log(`properties: fast-check seed ${SEED} (FC_SEED=${SEED} replays this run)`);

/**
 * The key rule, written from its definition rather than from src/request/key.ts: 1 to 256
 * characters, each printable ASCII (space to tilde), the first and last not a space.
 */
function isValidKey(key: string): boolean {
  if (key.length === 0 || key.length > 256) return false;
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) return false;
  }
  return key[0] !== ' ' && key[key.length - 1] !== ' ';
}

describe('properties', () => {
  let upstream: Upstream;
  let proxy: RunningProxy;
  before(async () => ({ upstream, proxy } = await startPair({ MAX_BODY_BYTES: '65536' })));
  after(() => stopPair({ upstream, proxy }));

  async function roundTrip(body: Buffer, contentType = 'application/json') {
    const received = upstream.nextRequest();
    const res = await request(proxy.port, { body, headers: { 'content-type': contentType } });
    assert.equal(res.status, 200);
    return received;
  }

  it('the upstream receives exactly the bytes sent, whatever they are', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), fc.constantFrom('application/json', 'text/plain', 'application/cloudevents+json'), async (bytes, type) => {
        const body = Buffer.from(bytes);
        assert.deepEqual((await roundTrip(body, type)).body, body);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('the upstream receives exactly the JSON text sent, however it is spaced or escaped', async () => {
    await fc.assert(
      fc.asyncProperty(fc.json({ maxDepth: 4 }), fc.constantFrom(0, 2, '\t'), async (text, indent) => {
        const body = Buffer.from(`${JSON.stringify(JSON.parse(text), null, indent)}\n`, 'utf8');
        assert.deepEqual((await roundTrip(body)).body, body);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('the injected header is the key when it is a valid header value, and absent otherwise', async () => {
    const keys = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.stringMatching(/^[A-Za-z0-9+/=_-]{1,120}$/), fc.integer().map(String));
    await fc.assert(
      fc.asyncProperty(keys, fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }), async (key, extra) => {
        const body = Buffer.from(JSON.stringify({ ...extra, actorId: key }), 'utf8');
        const got = await roundTrip(body);
        assert.deepEqual(got.body, body);
        if (isValidKey(key)) assert.equal(got.headers.actorid, key);
        else assert.equal(got.headers.actorid, undefined);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
