/**
 * The signature schemes by SIGNATURE_SCHEME name: adding one is a file beside webex.ts and a
 * line here.
 */
import { discord } from './discord';
import { github } from './github';
import type { SignatureScheme } from './scheme';
import { slack } from './slack';
import { teams } from './teams';
import { telegram } from './telegram';
import { webex } from './webex';
import { zoom } from './zoom';

export const SIGNATURE_SCHEMES = {
  webex,
  slack,
  github,
  zoom,
  telegram,
  discord,
  teams,
} as const satisfies Record<string, SignatureScheme>;

export type SignatureSchemeName = keyof typeof SIGNATURE_SCHEMES;

/** SIGNATURE_SCHEME when unset; without a secret it checks nothing (the project began with Webex). */
export const DEFAULT_SIGNATURE_SCHEME: SignatureSchemeName = 'webex';

function isSignatureSchemeName(name: string): name is SignatureSchemeName {
  return Object.hasOwn(SIGNATURE_SCHEMES, name);
}

export const SIGNATURE_SCHEME_NAMES: readonly SignatureSchemeName[] = Object.keys(SIGNATURE_SCHEMES).filter(isSignatureSchemeName);
