/** Zoom: the chatbot user (payload.userId), else the operator of a Team Chat event. */
import { topLevel, type Platform } from './platform';

export const zoom: Platform = {
  keyPaths: 'payload.userId,payload.operator_id',
  scheme: 'zoom',
  // The endpoint validation expects the hashed token back in the answer.
  answerMatters: (_headers, body) => topLevel(body, 'event') === 'endpoint.url_validation',
  // Zoom retries (for ~85 min in all), but documents no id that stays the same across copies.
  resends: true,
};
