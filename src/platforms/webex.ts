/** Webex: the person who caused the event (developer.webex.com, Webhooks: actorId). */
import type { Platform } from './platform';

export const webex: Platform = { keyPaths: 'actorId', scheme: 'webex' };
