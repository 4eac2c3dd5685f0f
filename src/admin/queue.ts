/**
 * The delivery mailbox's admin endpoints (DELIVERY=queued, behind ADMIN_TOKEN): its figures, the
 * dead letters, replaying and forgetting them. Keys are shown as their hash tag, never raw.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeadLetter } from '../delivery/letter';
import type { Mailbox } from '../delivery/mailbox';
import type { SpoolStats } from '../delivery/spool';
import { writeError, writeJson } from '../json-answer';
import { keyTag, pathOnly } from '../log';

/** Most dead letters listed in one page. */
const PAGE_MAX = 500;

/** Answers /queue and /queue/dead...; `path` is the URL path without its query. */
export async function answerQueue(req: IncomingMessage, res: ServerResponse, path: string, mailbox: Mailbox | undefined): Promise<void> {
  if (mailbox === undefined) return writeError(res, 409, 'DELIVERY is direct: there is no mailbox');
  const method = req.method ?? 'GET';
  if (path === '/queue' && method === 'GET') return writeJson(res, 200, figures(await mailbox.stats()));
  if (path === '/queue/dead' && method === 'GET') return writeJson(res, 200, page(await mailbox.deadLetters(), req.url ?? ''));
  if (path === '/queue/dead/replay' && method === 'POST') return writeJson(res, 200, { replayed: await mailbox.replayAll() });
  if (path === '/queue/dead' && method === 'DELETE') return writeJson(res, 200, { deleted: await forgetAll(mailbox) });
  const one = /^\/queue\/dead\/([^/]+)(\/replay)?$/.exec(path);
  const id = one?.[1];
  if (id !== undefined && one?.[2] !== undefined && method === 'POST') {
    return (await mailbox.replay(id)) ? writeJson(res, 202, { replayed: id }) : writeError(res, 404, `no dead letter ${id} (or no room in the mailbox for it)`);
  }
  if (id !== undefined && one?.[2] === undefined && method === 'DELETE') {
    if (!(await mailbox.forget(id))) return writeError(res, 404, `no dead letter ${id}`);
    res.writeHead(204);
    res.end();
    return;
  }
  writeError(res, 404, `no admin endpoint ${method} ${path}`);
}

/** Deletes every dead letter (DEAD_LETTER_MAX bounds how many); says how many went. */
async function forgetAll(mailbox: Mailbox): Promise<number> {
  let deleted = 0;
  for (const dead of await mailbox.deadLetters()) if (await mailbox.forget(dead.letter.id)) deleted++;
  return deleted;
}

function figures(s: SpoolStats): Record<string, number> {
  return {
    depth: s.depth,
    keyed: s.depth - s.keyless,
    keyless: s.keyless,
    mailboxes: s.mailboxes,
    inFlight: s.inFlight,
    bytes: s.bytes,
    oldestSeconds: s.oldestAgeMs / 1000,
    dead: s.dead,
    deadDropped: s.deadDropped,
  };
}

/** One page of dead letters, newest first: ?offset=0&limit=100. */
function page(dead: readonly DeadLetter[], url: string): Record<string, unknown> {
  const query = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
  const offset = Math.max(0, Number.parseInt(query.get('offset') ?? '0', 10) || 0);
  const limit = Math.min(PAGE_MAX, Math.max(1, Number.parseInt(query.get('limit') ?? '100', 10) || 100));
  return {
    total: dead.length,
    offset,
    items: dead.slice(offset, offset + limit).map((d) => ({
      id: d.letter.id,
      key: d.letter.key === undefined ? null : keyTag(d.letter.key),
      path: pathOnly(d.letter.url),
      bytes: d.letter.body.length,
      attempts: d.attempts,
      arrived: new Date(d.letter.arrivedAt).toISOString(),
      firstAttempt: d.firstAttemptAt === undefined ? null : new Date(d.firstAttemptAt).toISOString(),
      lastAttempt: new Date(d.lastAttemptAt).toISOString(),
      reason: d.reason,
    })),
  };
}
