/**
 * The body as JSON, parsed once per webhook: the steps that read it (the key, the platform's
 * delivery id and facts, Teams' activity) each ask here, and the first to ask pays for the one
 * JSON.parse. The parse is kept with the body's Buffer (a WeakMap: it goes when the body goes).
 */

/** A body's parse: its value, or that it is not JSON. */
export type Parsed = { readonly json: true; readonly doc: unknown } | { readonly json: false };

const NOT_JSON: Parsed = { json: false };
const parses = new WeakMap<Buffer, Parsed>();

/** `body` parsed as JSON, once however many steps ask (duplicate names: the last wins, as JSON.parse keeps it). */
export function parseBody(body: Buffer): Parsed {
  let parsed = parses.get(body);
  if (parsed === undefined) {
    try {
      parsed = { json: true, doc: JSON.parse(body.toString('utf8')) };
    } catch {
      parsed = NOT_JSON;
    }
    parses.set(body, parsed);
  }
  return parsed;
}

/**
 * Lets `body`'s parse go while the body stays: a body the memory spool keeps must not keep its
 * parse alive too (QUEUE_MAX_BYTES counts the body's bytes, not a parsed copy of it).
 */
export function forgetParse(body: Buffer): void {
  parses.delete(body);
}

/** `body` parsed, when it is a JSON object (or array); undefined for anything else. */
export function jsonObject(body: Buffer): object | undefined {
  const parsed = parseBody(body);
  return parsed.json && typeof parsed.doc === 'object' && parsed.doc !== null ? parsed.doc : undefined;
}
