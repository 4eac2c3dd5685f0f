/**
 * Standard Webhooks (standardwebhooks.com): one signature a bot can check whatever the platform.
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` keyed with the
 * secret's bytes, the secret written `whsec_<base64>` as the spec's libraries take it.
 */
import { createHmac } from 'node:crypto';

const PREFIX = 'whsec_';

/** The key of a `whsec_<base64>` secret; undefined when it is not one (or holds under 16 bytes). */
export function signingKeyOf(secret: string): Buffer | undefined {
  if (!secret.startsWith(PREFIX)) return undefined;
  const text = secret.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const key = Buffer.from(text, 'base64');
  return key.length >= 16 ? key : undefined;
}

/** The three headers of one signed delivery: its id, when it was signed (s), and the signature. */
export function standardWebhookHeaders(key: Buffer, id: string, nowMs: number, body: Buffer): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}
