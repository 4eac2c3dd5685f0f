/**
 * What a platform preset (PLATFORM) sets: where the person is in its deliveries, and how they are
 * signed. AFFINITY_KEY and SIGNATURE_SCHEME, when set, override it.
 */
import type { SignatureSchemeName } from '../signature/schemes';

export interface Platform {
  /** AFFINITY_KEY's default: dotted JSON paths, the first found wins. */
  readonly keyPaths: string;
  /** SIGNATURE_SCHEME's default; undefined when this proxy cannot verify the platform yet. */
  readonly scheme: SignatureSchemeName | undefined;
}
