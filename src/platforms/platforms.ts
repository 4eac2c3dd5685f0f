/**
 * The platform presets by PLATFORM name: adding one is a file beside webex.ts and a line here.
 * `generic` presets nothing: AFFINITY_KEY (default actorId) and SIGNATURE_SCHEME as set.
 */
import { discord } from './discord';
import { github } from './github';
import type { Platform } from './platform';
import { slack } from './slack';
import { teams } from './teams';
import { telegram } from './telegram';
import { webex } from './webex';
import { zoom } from './zoom';

export const PLATFORMS = {
  webex,
  slack,
  teams,
  telegram,
  github,
  zoom,
  discord,
  generic: { keyPaths: 'actorId', scheme: undefined },
} as const satisfies Record<string, Platform>;

export type PlatformName = keyof typeof PLATFORMS;

function isPlatformName(name: string): name is PlatformName {
  return Object.hasOwn(PLATFORMS, name);
}

export const PLATFORM_NAMES: readonly PlatformName[] = Object.keys(PLATFORMS).filter(isPlatformName);
