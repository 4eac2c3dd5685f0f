/**
 * The configured scheme bound to its keys: what the pipeline's verify step calls.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Config } from '../config/types';
import { SIGNATURE_SCHEMES, type SignatureSchemeName } from './schemes';
import type { SchemeKeys, SignedRequest, Verdict } from './scheme';
import { teamsKeySource, type KeySourceOptions } from './teams-keys';
import type { Maybe } from '../core/maybe';

export interface SignatureVerifier {
  /** The header named in a 401's message. */
  readonly header: string;
  verify(request: SignedRequest): Maybe<Verdict>;
}

export interface VerifierKeys {
  /** Ed25519 public key, 64 hex characters (DISCORD_PUBLIC_KEY). */
  readonly publicKeyHex?: string | undefined;
  /** Teams: the bot's app id (TEAMS_APP_ID). */
  readonly teamsAppId?: string | undefined;
  /** Teams: where the signing keys are found (TEAMS_OPENID_URL). */
  readonly teamsOpenIdUrl?: string;
  /** Teams: fetch timeouts and cooldowns (tests shorten them). */
  readonly teamsKeyFetch?: KeySourceOptions;
  /** Timestamped schemes' window, ms (SIGNATURE_TOLERANCE_S; default 300 s). */
  readonly toleranceMs?: number;
}

export const DEFAULT_TEAMS_OPENID_URL = 'https://login.botframework.com/v1/.well-known/openidconfiguration';

export function signatureVerifier(name: SignatureSchemeName, secrets: readonly string[], options: VerifierKeys = {}): SignatureVerifier {
  const scheme = SIGNATURE_SCHEMES[name];
  const { publicKeyHex, teamsAppId } = options;
  const keys: SchemeKeys = {
    secrets: secrets.map((s) => Buffer.from(s, 'utf8')),
    publicKey: publicKeyHex === undefined ? undefined : ed25519PublicKey(publicKeyHex),
    // Only a Teams verifier gets a key source: it fetches nothing until the first delivery.
    teams:
      scheme.needs === 'app-id' && teamsAppId !== undefined
        ? { appId: teamsAppId, source: teamsKeySource(new URL(options.teamsOpenIdUrl ?? DEFAULT_TEAMS_OPENID_URL), options.teamsKeyFetch) }
        : undefined,
    toleranceMs: options.toleranceMs ?? 300_000,
  };
  return { header: scheme.headers[0] ?? name, verify: (request) => scheme.verify(request, keys) };
}

/** What the configuration holds of each scheme's needs. */
export interface ConfiguredKeys {
  readonly secrets: readonly string[];
  readonly publicKeyHex: string | undefined;
  readonly teamsAppId: string | undefined;
}

/** Whether the configuration gives SIGNATURE_SCHEME what it needs to verify anything. */
export function schemeHasKeys(name: SignatureSchemeName, { secrets, publicKeyHex, teamsAppId }: ConfiguredKeys): boolean {
  switch (SIGNATURE_SCHEMES[name].needs) {
    case 'secret':
      return secrets.length > 0;
    case 'public-key':
      return publicKeyHex !== undefined;
    case 'app-id':
      return teamsAppId !== undefined;
  }
}

/** The verifier the configuration asks for; undefined (no checking) when its scheme lacks its keys. */
export function verifierFor(config: Config): SignatureVerifier | undefined {
  const { signatureScheme: name, webhookSecrets: secrets, signaturePublicKey: publicKeyHex, teamsAppId } = config;
  if (!checksSignatures(config)) return undefined;
  return signatureVerifier(name, secrets, { publicKeyHex, teamsAppId, teamsOpenIdUrl: config.teamsOpenIdUrl, toleranceMs: config.signatureToleranceMs });
}

/** Whether deliveries are verified: a scheme not turned off (SIGNATURE_SCHEME=none) whose keys are set. */
export function checksSignatures(config: Config): boolean {
  const { signatureScheme: name, webhookSecrets: secrets, signaturePublicKey: publicKeyHex, teamsAppId } = config;
  return config.verifySignatures && schemeHasKeys(name, { secrets, publicKeyHex, teamsAppId });
}

/** A raw 32-byte Ed25519 public key, as hex, made a KeyObject (through its JWK form). */
function ed25519PublicKey(hex: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(hex, 'hex').toString('base64url') }, format: 'jwk' });
}
