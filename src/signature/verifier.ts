/**
 * The configured scheme bound to its keys: what the pipeline's verify step calls.
 */
import { SIGNATURE_SCHEMES, type SignatureSchemeName } from './schemes';
import type { SchemeKeys, SignedRequest, Verdict } from './scheme';

export interface SignatureVerifier {
  /** The header named in a 401's message. */
  readonly header: string;
  verify(request: SignedRequest): Verdict | Promise<Verdict>;
}

export function signatureVerifier(name: SignatureSchemeName, secrets: readonly string[]): SignatureVerifier {
  const scheme = SIGNATURE_SCHEMES[name];
  const keys: SchemeKeys = { secrets: secrets.map((s) => Buffer.from(s, 'utf8')) };
  return { header: scheme.headers[0] ?? name, verify: (request) => scheme.verify(request, keys) };
}
