/**
 * parseConfig's parts, one per group of variables, each returning its share of the Config; and
 * the checks that span groups. Bad values go to the reader's problem list.
 */
import { modeOf, AFFINITY_MODES, type AffinityMode, type Mode } from '../modes';
import type { Platform } from '../platforms/platform';
import { PLATFORM_NAMES, PLATFORMS, type PlatformName } from '../platforms/platforms';
import { signingKeyOf } from '../signing/standard-webhooks';
import { DEFAULT_SIGNATURE_SCHEME, SIGNATURE_SCHEME_NAMES, SIGNATURE_SCHEMES } from '../signature/schemes';
import { DEFAULT_TEAMS_OPENID_URL, schemeHasKeys } from '../signature/verifier';
import { DEFAULT_STORE, isShared, readStoreOptions, STORE_NAMES } from '../store/backends';
import { DEFAULT_FORWARD_ENGINE, FORWARD_ENGINE_NAMES } from '../upstream/engines';
import type { Config } from './types';
import type { EnvReader } from './env-reader';

/** AFFINITY_COOKIES by default: the sticky cookies of common load balancers. */
export const DEFAULT_AFFINITY_COOKIES = ['AWSALB', 'AWSALBCORS', 'AWSALBAPP-0', 'SERVERID', 'INGRESSCOOKIE', 'heroku-session-affinity', 'ARRAffinity', 'ARRAffinitySameSite', 'GCLB', 'route'] as const;

// RFC 9110 token: what a header or cookie name may be made of.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

// Names whose value frames the message or belongs to one connection (RFC 9110 §7.6.1, §6.4),
// or routes it: a body-controlled value there would let a webhook rewrite the upstream request.
const RESERVED_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'host']);

function isReservedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return RESERVED_HEADERS.has(lower) || lower.startsWith('proxy-');
}

