/** Slack: the Events API's event.user; user.id (interactivity) and user_id (slash commands) follow. */
import type { Platform } from './platform';

export const slack: Platform = { keyPaths: 'event.user,user.id,user_id', scheme: 'slack' };
