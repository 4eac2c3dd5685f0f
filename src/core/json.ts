/**
 * The body as a JSON object, for the steps that read a platform's facts from it.
 */

/** `body` parsed, when it is a JSON object (or array); undefined for anything else. */
export function jsonObject(body: Buffer): object | undefined {
  try {
    const doc: unknown = JSON.parse(body.toString('utf8'));
    return typeof doc === 'object' && doc !== null ? doc : undefined;
  } catch {
    return undefined;
  }
}
