/**
 * Webhook signature checks on the raw body bytes. A scheme is one small object, so adding
 * another provider (Slack's v0 HMAC-SHA256 over `v0:timestamp:body`, say) is one more entry.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface SignatureScheme {
  /** The header carrying the signature, as written in messages. */
  readonly header: string;
  /** True when the request's signature matches `body` under one of `secrets`. */
  verify(body: Buffer, headers: IncomingHttpHeaders, secrets: readonly Buffer[]): boolean;
}

/** Webex: X-Spark-Signature is the hex HMAC-SHA1 of the raw body, keyed with the webhook secret. */
const webex: SignatureScheme = {
  header: 'X-Spark-Signature',
  verify(body, headers, secrets) {
    const given = headers['x-spark-signature'];
    if (typeof given !== 'string' || !SHA1_HEX.test(given)) return false;
    const givenBytes = Buffer.from(given, 'hex');
    let match = false;
    // Every secret is tried, match or not, so timing says nothing about which one matched.
    for (const secret of secrets) {
      const expected = createHmac('sha1', secret).update(body).digest();
      if (timingSafeEqual(expected, givenBytes)) match = true;
    }
    return match;
  },
};
const SHA1_HEX = /^[0-9a-f]{40}$/;

export const SIGNATURE_SCHEMES = { webex } as const satisfies Record<string, SignatureScheme>;
export type SignatureSchemeName = keyof typeof SIGNATURE_SCHEMES;
export const SIGNATURE_SCHEME_NAMES = Object.keys(SIGNATURE_SCHEMES) as SignatureSchemeName[];

export interface SignatureVerifier {
  readonly header: string;
  verify(body: Buffer, headers: IncomingHttpHeaders): boolean;
}

export function signatureVerifier(scheme: SignatureSchemeName, secrets: readonly string[]): SignatureVerifier {
  const impl = SIGNATURE_SCHEMES[scheme];
  const keys = secrets.map((s) => Buffer.from(s, 'utf8'));
  return { header: impl.header, verify: (body, headers) => impl.verify(body, headers, keys) };
}
