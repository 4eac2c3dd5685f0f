/**
 * The shape Slack and Zoom share: `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`, the
 * timestamp (seconds) in a header of its own, refused when it is further from now than the
 * tolerance (SIGNATURE_TOLERANCE_S) so a captured delivery cannot be replayed later.
 */
import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { hmacMatches, isHexOf } from './hmac';
import { ACCEPTED, rejected, type SignatureScheme } from './scheme';

export function timestampedHmac(signatureHeader: string, timestampHeader: string): SignatureScheme {
  const signatureName = signatureHeader.toLowerCase();
  const timestampName = timestampHeader.toLowerCase();
  return {
    headers: [signatureHeader, timestampHeader],
    timestamped: true,
    needs: 'secret',
    verify({ headers, body, now }, { secrets, toleranceMs }) {
      const given = single(headers, signatureName);
      const timestamp = single(headers, timestampName);
      if (given === undefined || timestamp === undefined) return rejected('missing');
      if (!given.startsWith('v0=') || !isHexOf(given.slice(3), 32) || !/^\d{1,12}$/.test(timestamp)) return rejected('malformed');
      if (Math.abs(now - Number(timestamp) * 1000) > toleranceMs) return rejected('stale');
      return hmacMatches('sha256', secrets, [`v0:${timestamp}:`, body], given.slice(3)) ? ACCEPTED : rejected('mismatch');
    },
    sign(body, nowMs, secret) {
      const timestamp = String(Math.floor(nowMs / 1000));
      const signature = createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest('hex');
      return { [timestampName]: timestamp, [signatureName]: `v0=${signature}` };
    },
  };
}

/** A header's value when it was sent once (a repeated signature header is not a signature). */
export function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}
