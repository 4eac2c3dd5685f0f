/**
 * The signature schemes by SIGNATURE_SCHEME name: adding one is a file beside webex.ts and a
 * line here.
 */
import type { SignatureScheme } from './scheme';
import { webex } from './webex';

export const SIGNATURE_SCHEMES = {
  webex,
} as const satisfies Record<string, SignatureScheme>;

export type SignatureSchemeName = keyof typeof SIGNATURE_SCHEMES;

export function isSignatureSchemeName(name: string): name is SignatureSchemeName {
  return Object.hasOwn(SIGNATURE_SCHEMES, name);
}

export const SIGNATURE_SCHEME_NAMES: readonly SignatureSchemeName[] = Object.keys(SIGNATURE_SCHEMES).filter(isSignatureSchemeName);
