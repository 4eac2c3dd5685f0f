/**
 * The keeper's variables (src/keeper/): the address the platforms should call, how often it
 * looks, and each platform's API credentials. A platform is kept only when its credentials and
 * PUBLIC_URL are set.
 */
import { createPrivateKey } from 'node:crypto';
import type { EnvReader } from './env-reader';
import type { GitHubHook } from './types';

/** Webex's resource:event pairs by default: what a bot reacts to. */
const DEFAULT_WEBEX_WEBHOOKS = 'messages:created,attachmentActions:created';

export function readKeeper(read: EnvReader) {
  const publicUrl = read.string('PUBLIC_URL', '').trim() === '' ? undefined : read.url('PUBLIC_URL', '');
  const webexToken = orUndefined(read.string('WEBEX_BOT_TOKEN', ''));
  const githubToken = orUndefined(read.string('GITHUB_TOKEN', ''));
  const hookText = read.string('GITHUB_HOOK', '').trim();
  const appId = read.string('GITHUB_APP_ID', '').trim();
  const appKey = read.string('GITHUB_APP_PRIVATE_KEY', '').trim().replaceAll('\\n', '\n');
  let githubHook = hookText === '' ? undefined : hookOf(hookText);
  if (hookText !== '' && githubHook === undefined) read.problem('GITHUB_HOOK', hookText, 'owner/repo/<hook id> or org/<hook id>, the id a number');
  if (appId !== '' || appKey !== '') {
    if (!/^\d+$/.test(appId)) read.problem('GITHUB_APP_ID', appId, "the GitHub App's numeric id (with GITHUB_APP_PRIVATE_KEY)");
    else if (!isPrivateKey(appKey)) read.problem('GITHUB_APP_PRIVATE_KEY', '(hidden)', "the App's private key, PEM (-----BEGIN RSA PRIVATE KEY-----...), \\n escapes allowed");
    else if (hookText !== '') read.problem('GITHUB_HOOK', hookText, "unset with GITHUB_APP_ID: the App's own webhook is kept (a repository's or organisation's hook takes GITHUB_TOKEN)");
    else githubHook = { kind: 'app', appId };
  }
  const webexWebhooks = read.list('WEBEX_WEBHOOKS', DEFAULT_WEBEX_WEBHOOKS).map((pair) => {
    const [resource = '', event = ''] = pair.split(':');
    if (!/^[A-Za-z]+$/.test(resource) || !/^[A-Za-z]+$/.test(event)) read.problem('WEBEX_WEBHOOKS', pair, 'resource:event pairs, such as messages:created');
    return { resource, event };
  });
  const allowed = read.list('TELEGRAM_ALLOWED_UPDATES', '');
  return {
    publicUrl,
    keeperIntervalMs: read.integer('KEEPER_INTERVAL_S', 60, 5, 86_400) * 1000,
    webexBotToken: webexToken,
    webexWebhooks,
    webexApiUrl: read.url('WEBEX_API_URL', 'https://webexapis.com/v1') ?? new URL('https://webexapis.com/v1'),
    githubToken,
    githubHook,
    githubAppPrivateKey: appKey === '' ? undefined : appKey,
    githubApiUrl: read.url('GITHUB_API_URL', 'https://api.github.com') ?? new URL('https://api.github.com'),
    /** Empty: the keeper leaves Telegram's allowed_updates as they are. */
    telegramAllowedUpdates: allowed,
    telegramMaxConnections: read.integer('TELEGRAM_MAX_CONNECTIONS', 40, 1, 100),
  };
}

function isPrivateKey(pem: string): boolean {
  try {
    return createPrivateKey(pem).asymmetricKeyType === 'rsa';
  } catch {
    return false;
  }
}

/** A token: unset when empty. */
function orUndefined(text: string): string | undefined {
  const value = text.trim();
  return value === '' ? undefined : value;
}

function hookOf(text: string): GitHubHook | undefined {
  const parts = text.split('/');
  const id = parts[parts.length - 1] ?? '';
  if (!/^\d+$/.test(id) || parts.some((p) => p === '')) return undefined;
  if (parts.length === 3) return { kind: 'repo', owner: parts[0]!, repo: parts[1]!, id };
  if (parts.length === 2) return { kind: 'org', org: parts[0]!, id };
  return undefined;
}
