/**
 * Telegram: no signature; `X-Telegram-Bot-Api-Secret-Token` carries the secret_token given to
 * setWebhook, compared in constant time (core.telegram.org/bots/api#setwebhook).
 */
import { tokenMatches } from './hmac';
import { ACCEPTED, rejected, type SignatureScheme } from './scheme';
import { single } from './timestamped-hmac';

export const telegram: SignatureScheme = {
  headers: ['X-Telegram-Bot-Api-Secret-Token'],
  timestamped: false,
  needs: 'secret',
  verify({ headers }, { secrets }) {
    const given = single(headers, 'x-telegram-bot-api-secret-token');
    if (given === undefined) return rejected('missing');
    return tokenMatches(secrets, given) ? ACCEPTED : rejected('mismatch');
  },
};
