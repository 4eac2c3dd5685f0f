/**
 * What the proxy signs on the way out, from the configuration: a mailbox delivery signed again as
 * the platform signs (QUEUE_RESIGN), and the Standard Webhooks headers (DELIVERY_SIGNING_SECRET).
 *
 * Signing as the platform is sound only because the proxy is the edge that verified the platform
 * with the same shared secret: it vouches for what it verified, and the body is unchanged.
 */
import type { Config } from '../config/types';
import { SIGNATURE_SCHEMES } from '../signature/schemes';
import { signingKeyOf, standardWebhookHeaders } from './standard-webhooks';

/** The headers to set on one send of `body`, delivery id `id`, at `nowMs` (lower-case names). */
export type Signer = (id: string, body: Buffer, nowMs: number) => Record<string, string>;

type SigningConfig = Pick<Config, 'queueResign' | 'signatureScheme' | 'webhookSecrets' | 'deliverySigningSecret'>;

/** Mailbox deliveries: the platform's signature made fresh, and Standard Webhooks; undefined when neither applies. */
export function deliverySigner(config: SigningConfig): Signer | undefined {
  const signers = [platformResigner(config), standardWebhooks(config)].filter((s) => s !== undefined);
  if (signers.length === 0) return undefined;
  return (id, body, nowMs) => Object.assign({}, ...signers.map((sign) => sign(id, body, nowMs)));
}

/** Direct forwards: Standard Webhooks only (the platform's own signature is fresh). */
export function forwardSigner(config: SigningConfig): Signer | undefined {
  return standardWebhooks(config);
}

/**
 * QUEUE_RESIGN=auto and a scheme that signs a timestamp with WEBHOOK_SECRET (Slack, Zoom): signed
 * with the first secret (the current one, during a rotation).
 */
function platformResigner({ queueResign, signatureScheme, webhookSecrets }: SigningConfig): Signer | undefined {
  const scheme = SIGNATURE_SCHEMES[signatureScheme];
  const [secret] = webhookSecrets;
  if (queueResign === 'off' || scheme.sign === undefined || secret === undefined) return undefined;
  const key = Buffer.from(secret, 'utf8');
  const sign = scheme.sign.bind(scheme);
  return (_id, body, nowMs) => sign(body, nowMs, key);
}

function standardWebhooks({ deliverySigningSecret }: SigningConfig): Signer | undefined {
  const key = deliverySigningSecret === undefined ? undefined : signingKeyOf(deliverySigningSecret);
  if (key === undefined) return undefined;
  return (id, body, nowMs) => standardWebhookHeaders(key, id, nowMs, body);
}
