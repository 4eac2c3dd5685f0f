/**
 * What a platform preset (PLATFORM) sets: where the person is in its deliveries, and how they are
 * signed. AFFINITY_KEY and SIGNATURE_SCHEME, when set, override it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { jsonObject } from '../core/json';
import type { SignatureSchemeName } from '../signature/schemes';

export interface Platform {
  /** AFFINITY_KEY's default: dotted JSON paths, the first found wins. */
  readonly keyPaths: string;
  /** SIGNATURE_SCHEME's default; undefined for `generic`, which has none. */
  readonly scheme: SignatureSchemeName | undefined;
  /**
   * Whether the platform reads the HTTP answer to this delivery (a handshake, a slash command, an
   * invoke): such a delivery is forwarded directly even with DELIVERY=queued, for the bot to answer.
   */
  readonly answerMatters?: (headers: IncomingHttpHeaders, body: Buffer) => boolean;
  /** Its form-encoded deliveries are read for their key (form fields, a JSON `payload` field). */
  readonly readsForms?: boolean;
  /** Whether the platform sends a delivery again on its own (DEDUPE=auto turns dedupe on then). */
  readonly resends?: boolean;
  /** The id a delivery keeps across the platform's copies of it; undefined when it has none. */
  readonly deliveryId?: (headers: IncomingHttpHeaders, body: Buffer) => string | undefined;
}

/** A top-level field that is a non-empty string or a number, as text. */
export function idField(body: Buffer, field: string): string | undefined {
  const value = topLevel(body, field);
  if (typeof value === 'string' && value !== '') return value;
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
}

/** The body's top-level `field`, when it is JSON (undefined otherwise). */
export function topLevel(body: Buffer, field: string): unknown {
  const doc = jsonObject(body);
  return doc === undefined ? undefined : Reflect.get(doc, field);
}

/** Whether the request says its body is form-encoded. */
export function isForm(headers: IncomingHttpHeaders): boolean {
  return (headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}
