/**
 * Microsoft Teams: the sender's Entra object id, else their channel account id. Its deliveries
 * carry a Bot Framework JWT (the teams scheme, with TEAMS_APP_ID).
 */
import { idField, topLevel, type Platform } from './platform';

export const teams: Platform = {
  keyPaths: 'from.aadObjectId,from.id',
  scheme: 'teams',
  // An invoke activity expects an invoke response in the answer.
  answerMatters: (_headers, body) => topLevel(body, 'type') === 'invoke',
  // The Bot Connector re-sends after 15 s with the same activity id.
  resends: true,
  deliveryId: (_headers, body) => idField(body, 'id'),
};
