/**
 * The key of a large body, read by the scanner (src/request/key-scan.ts) instead of JSON.parse:
 * on generated documents — the key early or late, duplicated, escaped, nested, numbers, padding
 * before and after — it finds what JSON.parse finds, or leaves the body to JSON.parse.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { keyFromBody, keyFromDocument, type KeyRules } from '../src/request/key';
import { scanKey } from '../src/request/key-scan';

const RULES: KeyRules = { keyPaths: [['actorId'], ['event', 'user']], keyMaxLength: 256, botPersonIds: new Set(['bot-self']) };
const PAD = 'x'.repeat(17 * 1024);
const seed = process.env.FC_SEED === undefined ? Date.now() : Number(process.env.FC_SEED);

/** A member as written: a name (maybe escaped) and a value's text. */
const name = fc.constantFrom('actorId', 'event', 'user', 'id', 'data', 'act\\u006frId', 'actorid', '__proto__');
const scalar = fc.oneof(
  fc.constantFrom('"alice"', '"bot-self"', '""', '"caf\\u00e9"', '"Y2lzY29zcGFyazovL3VzL1BFT1BMRS8x"', '"a b"', '" lead"', '"émile"', '42', '-0', '1e400', '3.5e2', 'true', 'null'),
  fc.string({ maxLength: 20 }).map((s) => JSON.stringify(s)),
  fc.integer().map(String),
);
const space = fc.constantFrom('', ' ', '\n  ', '\t');
const value: fc.Arbitrary<string> = fc.letrec((tie) => ({
  value: fc.oneof(
    { maxDepth: 3 },
    scalar,
    tie('object'),
    fc.array(scalar, { maxLength: 3 }).map((xs) => `[${xs.join(',')}]`),
  ),
  object: fc.array(fc.tuple(name, tie('value'), space), { maxLength: 4 }).map((members) => `{${members.map(([n, v, s]) => `${s}"${n}"${s}:${s}${v}`).join(',')}}`),
})).value as fc.Arbitrary<string>;

/** A top-level object with the padding member somewhere among its members. */
const document = fc.tuple(fc.option(scalar), fc.array(fc.tuple(name, value, space), { maxLength: 6 }), fc.oneof(fc.constant(99), fc.nat(6)), space).map(([key, members, at, s]) => {
  // Often a key first, as the platforms write it.
  const written = [...(key === null ? [] : [`"actorId":${key}`]), ...members.map(([n, v, sp]) => `${sp}"${n}"${sp}:${sp}${v}`)];
  // Mostly last, where platforms' large fields are; sometimes before the key.
  written.splice(Math.min(at, written.length), 0, `"pad":"${PAD}"`);
  return `${s}{${written.join(',')}}${s}`;
});

describe('the key scanner, against JSON.parse', () => {
  it(`finds what JSON.parse finds in large generated documents (fast-check seed ${seed})`, () => {
    let decided = 0;
    fc.assert(
      fc.property(document, (text) => {
        const body = Buffer.from(text);
        assert.ok(body.length >= 16 * 1024);
        if (scanKey(body, ['actorId']) !== undefined || scanKey(body, ['event', 'user']) !== undefined) decided++;
        assert.deepEqual(keyFromBody(body, RULES), keyFromDocument(JSON.parse(text), RULES), text.replace(PAD, '<pad>'));
      }),
      { seed, numRuns: 2000 },
    );
    // Otherwise the property says nothing about the scanner.
    assert.ok(decided > 300, `the scanner decided only ${decided} of 2000`);
  });

  it('decides a key at the start of a large body, and leaves duplicates, escapes and late keys to JSON.parse', () => {
    const big = (head: string, tail = '') => Buffer.from(`{${head}"pad":"${PAD}"${tail}}`);
    assert.equal(scanKey(big('"actorId":"alice",'), ['actorId']), 'alice');
    assert.equal(scanKey(big('"event":{"type":"message","user":"U1"},'), ['event', 'user']), 'U1');
    assert.equal(scanKey(big('"actorId":12,'), ['actorId']), 12);
    assert.equal(scanKey(big('"actorId":"alice",', ',"actorId":"mallory"'), ['actorId']), undefined, 'a later duplicate');
    assert.equal(scanKey(big('"event":{"user":"U1"},', ',"event":{}'), ['event', 'user']), undefined, 'a later parent');
    assert.equal(scanKey(big('"actorId":"alice",', ',"act\\u006frId":"mallory"'), ['actorId']), undefined, 'an escaped name later');
    assert.equal(scanKey(big('', ',"actorId":"alice"'), ['actorId']), undefined, 'past the scan limit');
    assert.equal(scanKey(big('"actorId":"",'), ['actorId']), undefined, 'empty: the next path decides');
    assert.equal(scanKey(Buffer.from(`["actorId","${PAD}"]`), ['actorId']), undefined, 'not an object');
  });

  it('keeps the outcomes of broken large bodies whose key it cannot reach', () => {
    assert.deepEqual(keyFromBody(Buffer.from(`{"pad":"${PAD}", "actorId": tru}`), RULES), { found: false, outcome: 'not-json' });
    assert.deepEqual(keyFromBody(Buffer.from(`{"actorId":"bot-self","pad":"${PAD}"}`), RULES), { found: false, outcome: 'bot' });
    assert.deepEqual(keyFromBody(Buffer.from(`{"actorId":"a\\nb","pad":"${PAD}"}`), RULES), { found: false, outcome: 'invalid-key' });
  });
});
