/**
 * Which requests go through the delivery mailbox, and storing them: the one place where "queued
 * or direct" is decided for a request.
 */
import type { IncomingMessage } from 'node:http';
import type { Mailbox } from './mailbox';
import { letterOf } from './stored-request';

/** Stored under this delivery id; or not, and whether for want of room (QUEUE_MAX_BYTES). */
export type Acceptance = { readonly stored: true; readonly id: string } | { readonly stored: false; readonly full: boolean };

const NOT_FOR_THE_MAILBOX: Acceptance = { stored: false, full: false };
const FULL: Acceptance = { stored: false, full: true };

/**
 * A POST whose body was read goes into the mailbox; anything else is forwarded directly (its
 * body was streamed, or it is not a webhook). Deliveries whose answer the platform reads (Slack's
 * url_verification and slash commands, Teams invokes, Discord interactions) will be told apart
 * here too, by the platform presets.
 */
export function goesThroughMailbox(req: IncomingMessage, body: Buffer | undefined): body is Buffer {
  return req.method === 'POST' && body !== undefined;
}

/** Stores the request when it goes through the mailbox; a networked spool answers once its write is acknowledged. */
export function acceptWebhook(mailbox: Mailbox, req: IncomingMessage, body: Buffer | undefined, key: string | undefined, now: number): Acceptance | Promise<Acceptance> {
  if (!goesThroughMailbox(req, body)) return NOT_FOR_THE_MAILBOX;
  const letter = letterOf(req, body, key, now);
  const stored = mailbox.accept(letter);
  const acceptance = (ok: boolean): Acceptance => (ok ? { stored: true, id: letter.id } : FULL);
  return stored instanceof Promise ? stored.then(acceptance) : acceptance(stored);
}
