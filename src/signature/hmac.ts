/**
 * HMAC checks shared by the schemes that sign with a shared secret: every secret is tried, match
 * or not, so timing says nothing about which one matched (or whether one did).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const HEX = /^[0-9a-f]+$/;

/** Whether `givenHex` is the HMAC (`algorithm`) of `parts` under one of `secrets`. */
export function hmacMatches(algorithm: 'sha1' | 'sha256', secrets: readonly Buffer[], parts: readonly (string | Buffer)[], givenHex: string): boolean {
  const given = Buffer.from(givenHex, 'hex');
  let match = false;
  for (const secret of secrets) {
    const hmac = createHmac(algorithm, secret);
    for (const part of parts) hmac.update(part);
    const expected = hmac.digest();
    if (expected.length === given.length && timingSafeEqual(expected, given)) match = true;
  }
  return match;
}

/** Whether `text` is lower-case hex of exactly `bytes` bytes. */
export function isHexOf(text: string, bytes: number): boolean {
  return text.length === bytes * 2 && HEX.test(text);
}

/** Whether `given` equals one of `secrets`, compared in constant time (through their hashes). */
export function tokenMatches(secrets: readonly Buffer[], given: string): boolean {
  const digest = createHash('sha256').update(given).digest();
  let match = false;
  for (const secret of secrets) if (timingSafeEqual(createHash('sha256').update(secret).digest(), digest)) match = true;
  return match;
}
