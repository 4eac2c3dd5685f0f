/**
 * A letter as the Redis spool stores it: one string per webhook, so Redis spends a list entry on
 * it rather than a hash of fields (each with its own allocation):
 *
 *   <id> <counted bytes> <arrivedAt>\n<JSON: method, url, headers>\n<body, byte for byte>
 *
 * The key is not in it: it is in the name of the letter's mailbox (`k:<key>`, or `n:<id>` for a
 * letter without one), which every script that hands a letter out knows. A Webex person id is
 * ~80 bytes, so this saves that much per stored webhook.
 *
 * The first line is what the Lua scripts read (string.match, anchored, so only its bytes are
 * looked at); the body is never decoded.
 */
import type { Letter } from './letter';

interface Meta {
  /** Written by versions before the key moved to the mailbox name; read if there. */
  readonly k?: string;
  readonly m: string;
  readonly u: string;
  readonly h: Readonly<Record<string, string>>;
}

/** The mailbox a letter belongs to: its key's, or its own when it has no key. */
export const mailboxOf = (letter: Pick<Letter, 'key' | 'id'>): string => (letter.key === undefined ? `n:${letter.id}` : `k:${letter.key}`);

/** The key whose mailbox this is (undefined: a keyless letter's own). */
const keyOfMailbox = (mailbox: string): string | undefined => (mailbox.startsWith('k:') ? mailbox.slice(2) : undefined);

/** `bytes`: the letter's letterBytes, which the caller has counted already. */
export function packLetter(letter: Letter, bytes: number): Buffer {
  const meta: Meta = { m: letter.method, u: letter.url, h: letter.headers };
  const head = `${letter.id} ${bytes} ${letter.arrivedAt}\n${JSON.stringify(meta)}\n`;
  return Buffer.concat([Buffer.from(head), letter.body]);
}

/**
 * The letter packed in `packed`, from `mailbox`; `replayedAt` is kept beside it (it changes
 * after storing).
 */
export function unpackLetter(packed: Buffer, mailbox: string, replayedAt: number | undefined): Letter {
  const firstEnd = packed.indexOf(10);
  const metaEnd = packed.indexOf(10, firstEnd + 1);
  if (firstEnd < 0 || metaEnd < 0) throw new Error('a stored letter is not in the spool format');
  const [id = '', , arrivedAt = '0'] = packed.subarray(0, firstEnd).toString().split(' ');
  const meta: unknown = JSON.parse(packed.subarray(firstEnd + 1, metaEnd).toString());
  if (!isMeta(meta)) throw new Error(`stored letter ${id} has malformed headers`);
  return {
    id,
    key: meta.k ?? keyOfMailbox(mailbox),
    method: meta.m,
    url: meta.u,
    headers: meta.h,
    // A view, not a copy: the reply's buffer is this letter's alone.
    body: packed.subarray(metaEnd + 1),
    arrivedAt: Number(arrivedAt),
    replayedAt,
  };
}

/** The id and arrival of a packed letter, without its JSON (the admin look-up lists many). */
export function packedHead(packed: Buffer): { id: string; arrivedAt: number; url: string } {
  const letter = unpackLetter(packed, '', undefined);
  return { id: letter.id, arrivedAt: letter.arrivedAt, url: letter.url };
}

function isMeta(value: unknown): value is Meta {
  if (typeof value !== 'object' || value === null) return false;
  const { k, m, u, h } = value as Record<string, unknown>;
  return (k === undefined || typeof k === 'string') && typeof m === 'string' && typeof u === 'string' && isStringRecord(h);
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string');
}
