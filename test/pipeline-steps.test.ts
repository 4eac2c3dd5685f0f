/**
 * The pipeline's steps one by one (src/pipeline/steps.ts), on real Node request objects that
 * are not attached to a connection: what each step decides, without a socket.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { IncomingMessage, ServerResponse, type IncomingHttpHeaders } from 'node:http';
import { Socket } from 'node:net';
import { cookieStrategy } from '../src/affinity/cookie';
import { headerAffinity } from '../src/affinity/header';
import type { AffinityStrategy, KeyedExchange } from '../src/affinity/strategy';
import { parseConfig } from '../src/config/config';
import { bodyTooLarge, clientAborted, internalError, noUpstream, type ProxyError, signatureRejected, signingKeysUnavailable, tooManyBufferedBytes, upstreamTimeout } from '../src/errors';
import { REQUEST_OUTCOMES } from '../src/observe/outcomes';
import { newFlight } from '../src/pipeline/flight';
import { addAffinity, findKey, learn, outcomeOfError, planBody, recordOf, sanitize, verify } from '../src/pipeline/steps';
import { signatureVerifier } from '../src/signature/verifier';
import { MemoryStore } from '../src/store/memory';
import { fixture, webhook } from './helpers/http';

function incoming(method: string, headers: IncomingHttpHeaders = {}): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.method = method;
  req.headers = headers;
  return req;
}

const RULES = { keyPaths: [['actorId']], keyMaxLength: 256, botPersonIds: new Set<string>() };

describe('pipeline steps', () => {
  it('sanitize: removes a caller’s own Actorid and leaves the rest', () => {
    const headers: IncomingHttpHeaders = { actorid: 'mallory', 'content-type': 'application/json' };
    const header = headerAffinity('actorid');
    sanitize(headers, header.sanitize === undefined ? [] : [header.sanitize]);
    assert.deepEqual(headers, { 'content-type': 'application/json' });
  });

  it('read body: reads JSON POSTs for their key, signed requests for their signature, streams the rest', () => {
    const cases: [string, IncomingHttpHeaders, boolean, boolean, { verify: boolean; findKey: boolean }][] = [
      ['GET', {}, false, false, { verify: false, findKey: false }],
      ['POST', { 'content-type': 'application/json' }, false, false, { verify: false, findKey: true }],
      ['POST', {}, false, false, { verify: false, findKey: true }],
      ['POST', { 'content-type': 'text/plain' }, false, false, { verify: false, findKey: false }],
      ['POST', { 'content-type': 'text/plain' }, true, false, { verify: true, findKey: false }],
      ['POST', { 'content-type': 'application/cloudevents+json' }, true, false, { verify: true, findKey: true }],
      ['GET', {}, true, false, { verify: false, findKey: false }],
      ['GET', {}, true, true, { verify: true, findKey: false }],
    ];
    for (const [method, headers, verifying, all, expected] of cases) {
      assert.deepEqual({ ...planBody(incoming(method, headers), verifying, all) }, expected, `${method} ${JSON.stringify(headers)} verifying=${verifying} all=${all}`);
    }
  });

  it('verify: ok for a Webex signature made with a configured secret, a reason otherwise', () => {
    const body = fixture('message-created.json');
    const verifier = signatureVerifier('webex', ['s3cret']);
    const signature = createHmac('sha1', 's3cret').update(body).digest('hex');
    assert.deepEqual(verify(verifier, { 'x-spark-signature': signature }, body, 0), { ok: true });
    assert.deepEqual(verify(verifier, {}, body, 0), { ok: false, reason: 'missing' });
    assert.deepEqual(verify(verifier, { 'x-spark-signature': 'xyz' }, body, 0), { ok: false, reason: 'malformed' });
    assert.deepEqual(verify(verifier, { 'x-spark-signature': signature }, Buffer.concat([body, Buffer.from(' ')]), 0), { ok: false, reason: 'mismatch' });
  });

  it('key: the key of a JSON body, or why the request goes without one', () => {
    const json = { verify: false, findKey: true };
    const signedOnly = { verify: true, findKey: false };
    const post = (headers: IncomingHttpHeaders = {}) => incoming('POST', headers);
    assert.deepEqual(findKey(post(), Buffer.from(webhook('alice')), json, RULES), { found: true, key: 'alice' });
    assert.deepEqual(findKey(post(), Buffer.from(webhook('alice')), signedOnly, RULES), { found: false, outcome: 'passthrough' });
    assert.deepEqual(findKey(post({ 'content-encoding': 'gzip' }), Buffer.from(webhook('alice')), json, RULES), { found: false, outcome: 'encoded' });
    assert.deepEqual(findKey(post(), Buffer.from('{"actorId":'), json, RULES), { found: false, outcome: 'not-json' });
    assert.deepEqual(findKey(post(), Buffer.from('{"other":1}'), json, RULES), { found: false, outcome: 'no-key' });
    assert.deepEqual(findKey(post(), Buffer.from(webhook('a\u00e9')), json, RULES), { found: false, outcome: 'invalid-key' });
    assert.deepEqual(findKey(post(), Buffer.from(webhook('bot')), json, { ...RULES, botPersonIds: new Set(['bot']) }), { found: false, outcome: 'bot' });
  });

  it('affinity: applies every strategy in order, and waits only when one is asynchronous', async () => {
    const order: string[] = [];
    const sync = (name: string): AffinityStrategy => ({ apply: () => void order.push(name) });
    const later = (name: string): AffinityStrategy => ({ apply: () => Promise.resolve().then(() => void order.push(name)) });
    const exchange: KeyedExchange = { headers: {}, key: 'alice' };

    assert.equal(addAffinity([headerAffinity('actorid'), sync('a')], exchange), undefined);
    assert.deepEqual(exchange.upstreamHeaders, { actorid: 'alice' });

    const pending = addAffinity([sync('b'), later('c'), sync('d')], exchange);
    assert.ok(pending instanceof Promise);
    assert.deepEqual(order, ['a', 'b'], 'the strategies after an asynchronous one wait for it');
    await pending;
    assert.deepEqual(order, ['a', 'b', 'c', 'd']);
  });

  it('learn: the cookie strategy stores the affinity cookie of the answer for the key', async () => {
    const store = new MemoryStore({ maxEntries: 10, clock: () => 1000 });
    const config = parseConfig({ AFFINITY_MODE: 'cookie' });
    const strategy = cookieStrategy({ config, store, clock: () => 1000, observer: {} });
    assert.ok(strategy !== undefined);
    const exchange: KeyedExchange = { headers: {}, key: 'alice' };
    const answer = { status: 200, statusText: 'OK', headers: { 'set-cookie': ['SERVERID=bot2; Path=/', 'session=x'] } };
    learn([strategy], exchange, answer);
    await Promise.resolve();
    assert.match(store.get('alice') ?? '', / SERVERID=bot2$/);
  });

  it('report: every error code has its outcome, one of the listed outcomes', () => {
    const errors: ProxyError[] = [
      bodyTooLarge(1),
      clientAborted(),
      signatureRejected('X', 'bad signature'),
      signingKeysUnavailable(),
      noUpstream(1),
      tooManyBufferedBytes(),
      internalError(),
      upstreamTimeout(1),
    ];
    for (const err of errors) assert.ok(REQUEST_OUTCOMES.includes(outcomeOfError(err)), err.code);
    assert.equal(outcomeOfError(bodyTooLarge(1)), 'too-large');
    assert.equal(outcomeOfError(tooManyBufferedBytes()), 'overloaded');
    assert.equal(outcomeOfError(signingKeysUnavailable()), 'keys-unavailable');
  });

  it('report: a response never finished is a client that left (499), with the declared length in', () => {
    const req = incoming('POST', { 'content-length': '42' });
    req.url = '/webhook?token=secret';
    const flight = newFlight(req, new ServerResponse(req));
    flight.outcome = 'affinity';
    const record = recordOf(flight);
    assert.deepEqual(
      { outcome: record.outcome, status: record.status, bytesIn: record.bytesIn, url: record.url, key: record.key },
      { outcome: 'client-aborted', status: 499, bytesIn: 42, url: '/webhook?token=secret', key: undefined },
    );
  });
});
