/**
 * Telegram: the bot's webhook must call PUBLIC_URL with our secret token, allowed updates and
 * max connections. getWebhookInfo tells all but the secret (Telegram never shows it), so the
 * keeper sets the webhook once when it starts, and again whenever what it can see differs. It
 * never drops pending updates. Telegram reports delivery trouble only to whoever asks: the
 * pending count and the last error are figures here, and a new error is an event.
 */
import { callApi, failureOf, field } from './api';
import type { KeeperReport, KeptPlatform } from './platform';

export interface TelegramKeeperOptions {
  readonly apiUrl: URL;
  readonly token: string;
  readonly publicUrl: string;
  /** secret_token: the first WEBHOOK_SECRET (Telegram sends it back in X-Telegram-Bot-Api-Secret-Token). */
  readonly secret: string | undefined;
  /** Empty: left as they are. */
  readonly allowedUpdates: readonly string[];
  readonly maxConnections: number;
  readonly maxWaitMs?: number;
}

export function telegramKeeper(options: TelegramKeeperOptions): KeptPlatform {
  // Joined as text: resolved as a relative URL, "bot123:ABC/..." would read as a scheme.
  const base = `${options.apiUrl.href.replace(/\/+$/, '')}/bot${options.token}`;
  const call = (method: string, body?: unknown) =>
    callApi(`${base}/${method}`, method, { method: 'POST', body: body ?? {}, ...(options.maxWaitMs === undefined ? {} : { maxWaitMs: options.maxWaitMs }) });
  let setOnce = false;
  let lastErrorSeen = 0;

  async function check(now: number): Promise<KeeperReport> {
    const changes: string[] = [];
    const notices: string[] = [];
    try {
      const info = field((await call('getWebhookInfo')).body, 'result');
      const differs = whatDiffers(info, options);
      if (!setOnce || differs.length > 0) {
        await call('setWebhook', {
          url: options.publicUrl,
          max_connections: options.maxConnections,
          // Pending updates stay: they are the people's messages.
          drop_pending_updates: false,
          ...(options.secret === undefined ? {} : { secret_token: options.secret }),
          ...(options.allowedUpdates.length === 0 ? {} : { allowed_updates: options.allowedUpdates }),
        });
        if (differs.length > 0) changes.push(`Telegram webhook differed (${differs.join(', ')}): set again, pending updates kept`);
        setOnce = true;
      }
      const pending = Number(field(info, 'pending_update_count') ?? 0);
      const errorDate = Number(field(info, 'last_error_date') ?? 0);
      const errorMessage = String(field(info, 'last_error_message') ?? '');
      if (errorDate > lastErrorSeen) {
        if (lastErrorSeen !== 0 || now / 1000 - errorDate < 3600) notices.push(`Telegram reports a failed delivery ${Math.round(now / 1000 - errorDate)} s ago: ${errorMessage}`);
        lastErrorSeen = errorDate;
      }
      const figures = { pending_updates: pending, ...(errorDate > 0 ? { last_error_age_seconds: Math.max(0, Math.round(now / 1000 - errorDate)) } : {}) };
      const errorText = errorDate > 0 ? `; last error ${Math.round(now / 1000 - errorDate)} s ago: ${errorMessage}` : '';
      const detail = `${differs.length > 0 ? 'set again' : 'calling'} ${options.publicUrl}; ${pending} update(s) pending${errorText}`;
      return { platform: 'telegram', state: differs.length > 0 ? 'fixed' : 'ok', detail, checkedAt: now, figures, changes, notices, lastError: errorDate > 0 ? errorMessage : undefined };
    } catch (err) {
      return { platform: 'telegram', state: 'failing', ...failureOf(err), checkedAt: now, figures: {}, changes };
    }
  }

  return { name: 'telegram', check };
}

/** What getWebhookInfo shows that is not ours (the secret it never shows). */
function whatDiffers(info: unknown, options: TelegramKeeperOptions): string[] {
  const differs: string[] = [];
  const url = String(field(info, 'url') ?? '');
  if (url !== options.publicUrl) differs.push(url === '' ? 'no URL' : `URL ${url}`);
  const max = field(info, 'max_connections');
  if (max !== undefined && Number(max) !== options.maxConnections) differs.push(`max_connections ${String(max)}`);
  if (options.allowedUpdates.length > 0) {
    const allowed = field(info, 'allowed_updates');
    const theirs = Array.isArray(allowed) ? allowed.map(String).sort().join(',') : '';
    if (theirs !== [...options.allowedUpdates].sort().join(',')) differs.push(`allowed_updates ${theirs === '' ? '(all)' : theirs}`);
  }
  return differs;
}
