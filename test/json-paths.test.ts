/**
 * The key scanner must read exactly what JSON.parse reads: same valid/invalid verdict, same
 * values at every path, on generated JSON full of duplicate names, escapes, odd numbers and
 * nesting, on the same text damaged byte by byte, and on random bytes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { compilePaths, NOT_JSON, UNSUPPORTED, valuesAt } from '../src/request/json-paths';
import { keyFromBody, parsedValuesAt } from '../src/request/key';

const RUNS = 2000;

/** What the key rules can use of a value: strings and numbers; anything else reads as undefined. */
const usable = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? v : undefined);

function assertSameAsJsonParse(body: Buffer, paths: readonly (readonly string[])[]): void {
  const reference = parsedValuesAt(body, paths);
  const expected = reference === NOT_JSON ? NOT_JSON : reference.map(usable);
  let scanned = valuesAt(body, compilePaths(paths));
  if (scanned === UNSUPPORTED) scanned = expected; // the caller falls back to JSON.parse
  assert.deepStrictEqual(scanned, expected, `body ${JSON.stringify(body.toString('latin1'))}, paths ${JSON.stringify(paths)}`);
}

// Names that collide, repeat, escape and nest.
const name = fc.constantFrom('"a"', '"actorId"', '"data"', '"personId"', '"__proto__"', '"b\\u0061"', '"ba"', '"\\u0061"', '"é"', '"act\\u006frId"', '""');
const space = fc.constantFrom('', ' ', '\n', '\t ', '\r\n');
const string = fc.oneof(
  fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
  fc.string({ unit: 'binary', maxLength: 6 }).map((s) => JSON.stringify(s)),
  fc.stringMatching(/^[A-Za-z0-9+/=_-]{1,40}$/).map((s) => `"${s}"`),
  fc.constantFrom('"\\u0041b"', '"a\\"b"', '"\\ud800"', '"é"', '""', '" x "', '"a\\/b"', '"\\t"'),
);
const number = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.constantFrom('-0', '0', '1e400', '-1E-2', '0.5', '10', '1.0e+2', '123456789012345678901234567890'),
);
const { value: jsonText } = fc.letrec<{ value: string; object: string; array: string }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, string, number, fc.constantFrom('true', 'false', 'null'), tie('object'), tie('array')),
  object: fc
    .array(fc.tuple(name, space, space, tie('value')), { maxLength: 6 })
    .map((members) => `{${members.map(([n, s1, s2, v]) => `${s1}${n}${s2}:${s1}${v}${s2}`).join(',')}}`),
  array: fc.array(tie('value'), { maxLength: 4 }).map((values) => `[${values.join(', ')}]`),
}));
const document = fc.oneof({ weight: 4, arbitrary: jsonText.filter((t) => t.startsWith('{')) }, { weight: 1, arbitrary: jsonText });
const paths = fc.array(
  fc.constantFrom(['actorId'], ['data', 'personId'], ['a'], ['a', 'a'], ['__proto__'], ['ba'], ['é'], ['data'], ['a', 'ba', 'a'], ['']),
  { minLength: 1, maxLength: 3 },
);

describe('reading key paths without JSON.parse', () => {
  it('agrees with JSON.parse on generated JSON', () => {
    fc.assert(
      fc.property(document, space, paths, (text, pad, p) => assertSameAsJsonParse(Buffer.from(pad + text + pad, 'utf8'), p)),
      { numRuns: RUNS },
    );
  });

  it('agrees with JSON.parse on the same JSON damaged at one byte', () => {
    const damage = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('replace', 'delete', 'insert', 'truncate'));
    fc.assert(
      fc.property(document, damage, paths, (text, [at, byte, how], p) => {
        const bytes = [...Buffer.from(text, 'utf8')];
        const i = at % (bytes.length + 1);
        if (how === 'replace' && i < bytes.length) bytes[i] = byte;
        else if (how === 'delete') bytes.splice(i, 1);
        else if (how === 'insert') bytes.splice(i, 0, byte);
        else bytes.length = i;
        assertSameAsJsonParse(Buffer.from(bytes), p);
      }),
      { numRuns: RUNS },
    );
  });

  it('agrees with JSON.parse on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), paths, (bytes, p) => assertSameAsJsonParse(Buffer.from(bytes), p)),
      { numRuns: RUNS },
    );
  });

  it('reads the realistic Webex deliveries, and the cases named in the hostile-input table', () => {
    const fixtures = join(__dirname, '..', '..', 'test', 'fixtures');
    for (const file of ['message-created.json', 'membership-deleted.json', 'attachment-action-created.json', 'bot-own-message.json', 'org-alert-no-actor.json']) {
      const body = readFileSync(join(fixtures, file));
      assertSameAsJsonParse(body, [['actorId'], ['data', 'personId']]);
    }
    const cases = [
      '{"actorId":"a","actorId":"b"}',
      '{"data":{"personId":"x"},"data":{}}',
      '{"data":{"personId":"x"},"data":5}',
      '{"actorId":{"actorId":"inner"}}',
      '{"actorId":"a\\r\\nX-Evil: 1"}',
      '{"__proto__":{"actorId":"p"},"constructor":"c"}',
      '{"act\\u006frId":"escaped-name"}',
      '\ufeff{"actorId":"bom"}',
      '{"actorId":"a",}',
      '{"actorId":01}',
      '{"actorId":"tab\there"}',
      '{"data":[{"personId":"in-array"}]}',
      '[{"actorId":"top-level array"}]',
      '{"actorId":-0}',
      '{"actorId":1e400}',
      ' {"actorId":"spaced"} \n',
      '{"actorId":"x"} trailing',
      '',
    ];
    for (const text of cases) assertSameAsJsonParse(Buffer.from(text, 'utf8'), [['actorId'], ['data', 'personId']]);
  });

  it('handles nesting as deep as JSON.parse does, without recursion', () => {
    const deep = '{"actorId":"deep","x":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
    assert.deepEqual(keyFromBody(Buffer.from(deep), { keyPaths: [['actorId']], keyMaxLength: 256, botPersonIds: new Set() }), { outcome: 'key', key: 'deep' });
  });
});