export function readListener(read: EnvReader) {
  const host = read.string('HOST', '');
  return {
    port: read.integer('PORT', 9090, 0, 65535),
    host: host === '' ? undefined : host,
    headersTimeoutMs: read.integer('HEADERS_TIMEOUT_MS', 10_000, 1, 3_600_000),
    requestTimeoutMs: read.integer('REQUEST_TIMEOUT_MS', 30_000, 1, 3_600_000),
    keepAliveTimeoutMs: read.integer('KEEP_ALIVE_TIMEOUT_MS', 65_000, 1, 3_600_000),
    shutdownTimeoutMs: read.integer('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 3_600_000),
    maxConnections: read.integer('MAX_CONNECTIONS', 10_000, 1, 10_000_000),
    workers: read.integer('WORKERS', 1, 1, 256),
  };
}

/** PLATFORM: the preset that gives AFFINITY_KEY and SIGNATURE_SCHEME their defaults. */
export function readPlatform(read: EnvReader) {
  const name = read.oneOf('PLATFORM', 'webex', PLATFORM_NAMES);
  const preset: Platform = PLATFORMS[name];
  return { platform: name, preset, platformGiven: (read.given('PLATFORM') ?? '').trim() !== '' && !read.hasProblem('PLATFORM') };
}

export function readAffinity(read: EnvReader, preset: Platform) {
  const mode = read.oneOf('AFFINITY_MODE', 'header', AFFINITY_MODES);
  // Where the proxy chooses the instance itself, AFFINITY_HEADER set empty means: inject no header.
  const givenHeader = read.given('AFFINITY_HEADER');
  const noHeader = modeOf(mode).route === 'pool' && givenHeader !== undefined && givenHeader.trim() === '';
  const header = read.string('AFFINITY_HEADER', 'Actorid');
  if (!TOKEN.test(header) || isReservedHeader(header)) {
    read.problem('AFFINITY_HEADER', header, 'an HTTP header name (letters, digits, - and _) that is not a framing, hop-by-hop or Host header');
  }
  const keyPaths = read.list('AFFINITY_KEY', preset.keyPaths).map((p) => p.split('.'));
  if (keyPaths.length === 0 || keyPaths.some((segments) => segments.some((s) => s === ''))) {
    read.problem('AFFINITY_KEY', read.given('AFFINITY_KEY') ?? '', 'comma-separated dotted JSON paths, such as actorId or data.roomId,actorId');
  }
  const cookieNames = read.list('AFFINITY_COOKIES', DEFAULT_AFFINITY_COOKIES.join(','));
  if (cookieNames.length === 0 || cookieNames.some((n) => n !== '*' && !TOKEN.test(n))) {
    read.problem('AFFINITY_COOKIES', read.given('AFFINITY_COOKIES') ?? '', 'comma-separated cookie names, or *');
  }
  return {
    mode,
    affinityHeader: noHeader ? undefined : header.toLowerCase(),
    keyPaths,
    keyMaxLength: read.integer('AFFINITY_KEY_MAX_LENGTH', 256, 1, 8192),
    affinityCookies: cookieNames.includes('*') ? ('*' as const) : new Set(cookieNames),
    affinityTtlMs: read.integer('AFFINITY_TTL', 86400, 1, 10 * 365 * 86400) * 1000,
    botPersonIds: new Set(read.list('BOT_PERSONID', '')),
  };
}

export function readLimits(read: EnvReader) {
  const maxBodyBytes = read.integer('MAX_BODY_BYTES', 262_144, 1, 1024 * 1024 * 1024);
  const maxBufferedBytes = read.integer('MAX_BUFFERED_BYTES', 67_108_864, 1, 64 * 1024 * 1024 * 1024);
  if (maxBufferedBytes < maxBodyBytes) {
    read.problem('MAX_BUFFERED_BYTES', String(maxBufferedBytes), `at least MAX_BODY_BYTES (${maxBodyBytes}), or no body of the largest allowed size could ever be read`);
  }
  return { maxBodyBytes, maxBufferedBytes };
}

/** The variable that gives a scheme what it needs, by what it needs. */
/** SIGNATURE_SCHEME's word for no checking, on purpose. */
const NO_VERIFICATION = 'none';

const NEEDS_VARIABLE = { secret: 'WEBHOOK_SECRET', 'public-key': 'DISCORD_PUBLIC_KEY', 'app-id': 'TEAMS_APP_ID' } as const;

export function readSignatures(read: EnvReader, warnings: string[], { platform, preset, platformGiven }: ReturnType<typeof readPlatform>) {
  const webhookSecrets = readSecrets(read, warnings);
  const chosen = read.oneOf('SIGNATURE_SCHEME', preset.scheme ?? DEFAULT_SIGNATURE_SCHEME, [...SIGNATURE_SCHEME_NAMES, NO_VERIFICATION]);
  // SIGNATURE_SCHEME=none: deliveries forwarded unverified, on purpose (and said so).
  const verifySignatures = chosen !== NO_VERIFICATION;
  const signatureScheme = chosen === NO_VERIFICATION ? (preset.scheme ?? DEFAULT_SIGNATURE_SCHEME) : chosen;
  const schemeGiven = (read.given('SIGNATURE_SCHEME') ?? '').trim() !== '';
  const publicKey = read.string('DISCORD_PUBLIC_KEY', '').toLowerCase();
  if (publicKey !== '' && !/^[0-9a-f]{64}$/.test(publicKey)) {
    read.problem('DISCORD_PUBLIC_KEY', publicKey, "the application's Ed25519 public key: 64 hex characters");
  }
  const signaturePublicKey = publicKey === '' ? undefined : publicKey;
  const appId = read.string('TEAMS_APP_ID', '').trim();
  const teamsAppId = appId === '' ? undefined : appId;
  const teamsOpenIdUrl = (read.url('TEAMS_OPENID_URL', DEFAULT_TEAMS_OPENID_URL) ?? new URL(DEFAULT_TEAMS_OPENID_URL)).href;
  const needs = NEEDS_VARIABLE[SIGNATURE_SCHEMES[signatureScheme].needs];
  const hasKeys = schemeHasKeys(signatureScheme, { secrets: webhookSecrets, publicKeyHex: signaturePublicKey, teamsAppId });
  // Secure by default, loud otherwise: a scheme asked for, by name or by a platform preset, must
  // be able to verify (a typo'd key variable would otherwise turn checking off without a word);
  // no checking at all is said at every start unless SIGNATURE_SCHEME=none says it is meant.
  if (verifySignatures && !hasKeys) {
    if (schemeGiven) read.problem('SIGNATURE_SCHEME', signatureScheme, `a scheme whose keys are set (${signatureScheme} needs ${needs}), or none to forward deliveries unverified`);
    else if (platformGiven && preset.scheme !== undefined) {
      read.problem('PLATFORM', platform, `its ${signatureScheme} signatures checked: set ${needs}, or SIGNATURE_SCHEME=none to forward deliveries unverified on purpose`);
    } else {
      warnings.push(`deliveries are not verified: set WEBHOOK_SECRET (Webex; PLATFORM for another platform), or SIGNATURE_SCHEME=none to say it is meant`);
    }
  }
  const dedupeMode = read.oneOf('DEDUPE', 'auto', ['auto', 'on', 'off'] as const);
  return {
    dedupe: dedupeMode === 'on' || (dedupeMode === 'auto' && preset.resends === true),
    dedupeTtlMs: read.integer('DEDUPE_TTL_S', 5400, 1, 30 * 86_400) * 1000,
    webhookSecrets,
    signatureScheme,
    verifySignatures,
    signaturePublicKey,
    teamsAppId,
    teamsOpenIdUrl,
    signatureToleranceMs: read.integer('SIGNATURE_TOLERANCE_S', 300, 1, 86_400) * 1000,
    verifyAllMethods: read.boolean('VERIFY_ALL_METHODS', false),
  };
}

/**
 * WEBHOOK_SECRET: comma-separated, each trimmed (so a secret cannot hold a comma or surrounding
 * spaces). Unset or empty turns checking off; a value that names no usable secret (",", " , ")
 * is refused rather than silently turning checking off; blank entries beside real ones are
 * dropped with a warning.
 */
function readSecrets(read: EnvReader, warnings: string[]): string[] {
  const raw = read.given('WEBHOOK_SECRET');
  if (raw === undefined || raw === '') return [];
  const entries = raw.split(',').map((s) => s.trim());
  const secrets = entries.filter((s) => s !== '');
  const blank = entries.length - secrets.length;
  if (secrets.length === 0) {
    read.problem('WEBHOOK_SECRET', raw, 'at least one non-blank secret (no usable secret was given; leave it empty to turn checking off)');
  } else if (blank > 0) {
    warnings.push(`WEBHOOK_SECRET has ${blank} blank entr${blank === 1 ? 'y' : 'ies'}: ignored, ${secrets.length} secret(s) used`);
  }
  return secrets;
}

/** TARGET_URL: where requests go in the modes that route to a fixed target. */
export function readTarget(read: EnvReader) {
  return { target: read.url('TARGET_URL', DEFAULT_TARGET) ?? new URL(DEFAULT_TARGET) };
}
const DEFAULT_TARGET = 'http://127.0.0.1:8080';

/** UPSTREAMS and their health checks (modes that route by pool), and how upstreams are spoken to. */
export function readUpstreams(read: EnvReader, mode: AffinityMode, warnings: string[]) {
  const upstreams = read.urlList('UPSTREAMS');
  const healthCheckPath = read.string('HEALTH_CHECK_PATH', '');
  if (healthCheckPath !== '' && !/^\/[\x21-\x7e]*$/.test(healthCheckPath)) {
    read.problem('HEALTH_CHECK_PATH', healthCheckPath, 'a path starting with /, such as /healthz');
  }
  if (modeOf(mode).route === 'pool') {
    if (upstreams.length === 0 && !read.hasProblem('UPSTREAMS')) {
      read.problem('UPSTREAMS', read.given('UPSTREAMS') ?? '', `comma-separated bot instance URLs (required in ${mode} mode)`);
    }
    if ((read.given('TARGET_URL')?.trim() ?? '') !== '') warnings.push(`TARGET_URL is not used in ${mode} mode: requests go to UPSTREAMS`);
  } else if (upstreams.length > 0) {
    warnings.push(`UPSTREAMS is only used in ${modesWhere((m) => m.route === 'pool')} mode (AFFINITY_MODE is ${mode}): requests go to TARGET_URL`);
  }
  return {
    upstreams,
    upstreamTimeoutMs: read.integer('UPSTREAM_TIMEOUT_MS', 30_000, 1, 3_600_000),
    upstreamKeepAliveMs: read.integer('UPSTREAM_KEEP_ALIVE_MS', 4000, 1, 3_600_000),
    forwardEngine: read.oneOf('FORWARD_ENGINE', DEFAULT_FORWARD_ENGINE, FORWARD_ENGINE_NAMES),
    targetInsecure: read.boolean('TARGET_INSECURE', false),
    changeOrigin: read.boolean('CHANGE_ORIGIN', true),
    healthCheckPath: healthCheckPath === '' ? undefined : healthCheckPath,
    healthCheckIntervalMs: read.integer('HEALTH_CHECK_INTERVAL_MS', 5000, 10, 3_600_000),
    healthCheckTimeoutMs: read.integer('HEALTH_CHECK_TIMEOUT_MS', 2000, 1, 3_600_000),
    healthCheckFall: read.integer('HEALTH_CHECK_FALL', 2, 1, 1000),
    healthCheckRise: read.integer('HEALTH_CHECK_RISE', 2, 1, 1000),
    retries: read.integer('RETRIES', 2, 0, 100),
  };
}

export function readStore(read: EnvReader) {
  return {
    store: read.oneOf('STORE', DEFAULT_STORE, STORE_NAMES),
    storeOptions: readStoreOptions(read),
    storeTimeoutMs: read.integer('STORE_TIMEOUT_MS', 100, 1, 60_000),
    readyRequiresStore: read.boolean('READY_REQUIRES_STORE', false),
  };
}

/** DELIVERY and the delivery mailbox's QUEUE_* variables. */
export function readDelivery(read: EnvReader) {
  const queueRetryMinMs = read.integer('QUEUE_RETRY_MIN_MS', 250, 1, 3_600_000);
  const queueRetryMaxMs = read.integer('QUEUE_RETRY_MAX_MS', 30_000, 1, 86_400_000);
  if (queueRetryMaxMs < queueRetryMinMs) {
    read.problem('QUEUE_RETRY_MAX_MS', String(queueRetryMaxMs), `at least QUEUE_RETRY_MIN_MS (${queueRetryMinMs})`);
  }
  return {
    delivery: read.oneOf('DELIVERY', 'direct', ['direct', 'queued'] as const),
    queueAckStatus: read.integer('QUEUE_ACK_STATUS', 200, 200, 299),
    queueConcurrency: read.integer('QUEUE_CONCURRENCY', 64, 1, 100_000),
    queueRetryMinMs,
    queueRetryMaxMs,
    queueMaxAgeMs: read.integer('QUEUE_MAX_AGE_MS', 3_600_000, 1, 30 * 86_400_000),
    queueMaxBytes: read.integer('QUEUE_MAX_BYTES', 268_435_456, 1, 64 * 1024 * 1024 * 1024),
    queueHoldMs: read.integer('QUEUE_HOLD_MS', 30_000, 0, 86_400_000),
    queueLeaseMs: read.integer('QUEUE_LEASE_MS', 10_000, 1, 3_600_000),
    spoolTimeoutMs: read.integer('SPOOL_TIMEOUT_MS', 1000, 1, 60_000),
    queueAckReplicas: read.integer('QUEUE_ACK_REPLICAS', 0, 0, 100),
    queueWhenStoreDown: read.oneOf('QUEUE_WHEN_STORE_DOWN', 'auto', ['direct', 'refuse', 'auto'] as const),
    deadLetterMax: read.integer('DEAD_LETTER_MAX', 10_000, 1, 10_000_000),
  };
}

/**
 * What the proxy adds to what it sends on: a fresh platform signature on a late mailbox delivery
 * (QUEUE_RESIGN), Standard Webhooks headers (DELIVERY_SIGNING_SECRET), and a queued Telegram
 * bot's webhook reply carried out (TELEGRAM_BOT_TOKEN, TELEGRAM_API_URL).
 */
export function readOutgoing(read: EnvReader, warnings: string[], { platform, delivery }: { platform: PlatformName; delivery: 'direct' | 'queued' }) {
  const secret = read.string('DELIVERY_SIGNING_SECRET', '').trim();
  if (secret !== '' && signingKeyOf(secret) === undefined) {
    read.problem('DELIVERY_SIGNING_SECRET', '(hidden)', 'a Standard Webhooks secret: whsec_ followed by base64 of 16 to 64 random bytes');
  }
  const token = read.string('TELEGRAM_BOT_TOKEN', '').trim();
  if (platform === 'telegram' && delivery === 'queued' && token === '') {
    warnings.push(
      "PLATFORM=telegram with DELIVERY=queued: a webhook reply (a Bot API method in the bot's answer) is dropped, since Telegram has its answer already; set TELEGRAM_BOT_TOKEN and the proxy makes that call",
    );
  }
  return {
    queueResign: read.oneOf('QUEUE_RESIGN', 'auto', ['auto', 'off'] as const),
    deliverySigningSecret: secret === '' ? undefined : secret,
    telegramBotToken: token === '' ? undefined : token,
    telegramApiUrl: read.url('TELEGRAM_API_URL', DEFAULT_TELEGRAM_API_URL) ?? new URL(DEFAULT_TELEGRAM_API_URL),
  };
}
const DEFAULT_TELEGRAM_API_URL = 'https://api.telegram.org';

export function readAdmin(read: EnvReader) {
  const portText = read.string('ADMIN_PORT', '9091').toLowerCase();
  const token = read.string('ADMIN_TOKEN', '');
  return {
    adminPort: portText === 'off' || portText === '0' ? undefined : read.integer('ADMIN_PORT', 9091, 1, 65535),
    adminHost: read.string('ADMIN_HOST', '127.0.0.1'),
    adminHosts: read
      .string('ADMIN_HOSTS', '')
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h !== ''),
    adminToken: token === '' ? undefined : token,
  };
}

