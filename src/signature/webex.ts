/**
 * Webex: X-Spark-Signature is the hex HMAC-SHA1 of the raw body, keyed with the webhook secret
 * (developer.webex.com, "Webhooks", Auth and Security).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ACCEPTED, rejected, type SignatureScheme } from './scheme';

const SHA1_HEX = /^[0-9a-f]{40}$/;

export const webex: SignatureScheme = {
  headers: ['X-Spark-Signature'],
  timestamped: false,
  needs: 'secret',
  verify({ headers, body }, { secrets }) {
    const given = headers['x-spark-signature'];
    if (typeof given !== 'string') return rejected('missing');
    if (!SHA1_HEX.test(given)) return rejected('malformed');
    const givenBytes = Buffer.from(given, 'hex');
    let match = false;
    // Every secret is tried, match or not, so timing says nothing about which one matched.
    for (const secret of secrets) {
      const expected = createHmac('sha1', secret).update(body).digest();
      if (timingSafeEqual(expected, givenBytes)) match = true;
    }
    return match ? ACCEPTED : rejected('mismatch');
  },
};
