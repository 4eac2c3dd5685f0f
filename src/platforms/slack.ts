/** Slack: the Events API's event.user; user.id (interactivity) and user_id (slash commands) follow. */
import { isForm, topLevel, type Platform } from './platform';

export const slack: Platform = {
  keyPaths: 'event.user,user.id,user_id',
  scheme: 'slack',
  readsForms: true,
  // Slash commands and interactivity (form bodies) are answered inline; url_verification echoes its challenge.
  answerMatters: (headers, body) => isForm(headers) || topLevel(body, 'type') === 'url_verification',
};
