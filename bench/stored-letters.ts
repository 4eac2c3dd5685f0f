/**
 * Letters as DELIVERY=queued stores them from realistic Webex deliveries: the headers as
 * forwarded (X-Forwarded-* added), the body in a buffer of its own. Shared by the spool memory
 * measurements (memory spool and Redis spool).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Letter } from '../src/delivery/letter';
import { actorId, webexPayloads } from './payloads';

/** `letterFor(i, keys)`: the i-th delivery, from the actor i % keys. */
export function letterMaker(): (i: number, keys: number) => Letter {
  const fixture = readFileSync(join(__dirname, '..', '..', 'test', 'fixtures', 'message-created.json'), 'utf8');
  const [payload] = webexPayloads(fixture, [actorId(0)]);
  if (payload === undefined) throw new Error('no payload');
  return (i, keys) => {
    const actor = actorId(i % keys);
    return {
      id: crypto.randomUUID(),
      // A key of its own (not a slice of the body's string), as the key reader returns it.
      key: JSON.parse(`{"k":"${actor}"}`).k as string,
      method: 'POST',
      url: '/webhook',
      headers: {
        host: 'bots.example.com',
        'user-agent': 'Java/1.8.0_301',
        'content-type': 'application/json; charset=utf-8',
        ...payload.headers,
        trackingid: `WH_${i.toString(16).padStart(32, '0')}`,
        'x-forwarded-for': '146.20.231.19',
        'x-forwarded-port': '443',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'bots.example.com',
      },
      body: Buffer.from(payload.body.replace(actorId(0), actor)),
      arrivedAt: Date.now(),
    };
  };
}
