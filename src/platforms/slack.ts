/** Slack: the Events API's event.user; user.id (interactivity) and user_id (slash commands) follow. */
import { idField, isForm, topLevel, type Platform } from './platform';

export const slack: Platform = {
  keyPaths: 'event.user,user.id,user_id',
  scheme: 'slack',
  readsForms: true,
  // Re-sent up to three times (X-Slack-Retry-Num) with the same event_id (Events API).
  resends: true,
  deliveryId: (_headers, body) => idField(body, 'event_id'),
  // Slash commands and interactivity (form bodies) are answered inline; url_verification echoes its challenge.
  answerMatters: (headers, body) => isForm(headers) || topLevel(body, 'type') === 'url_verification',
};
