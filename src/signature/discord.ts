/**
 * Discord: `X-Signature-Ed25519`, hex Ed25519 signature of `X-Signature-Timestamp` + body, checked
 * with the application's public key, DISCORD_PUBLIC_KEY (discord.com/developers/docs,
 * "Interactions", Security and Authorization).
 */
import { verify as verifySignature } from 'node:crypto';
import { isHexOf } from './hmac';
import { ACCEPTED, rejected, type SignatureScheme } from './scheme';
import { single } from './timestamped-hmac';

export const discord: SignatureScheme = {
  headers: ['X-Signature-Ed25519', 'X-Signature-Timestamp'],
  // Discord signs a timestamp but documents no window: only the signature is checked.
  timestamped: false,
  needs: 'public-key',
  verify({ headers, body }, { publicKey }) {
    const given = single(headers, 'x-signature-ed25519');
    const timestamp = single(headers, 'x-signature-timestamp');
    if (given === undefined || timestamp === undefined) return rejected('missing');
    if (!isHexOf(given, 64)) return rejected('malformed');
    if (publicKey === undefined) return rejected('mismatch');
    const signed = Buffer.concat([Buffer.from(timestamp, 'utf8'), body]);
    return verifySignature(null, signed, publicKey, Buffer.from(given, 'hex')) ? ACCEPTED : rejected('mismatch');
  },
};
