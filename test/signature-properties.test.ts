/**
 * Property-based, for every signature scheme: a body signed as the platform signs it verifies;
 * any other body under that signature, and any bytes in place of a signature header, are refused
 * with a reason, never with an exception; through the proxy, nothing refused reaches the bot.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { IncomingHttpHeaders } from 'node:http';
import { parseConfig } from '../src/config/config';
import { REJECTION_TEXT, type Verdict } from '../src/signature/scheme';
import { SIGNATURE_SCHEME_NAMES, type SignatureSchemeName } from '../src/signature/schemes';
import { verifierFor, type SignatureVerifier } from '../src/signature/verifier';
import { request, startPair, stopPair } from './helpers/http';
import { signers, type Signer } from './helpers/signers';
import { startKeyServer, type KeyServer } from './helpers/teams-keys';

const RUNS = 60;
const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 2 ** 31);
console.log(`signature properties: fast-check seed ${SEED} (FC_SEED=${SEED} replays this run)`);

/** Schemes whose signature covers every byte of the body (Telegram's token and Teams' JWT do not). */
const COVERS_BODY: ReadonlySet<SignatureSchemeName> = new Set(['webex', 'github', 'slack', 'zoom', 'discord']);

/** The verdict, with a thrown exception turned into a failed assertion. */
async function verdictOf(verifier: SignatureVerifier, headers: IncomingHttpHeaders, body: Buffer): Promise<Verdict> {
  return verifier.verify({ headers, body, now: Date.now() });
}

function assertRefused(verdict: Verdict, what: string): void {
  assert.equal(verdict.ok, false, what);
  if (!verdict.ok) assert.ok(Object.hasOwn(REJECTION_TEXT, verdict.reason) && verdict.reason !== 'unavailable', `${what}: ${verdict.reason}`);
}

describe('signature schemes, property-based', () => {
  let keys: KeyServer;
  let all: Record<SignatureSchemeName, Signer>;
  before(async () => {
    keys = await startKeyServer({ keys: [] });
    const made = signers(keys.openIdUrl);
    keys.keys = made.teamsJwks;
    all = made.signers;
  });
  after(() => keys.close());

  for (const name of SIGNATURE_SCHEME_NAMES) {
    it(`${name}: the signed body verifies; another body or other header bytes are refused with a reason`, async () => {
      const signer = all[name];
      const verifier = verifierFor(parseConfig(signer.env));
      assert.ok(verifier !== undefined, 'the signer’s variables turn verification on');
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.uint8Array({ maxLength: 2048 }), fc.string({ maxLength: 200 }), async (a, b, noise) => {
          const body = Buffer.from(a);
          const headers = await signer.sign(body, Date.now());
          assert.deepEqual(await verdictOf(verifier, headers, body), { ok: true });
          const other = Buffer.from(b);
          if (COVERS_BODY.has(name) && !other.equals(body)) assertRefused(await verdictOf(verifier, headers, other), 'another body');
          for (const header of Object.keys(headers)) {
            if (noise === headers[header]) continue;
            assertRefused(await verdictOf(verifier, { ...headers, [header]: noise }, body), `${header}: ${JSON.stringify(noise)}`);
            const { [header]: _dropped, ...without } = headers;
            assertRefused(await verdictOf(verifier, without, body), `${header} missing`);
          }
        }),
        { numRuns: RUNS, seed: SEED },
      );
    });
  }

  for (const name of SIGNATURE_SCHEME_NAMES) {
    it(`${name}: through the proxy, whatever is refused reaches nothing`, async () => {
      const signer = all[name];
      const pair = await startPair({ ...signer.env, AFFINITY_KEY: 'user' });
      try {
        await fc.assert(
          fc.asyncProperty(fc.uint8Array({ maxLength: 1024 }), fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 120 }), async (bytes, noise) => {
            const body = Buffer.from(bytes);
            const headers = await signer.sign(body, Date.now());
            const before = pair.upstream.requests.length;
            for (const header of Object.keys(headers)) {
              if (noise.trim() === headers[header]) continue;
              const res = await request(pair.proxy.port, { body, headers: { ...headers, [header]: noise } });
              assert.equal(res.status, 401, `${header}: ${JSON.stringify(noise)}`);
            }
            assert.equal(pair.upstream.requests.length, before, 'nothing refused was forwarded');
            const received = pair.upstream.nextRequest();
            assert.equal((await request(pair.proxy.port, { body, headers })).status, 200);
            assert.deepEqual((await received).body, body);
          }),
          { numRuns: 20, seed: SEED },
        );
      } finally {
        await stopPair(pair);
      }
    });
  }
});
