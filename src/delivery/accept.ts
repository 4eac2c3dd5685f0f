/**
 * Which requests go through the delivery mailbox, and storing them: the one place where "queued
 * or direct" is decided for a request.
 */
import type { IncomingMessage } from 'node:http';
import { forgetParse } from '../core/json';
import { mapMaybe, type Maybe } from '../core/maybe';
import type { Mailbox } from './mailbox';
import type { Platform } from '../platforms/platform';
import { letterOf } from './stored-request';
import type { AppendResult } from './spool';

/**
 * Stored under this delivery id; or not, and why: not a webhook for the mailbox, no room
 * (QUEUE_MAX_BYTES), the store away, or not confirmed by its replicas. `id`: a copy is being
 * delivered under this delivery id already (the direct forward then carries it too).
 */
export type Acceptance = { readonly stored: true; readonly id: string } | { readonly stored: false; readonly why: 'not-for-the-mailbox' | Exclude<AppendResult, 'stored'>; readonly id?: string };

const NOT_FOR_THE_MAILBOX: Acceptance = { stored: false, why: 'not-for-the-mailbox' };

/**
 * A POST whose body was read goes into the mailbox; anything else is forwarded directly (its
 * body was streamed, or it is not a webhook), and so is a delivery whose answer the platform
 * reads (PLATFORM's `answerMatters`: Slack's url_verification and slash commands, Zoom's
 * endpoint validation, Teams invokes, every Discord interaction).
 */
function goesThroughMailbox(req: IncomingMessage, body: Buffer | undefined, platform: Platform): body is Buffer {
  return req.method === 'POST' && body !== undefined && platform.answerMatters?.(req.headers, body) !== true;
}

/** Stores the request when it goes through the mailbox; a networked spool answers once its write is acknowledged. */
export function acceptWebhook(mailbox: Mailbox, req: IncomingMessage, body: Buffer | undefined, key: string | undefined, now: number, platform: Platform): Maybe<Acceptance> {
  if (!goesThroughMailbox(req, body, platform)) return NOT_FOR_THE_MAILBOX;
  const letter = letterOf(req, body, key, now);
  // Read for its key and facts already; stored, the body must not keep its parse alive.
  forgetParse(body);
  const result = mailbox.accept(letter);
  const acceptance = (r: AppendResult): Acceptance => {
    if (r === 'stored') return { stored: true, id: letter.id };
    return r === 'unreplicated-in-flight' ? { stored: false, why: r, id: letter.id } : { stored: false, why: r };
  };
  return mapMaybe(result, acceptance);
}
