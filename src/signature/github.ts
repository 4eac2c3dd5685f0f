/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>` with the webhook's secret
 * (docs.github.com, "Validating webhook deliveries").
 */
import { hmacMatches, isHexOf } from './hmac';
import { ACCEPTED, rejected, type SignatureScheme } from './scheme';
import { single } from './timestamped-hmac';

export const github: SignatureScheme = {
  headers: ['X-Hub-Signature-256'],
  timestamped: false,
  needs: 'secret',
  verify({ headers, body }, { secrets }) {
    const given = single(headers, 'x-hub-signature-256');
    if (given === undefined) return rejected('missing');
    if (!given.startsWith('sha256=') || !isHexOf(given.slice(7), 32)) return rejected('malformed');
    return hmacMatches('sha256', secrets, [body], given.slice(7)) ? ACCEPTED : rejected('mismatch');
  },
};
