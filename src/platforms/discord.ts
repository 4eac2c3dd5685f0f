/** Discord: the member in a guild, else the user in a DM (discord.com/developers/docs, Interactions). */
import { idField, type Platform } from './platform';

export const discord: Platform = {
  keyPaths: 'member.user.id,user.id',
  scheme: 'discord',
  // Discord reads every interaction's answer as the reply (a PING's as the pong).
  answerMatters: () => true,
  // Discord does not re-send; DEDUPE=on uses the interaction id.
  deliveryId: (_headers, body) => idField(body, 'id'),
};
