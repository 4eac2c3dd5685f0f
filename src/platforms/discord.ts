/** Discord: the member in a guild, else the user in a DM (discord.com/developers/docs, Interactions). */
import type { Platform } from './platform';

export const discord: Platform = {
  keyPaths: 'member.user.id,user.id',
  scheme: 'discord',
  // Discord reads every interaction's answer as the reply (a PING's as the pong).
  answerMatters: () => true,
};
