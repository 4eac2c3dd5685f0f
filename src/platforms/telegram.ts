/** Telegram: the user behind each kind of update (core.telegram.org/bots/api#update). */
import { idField, type Platform } from './platform';

export const telegram: Platform = {
  keyPaths: 'message.from.id,edited_message.from.id,callback_query.from.id,inline_query.from.id,my_chat_member.from.id,chat_member.from.id,channel_post.chat.id',
  scheme: 'telegram',
  // Telegram retries an update until it is answered 2xx, with the same update_id.
  resends: true,
  deliveryId: (_headers, body) => idField(body, 'update_id'),
};
