/**
 * Realistic Webex deliveries (~1 KB) for a pool of actors with Webex-shaped ids, each signed
 * the way Webex signs them (X-Spark-Signature) with BENCH_SECRET.
 */
import { createHmac } from 'node:crypto';

export const BENCH_SECRET = 'bench-secret';

export interface Payload {
  readonly body: string;
  /** The platform's signature headers for this body (lower-case names). */
  readonly headers: Readonly<Record<string, string>>;
}

const ALICE = 'Y2lzY29zcGFyazovL3VzL1BFT1BMRS8xZjdkZTVjYi04NTYxLTQ2NzEtYmMwMy1iYzk3NDMxNDQ0MmQ';

/** `n` person ids shaped as Webex's: base64 of ciscospark://us/PEOPLE/<uuid>, unpadded. */
export function actorPool(n: number): string[] {
  return Array.from({ length: n }, (_, i) => actorId(i));
}

/** The i-th actor id of the pool. */
export function actorId(i: number): string {
  const hex = (i * 2654435761 + 0x9e3779b9).toString(16).padStart(12, '0').slice(-12);
  return Buffer.from(`ciscospark://us/PEOPLE/1f7de5cb-8561-4671-bc03-${hex}`).toString('base64').replace(/=+$/, '');
}

/** The fixture delivery once per actor, with the actor in place of Alice (same length). */
export function webexPayloads(fixture: string, actors: string[]): Payload[] {
  if (!fixture.includes(ALICE)) throw new Error('fixture does not hold the expected actorId');
  return actors.map((actor) => {
    const body = fixture.split(ALICE).join(actor);
    return { body, headers: { 'x-spark-signature': createHmac('sha1', BENCH_SECRET).update(body).digest('hex') } };
  });
}

/**
 * `n` Slack message events, unsigned, each from its own person (event.user) and with its own
 * event_id: DEDUPE, on for Slack, answers a repeated one as a copy without forwarding it, so a
 * bench sends at most `n` (each payload once).
 */
export function slackPayloads(fixture: string, n: number): Payload[] {
  const user = /"user": *"([A-Z0-9]+)"/.exec(fixture)?.[1];
  const eventId = /"event_id": *"([A-Za-z0-9]+)"/.exec(fixture)?.[1];
  if (user === undefined || eventId === undefined) throw new Error('fixture does not hold an event.user and an event_id');
  return Array.from({ length: n }, (_v, i) => ({
    body: fixture
      .split(user)
      .join(`U${String(i).padStart(10, '0')}`)
      .split(eventId)
      .join(`Ev${String(i).padStart(10, '0')}`),
    headers: {},
  }));
}

/** The same deliveries with the headers `sign` gives each (another platform's signature). */
export async function signedAs(payloads: Payload[], sign: (body: Buffer, nowMs: number) => Promise<Record<string, string>>): Promise<Payload[]> {
  const now = Date.now();
  return Promise.all(payloads.map(async ({ body }) => ({ body, headers: await sign(Buffer.from(body), now) })));
}

/**
 * The fixture grown to about `bytes` by a `padding` field before its closing brace: the ids stay
 * where the platform puts them, near the start, and the bulk comes after (as a long message's text
 * or an attachment's card does). Unchanged when `bytes` is unset or not above its size.
 */
export function padded(fixture: string, bytes: number | undefined): string {
  const end = fixture.lastIndexOf('}');
  if (bytes === undefined || end === -1 || bytes <= fixture.length) return fixture;
  const field = ',"padding":""';
  return `${fixture.slice(0, end)}${field.slice(0, -1)}${'x'.repeat(Math.max(0, bytes - fixture.length - field.length))}"${fixture.slice(end)}`;
}
