/**
 * The configured scheme bound to its keys: what the pipeline's verify step calls.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Config } from '../config/config';
import { SIGNATURE_SCHEMES, type SignatureSchemeName } from './schemes';
import type { SchemeKeys, SignedRequest, Verdict } from './scheme';

export interface SignatureVerifier {
  /** The header named in a 401's message. */
  readonly header: string;
  verify(request: SignedRequest): Verdict | Promise<Verdict>;
}

export interface VerifierKeys {
  /** Ed25519 public key, 64 hex characters (DISCORD_PUBLIC_KEY). */
  readonly publicKeyHex?: string | undefined;
  /** Timestamped schemes' window, ms (SIGNATURE_TOLERANCE_S; default 300 s). */
  readonly toleranceMs?: number;
}

export function signatureVerifier(name: SignatureSchemeName, secrets: readonly string[], options: VerifierKeys = {}): SignatureVerifier {
  const scheme = SIGNATURE_SCHEMES[name];
  const keys: SchemeKeys = {
    secrets: secrets.map((s) => Buffer.from(s, 'utf8')),
    publicKey: options.publicKeyHex === undefined ? undefined : ed25519PublicKey(options.publicKeyHex),
    toleranceMs: options.toleranceMs ?? 300_000,
  };
  return { header: scheme.headers[0] ?? name, verify: (request) => scheme.verify(request, keys) };
}

/** Whether the configuration gives SIGNATURE_SCHEME what it needs to verify anything. */
export function schemeHasKeys(name: SignatureSchemeName, secrets: readonly string[], publicKeyHex: string | undefined): boolean {
  return SIGNATURE_SCHEMES[name].needs === 'secret' ? secrets.length > 0 : publicKeyHex !== undefined;
}

/** The verifier the configuration asks for; undefined (no checking) when its scheme lacks its keys. */
export function verifierFor(config: Config): SignatureVerifier | undefined {
  const { signatureScheme: name, webhookSecrets: secrets, signaturePublicKey: publicKeyHex } = config;
  if (!schemeHasKeys(name, secrets, publicKeyHex)) return undefined;
  return signatureVerifier(name, secrets, { publicKeyHex, toleranceMs: config.signatureToleranceMs });
}

/** A raw 32-byte Ed25519 public key, as hex, made a KeyObject (through its JWK form). */
function ed25519PublicKey(hex: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(hex, 'hex').toString('base64url') }, format: 'jwk' });
}
