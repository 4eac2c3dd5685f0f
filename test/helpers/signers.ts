/**
 * Each signature scheme from the sender's side: the variables that configure the proxy for it,
 * and how the platform would sign a body. Written from each platform's documentation, not from
 * src/signature (a test that signed with the code under test could not fail). The bench uses
 * these too, to measure what each scheme costs.
 */
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import type { SignatureSchemeName } from '../../src/signature/schemes';
import { mint, signingKey, TEAMS_APP_ID } from './teams-keys';

export const SIGNING_SECRET = 'It’s a secret to everybody';

export interface Signer {
  /** The proxy's variables for this scheme (keys included). */
  readonly env: Record<string, string>;
  /** The headers the platform would send with `body` at `nowMs`. */
  sign(body: Buffer, nowMs: number): Promise<Record<string, string>>;
}

const hmac = (algorithm: string, ...parts: (string | Buffer)[]) => {
  const h = createHmac(algorithm, SIGNING_SECRET);
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const seconds = (ms: number) => String(Math.floor(ms / 1000));

/**
 * Slack's and Zoom's shape, with any secret: `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`,
 * the timestamp in seconds (as its header carries it).
 */
export function v0Signature(secret: string, timestamp: string | number, body: Buffer): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest('hex')}`;
}

/** Signers for every scheme; Teams' keys are served by the key server at `teamsOpenIdUrl`. */
export function signers(teamsOpenIdUrl: string): { signers: Record<SignatureSchemeName, Signer>; teamsJwks: { keys: unknown[] } } {
  const discord = generateKeyPairSync('ed25519');
  const discordPublicHex = Buffer.from(discord.publicKey.export({ format: 'jwk' }).x ?? '', 'base64url').toString('hex');
  const teamsKey = signingKey('bench-k1');
  const secret = { WEBHOOK_SECRET: SIGNING_SECRET };
  return {
    teamsJwks: { keys: [teamsKey.jwk] },
    signers: {
      webex: { env: { SIGNATURE_SCHEME: 'webex', ...secret }, sign: async (body) => ({ 'x-spark-signature': hmac('sha1', body) }) },
      github: { env: { SIGNATURE_SCHEME: 'github', ...secret }, sign: async (body) => ({ 'x-hub-signature-256': `sha256=${hmac('sha256', body)}` }) },
      slack: {
        env: { SIGNATURE_SCHEME: 'slack', ...secret },
        sign: async (body, now) => ({
          'x-slack-request-timestamp': seconds(now),
          'x-slack-signature': v0Signature(SIGNING_SECRET, seconds(now), body),
        }),
      },
      zoom: {
        env: { SIGNATURE_SCHEME: 'zoom', ...secret },
        sign: async (body, now) => ({
          'x-zm-request-timestamp': seconds(now),
          'x-zm-signature': v0Signature(SIGNING_SECRET, seconds(now), body),
        }),
      },
      telegram: { env: { SIGNATURE_SCHEME: 'telegram', WEBHOOK_SECRET: 'telegram-secret_token-1' }, sign: async () => ({ 'x-telegram-bot-api-secret-token': 'telegram-secret_token-1' }) },
      discord: {
        env: { SIGNATURE_SCHEME: 'discord', DISCORD_PUBLIC_KEY: discordPublicHex },
        sign: async (body, now) => ({
          'x-signature-timestamp': seconds(now),
          'x-signature-ed25519': sign(null, Buffer.concat([Buffer.from(seconds(now)), body]), discord.privateKey).toString('hex'),
        }),
      },
      teams: {
        env: { SIGNATURE_SCHEME: 'teams', TEAMS_APP_ID, TEAMS_OPENID_URL: teamsOpenIdUrl },
        // The token does not cover the body: only the activity's serviceUrl is compared.
        sign: async (body, now) => ({ authorization: `Bearer ${await mint(teamsKey, serviceUrlClaim(body), Math.floor(now / 1000))}` }),
      },
    },
  };
}

/** The serviceurl claim a token for this activity carries (none when it is not an activity). */
function serviceUrlClaim(body: Buffer): { serviceurl?: string } {
  try {
    const serviceUrl: unknown = Reflect.get(JSON.parse(body.toString('utf8')) as object, 'serviceUrl');
    return typeof serviceUrl === 'string' ? { serviceurl: serviceUrl } : {};
  } catch {
    return {};
  }
}