/** The checks that involve variables of several groups. */
export function checkAcross(config: Config, read: EnvReader, warnings: string[]): void {
  const { mode, store, workers } = config;
  const learns = modeOf(mode).learns;
  if (workers > 1 && learns && !isShared(store)) {
    // Each worker would learn into its own map and replay only a fraction of the cookies.
    const shared = STORE_NAMES.filter(isShared).map((name) => `STORE=${name}`);
    read.problem('WORKERS', String(workers), `1 with STORE=${store} in ${mode} mode: each worker would keep its own cookie map; set ${shared.join(' or ')} to share one`);
  }
  if (config.delivery === 'queued' && workers > 1 && !isShared(store)) {
    read.problem('WORKERS', String(workers), `1 with DELIVERY=queued and STORE=${store}: each worker would keep its own mailboxes, and a key's webhooks could overtake each other`);
  }
  if (config.adminPort !== undefined && config.adminPort === config.port) {
    read.problem('ADMIN_PORT', String(config.adminPort), 'a port other than PORT (or off)');
  }
  const queued = config.delivery === 'queued';
  if (isShared(store) && storeParts(config).length === 0) {
    warnings.push(
      `STORE=${store} is not contacted: it holds learned cookies (${modesWhere((m) => m.learns)} modes; AFFINITY_MODE is ${mode}), the delivery mailbox (DELIVERY=queued) and dedupe ids (DEDUPE), and none is in use`,
    );
  }
  if (config.queueAckReplicas > 0 && !(queued && store === 'redis')) {
    read.problem(
      'QUEUE_ACK_REPLICAS',
      String(config.queueAckReplicas),
      '0 unless DELIVERY=queued and STORE=redis (replicas confirm what the Redis spool stores; with STORE=postgres a synchronous standby does this: docs/running.md, Running on PostgreSQL)',
    );
  }
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    // Node refuses a headers timeout longer than the request timeout.
    read.problem('HEADERS_TIMEOUT_MS', String(config.headersTimeoutMs), `at most REQUEST_TIMEOUT_MS (${config.requestTimeoutMs})`);
  }
}

/** What the store holds with this configuration, in words: for the start line and warnings. */
export function storeParts(config: Pick<Config, 'mode' | 'delivery' | 'dedupe'>): string[] {
  const parts = [modeOf(config.mode).learns && 'learned cookies', config.delivery === 'queued' && 'delivery mailbox', config.dedupe && 'dedupe ids'];
  return parts.filter((p) => p !== false);
}

/** The names of the modes that `has`, for messages: "cookie and both". */
function modesWhere(has: (mode: Mode) => boolean): string {
  return AFFINITY_MODES.filter((name) => has(modeOf(name))).join(' and ');
}
