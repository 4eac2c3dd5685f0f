/**
 * Which platforms the keeper keeps, from the configuration: Webex with WEBEX_BOT_TOKEN and
 * PUBLIC_URL, Telegram with TELEGRAM_BOT_TOKEN and PUBLIC_URL, GitHub with GITHUB_TOKEN and
 * GITHUB_HOOK (or a GitHub App's own webhook with GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY).
 * None: no keeper.
 */
import type { Config } from '../config/types';
import type { DeliveryIds } from '../dedupe/delivery-ids';
import { githubKeeper } from './github';
import type { KeptPlatform } from './platform';
import { telegramKeeper } from './telegram';
import { webexKeeper } from './webex';

export function keptPlatforms(config: Config, asked: Pick<DeliveryIds, 'claim' | 'release'>): KeptPlatform[] {
  const publicUrl = config.publicUrl?.href;
  // The secret the platform signs with (or sends back): the first of WEBHOOK_SECRET's.
  const secret = config.webhookSecrets[0];
  const platforms: KeptPlatform[] = [];
  if (config.webexBotToken !== undefined && publicUrl !== undefined) {
    platforms.push(webexKeeper({ apiUrl: config.webexApiUrl, token: config.webexBotToken, publicUrl, secret, wanted: config.webexWebhooks }));
  }
  if (config.telegramBotToken !== undefined && publicUrl !== undefined) {
    platforms.push(
      telegramKeeper({
        apiUrl: config.telegramApiUrl,
        token: config.telegramBotToken,
        publicUrl,
        secret,
        allowedUpdates: config.telegramAllowedUpdates,
        maxConnections: config.telegramMaxConnections,
      }),
    );
  }
  const hook = config.githubHook;
  if (hook?.kind === 'app' && config.githubAppPrivateKey !== undefined) {
    platforms.push(githubKeeper({ apiUrl: config.githubApiUrl, auth: { appPrivateKey: config.githubAppPrivateKey }, hook, asked }));
  } else if (hook !== undefined && hook.kind !== 'app' && config.githubToken !== undefined) {
    platforms.push(githubKeeper({ apiUrl: config.githubApiUrl, auth: { token: config.githubToken }, hook, asked }));
  }
  return platforms;
}
