/**
 * Environment → one frozen, typed Config.
 *
 * Every variable is read here and nowhere else. Bad values are collected, not thrown one by one,
 * so a user fixing a deployment sees every problem at once. The module has no side effects:
 * tests hand `parseConfig` a plain record.
 */

import { EnvReader } from './env-reader';
import { SIGNATURE_SCHEME_NAMES, type SignatureSchemeName } from './request/signature';

export type AffinityMode = 'header' | 'cookie' | 'both' | 'hash';
export const AFFINITY_MODES: readonly AffinityMode[] = ['header', 'cookie', 'both', 'hash'];

export const DEFAULT_AFFINITY_COOKIES = [
  'AWSALB',
  'AWSALBCORS',
  'AWSALBAPP-0',
  'SERVERID',
  'INGRESSCOOKIE',
  'heroku-session-affinity',
  'ARRAffinity',
  'ARRAffinitySameSite',
  'GCLB',
  'route',
] as const;

export interface Config {
  /** Listening port (PORT, default 9090; 0 picks a free one). */
  readonly port: number;
  /** Listening address (HOST, default: all interfaces). */
  readonly host: string | undefined;
  /** Where every request goes (TARGET_URL); its path is a prefix joined to the request path. */
  readonly target: URL;
  /** How affinity is given (AFFINITY_MODE, default header). */
  readonly mode: AffinityMode;
  /**
   * Header injected in header, both and hash modes (AFFINITY_HEADER, default Actorid),
   * lower-cased; undefined in hash mode when AFFINITY_HEADER is set empty.
   */
  readonly affinityHeader: string | undefined;
  /** JSON paths tried in order for the key (AFFINITY_KEY, default actorId), split on dots. */
  readonly keyPaths: readonly (readonly string[])[];
  /** Longest key accepted, in characters (AFFINITY_KEY_MAX_LENGTH, default 256). */
  readonly keyMaxLength: number;
  /** Cookie names learned and replayed (AFFINITY_COOKIES); `'*'` means every cookie. */
  readonly affinityCookies: ReadonlySet<string> | '*';
  /** Longest a learned cookie is kept, ms (AFFINITY_TTL seconds, default 86400 s). */
  readonly affinityTtlMs: number;
  /** Most keys remembered by the memory store (AFFINITY_MAX_ENTRIES, default 100000). */
  readonly affinityMaxEntries: number;
  /** Keys that never get affinity: the bot's own events (BOT_PERSONID). */
  readonly botPersonIds: ReadonlySet<string>;
  /** Largest request body read, bytes (MAX_BODY_BYTES, default 256 KiB); larger → 413. */
  readonly maxBodyBytes: number;
  /** Body bytes held in memory across all requests in flight (MAX_BUFFERED_BYTES, default 64 MiB); over it → 503. */
  readonly maxBufferedBytes: number;
  /** Client connections open at once (MAX_CONNECTIONS, default 10000); more are refused. */
  readonly maxConnections: number;
  /** Upstream silence before 504, ms (UPSTREAM_TIMEOUT_MS, default 30000). */
  readonly upstreamTimeoutMs: number;
  /** How long an idle upstream connection is kept for reuse, ms (UPSTREAM_KEEP_ALIVE_MS, default 4000). */
  readonly upstreamKeepAliveMs: number;
  /** Skip TLS certificate checks towards an https target (TARGET_INSECURE, default false). */
  readonly targetInsecure: boolean;
  /** Rewrite Host to the target's (CHANGE_ORIGIN, default true). */
  readonly changeOrigin: boolean;
  /** Grace for in-flight requests on SIGTERM/SIGINT, ms (SHUTDOWN_TIMEOUT_MS, default 10000). */
  readonly shutdownTimeoutMs: number;
  /** Time a client has to send its request headers, ms (HEADERS_TIMEOUT_MS, default 10000). */
  readonly headersTimeoutMs: number;
  /** Time a client has to send its whole request, ms (REQUEST_TIMEOUT_MS, default 30000). */
  readonly requestTimeoutMs: number;
  /** Idle time before a client keep-alive connection is closed, ms (KEEP_ALIVE_TIMEOUT_MS, default 65000). */
  readonly keepAliveTimeoutMs: number;
  /** Secrets a webhook signature may be made with (WEBHOOK_SECRET); empty turns checking off. */
  readonly webhookSecrets: readonly string[];
  /** How signatures are made (SIGNATURE_SCHEME, default webex). */
  readonly signatureScheme: SignatureSchemeName;
  /** Check signatures on every method, not only POST (VERIFY_ALL_METHODS, default false). */
  readonly verifyAllMethods: boolean;
  /** Hash mode: the bot instances keys are spread over (UPSTREAMS). */
  readonly upstreams: readonly URL[];
  /** Hash mode: path probed on each upstream (HEALTH_CHECK_PATH); undefined: no active checks. */
  readonly healthCheckPath: string | undefined;
  /** Between probes, and the passive cool-down, ms (HEALTH_CHECK_INTERVAL_MS, default 5000). */
  readonly healthCheckIntervalMs: number;
  /** A probe slower than this fails, ms (HEALTH_CHECK_TIMEOUT_MS, default 2000). */
  readonly healthCheckTimeoutMs: number;
  /** Consecutive failures that mark an upstream down (HEALTH_CHECK_FALL, default 2). */
  readonly healthCheckFall: number;
  /** Consecutive probe successes that mark it up (HEALTH_CHECK_RISE, default 2). */
  readonly healthCheckRise: number;
  /** Hash mode: other upstreams tried when a connection cannot be made (RETRIES, default 2). */
  readonly retries: number;
  /** Where learned cookies live (STORE, default memory). */
  readonly store: 'memory' | 'redis';
  /** The Redis to share them in (REDIS_URL, default redis://127.0.0.1:6379). */
  readonly redisUrl: string;
  /** Prefix of every Redis key written (REDIS_PREFIX, default webhook-affinity:). */
  readonly redisPrefix: string;
  /** A store call slower than this is a miss or a dropped write, ms (STORE_TIMEOUT_MS, default 100). */
  readonly storeTimeoutMs: number;
  /** Readiness fails while the networked store is unreachable (READY_REQUIRES_STORE, default false). */
  readonly readyRequiresStore: boolean;
  /** Worker processes sharing the port (WORKERS, default 1). */
  readonly workers: number;
  /** Admin listener port (ADMIN_PORT, default 9091); undefined when `0` or `off`. */
  readonly adminPort: number | undefined;
  /** Admin listener address (ADMIN_HOST, default 127.0.0.1). */
  readonly adminHost: string;
  /** Bearer token for /affinity (ADMIN_TOKEN); undefined: /affinity is not served. */
  readonly adminToken: string | undefined;
  /** One JSON line per request on stdout (ACCESS_LOG=json; default off). */
  readonly accessLog: 'off' | 'json';
  /** Things worth telling at start-up that are not errors. */
  readonly warnings: readonly string[];
}

export type Env = Readonly<Record<string, string | undefined>>;

/** One bad variable: its name, what was given, and what is accepted. */
export interface ConfigProblem {
  readonly variable: string;
  readonly value: string;
  readonly expected: string;
}

export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.variable}=${JSON.stringify(p.value)} is not valid: expected ${p.expected}`;
}

// RFC 9110 token: what a header or cookie name may be made of.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Reads and validates every variable; throws ConfigError listing every problem found. */
export function parseConfig(env: Env): Config {
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];
  const read = new EnvReader(env, problems);

  const port = read.integer('PORT', 9090, 0, 65535);
  const hostRaw = read.string('HOST', '');
  const target = read.url('TARGET_URL', 'http://127.0.0.1:8080');
  const mode = read.oneOf('AFFINITY_MODE', 'header', AFFINITY_MODES);
  // In hash mode AFFINITY_HEADER set empty means: inject no header at all.
  const noHeader = mode === 'hash' && env.AFFINITY_HEADER !== undefined && env.AFFINITY_HEADER.trim() === '';
  const affinityHeader = read.string('AFFINITY_HEADER', 'Actorid');
  if (!TOKEN.test(affinityHeader) || isReservedHeader(affinityHeader)) {
    problems.push({ variable: 'AFFINITY_HEADER', value: affinityHeader, expected: 'an HTTP header name (letters, digits, - and _) that is not a framing, hop-by-hop or Host header' });
  }
  const keyPaths = read.list('AFFINITY_KEY', 'actorId').map((p) => p.split('.'));
  if (keyPaths.length === 0 || keyPaths.some((segments) => segments.some((s) => s === ''))) {
    problems.push({ variable: 'AFFINITY_KEY', value: env.AFFINITY_KEY ?? '', expected: 'comma-separated dotted JSON paths, such as actorId or data.roomId,actorId' });
  }
  const keyMaxLength = read.integer('AFFINITY_KEY_MAX_LENGTH', 256, 1, 8192);
  const cookieNames = read.list('AFFINITY_COOKIES', DEFAULT_AFFINITY_COOKIES.join(','));
  const badCookie = cookieNames.find((n) => n !== '*' && !TOKEN.test(n));
  if (cookieNames.length === 0 || badCookie !== undefined) {
    problems.push({ variable: 'AFFINITY_COOKIES', value: env.AFFINITY_COOKIES ?? '', expected: 'comma-separated cookie names, or *' });
  }
  const affinityTtlSeconds = read.integer('AFFINITY_TTL', 86400, 1, 10 * 365 * 86400);
  const affinityMaxEntries = read.integer('AFFINITY_MAX_ENTRIES', 100_000, 1, 100_000_000);
  const botPersonIds = new Set(read.list('BOT_PERSONID', ''));
  const maxBodyBytes = read.integer('MAX_BODY_BYTES', 262_144, 1, 1024 * 1024 * 1024);
  const maxBufferedBytes = read.integer('MAX_BUFFERED_BYTES', 67_108_864, 1, 64 * 1024 * 1024 * 1024);
  if (maxBufferedBytes < maxBodyBytes) {
    problems.push({ variable: 'MAX_BUFFERED_BYTES', value: String(maxBufferedBytes), expected: `at least MAX_BODY_BYTES (${maxBodyBytes}), or no body of the largest allowed size could ever be read` });
  }
  const maxConnections = read.integer('MAX_CONNECTIONS', 10_000, 1, 10_000_000);
  const upstreamTimeoutMs = read.integer('UPSTREAM_TIMEOUT_MS', 30_000, 1, 3_600_000);
  const upstreamKeepAliveMs = read.integer('UPSTREAM_KEEP_ALIVE_MS', 4000, 1, 3_600_000);
  const targetInsecure = read.boolean('TARGET_INSECURE', false);
  const changeOrigin = read.boolean('CHANGE_ORIGIN', true);
  const shutdownTimeoutMs = read.integer('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 3_600_000);
  const headersTimeoutMs = read.integer('HEADERS_TIMEOUT_MS', 10_000, 1, 3_600_000);
  const requestTimeoutMs = read.integer('REQUEST_TIMEOUT_MS', 30_000, 1, 3_600_000);
  const keepAliveTimeoutMs = read.integer('KEEP_ALIVE_TIMEOUT_MS', 65_000, 1, 3_600_000);
  const webhookSecrets = readSecrets(env.WEBHOOK_SECRET, problems, warnings);
  const signatureScheme = read.oneOf('SIGNATURE_SCHEME', 'webex', SIGNATURE_SCHEME_NAMES);
  const verifyAllMethods = read.boolean('VERIFY_ALL_METHODS', false);
  const upstreams = read.urlList('UPSTREAMS');
  const healthCheckPath = read.string('HEALTH_CHECK_PATH', '');
  if (healthCheckPath !== '' && !/^\/[\x21-\x7e]*$/.test(healthCheckPath)) {
    problems.push({ variable: 'HEALTH_CHECK_PATH', value: healthCheckPath, expected: 'a path starting with /, such as /healthz' });
  }
  const healthCheckIntervalMs = read.integer('HEALTH_CHECK_INTERVAL_MS', 5000, 10, 3_600_000);
  const healthCheckTimeoutMs = read.integer('HEALTH_CHECK_TIMEOUT_MS', 2000, 1, 3_600_000);
  const healthCheckFall = read.integer('HEALTH_CHECK_FALL', 2, 1, 1000);
  const healthCheckRise = read.integer('HEALTH_CHECK_RISE', 2, 1, 1000);
  const retries = read.integer('RETRIES', 2, 0, 100);
  const store = read.oneOf('STORE', 'memory', ['memory', 'redis'] as const);
  const redisUrl = read.string('REDIS_URL', 'redis://127.0.0.1:6379');
  if (!/^rediss?:\/\/[^\s]*$/.test(redisUrl)) {
    problems.push({ variable: 'REDIS_URL', value: redactUrl(redisUrl), expected: 'a redis:// or rediss:// URL, such as redis://127.0.0.1:6379' });
  }
  const redisPrefix = read.string('REDIS_PREFIX', 'webhook-affinity:');
  const storeTimeoutMs = read.integer('STORE_TIMEOUT_MS', 100, 1, 60_000);
  const readyRequiresStore = read.boolean('READY_REQUIRES_STORE', false);
  const workers = read.integer('WORKERS', 1, 1, 256);
  const learnsCookies = mode === 'cookie' || mode === 'both';
  if (workers > 1 && learnsCookies && store === 'memory') {
    // Each worker would learn into its own map and replay only a fraction of the cookies.
    problems.push({ variable: 'WORKERS', value: String(workers), expected: `1 with STORE=memory in ${mode} mode: each worker would keep its own cookie map; set STORE=redis to share one` });
  }
  const adminPortRaw = read.string('ADMIN_PORT', '9091').toLowerCase();
  const adminPort = adminPortRaw === 'off' || adminPortRaw === '0' ? undefined : read.integer('ADMIN_PORT', 9091, 1, 65535);
  const adminHost = read.string('ADMIN_HOST', '127.0.0.1');
  const adminToken = read.string('ADMIN_TOKEN', '');
  const accessLog = read.oneOf('ACCESS_LOG', 'off', ['off', 'json'] as const);
  if (adminPort !== undefined && adminPort === port) {
    problems.push({ variable: 'ADMIN_PORT', value: String(adminPort), expected: 'a port other than PORT (or off)' });
  }
  if (store === 'redis' && !learnsCookies) warnings.push(`STORE=redis is only used in cookie and both modes (AFFINITY_MODE is ${mode}): Redis is not contacted`);
  if (mode === 'hash') {
    if (upstreams.length === 0 && !problems.some((p) => p.variable === 'UPSTREAMS')) {
      problems.push({ variable: 'UPSTREAMS', value: env.UPSTREAMS ?? '', expected: 'comma-separated bot instance URLs (required in hash mode)' });
    }
    if (env.TARGET_URL !== undefined && env.TARGET_URL.trim() !== '') warnings.push('TARGET_URL is not used in hash mode: requests go to UPSTREAMS');
  } else if (upstreams.length > 0) {
    warnings.push(`UPSTREAMS is only used in hash mode (AFFINITY_MODE is ${mode}): requests go to TARGET_URL`);
  }
  if (headersTimeoutMs > requestTimeoutMs) {
    // Node refuses a headers timeout longer than the request timeout.
    problems.push({ variable: 'HEADERS_TIMEOUT_MS', value: String(headersTimeoutMs), expected: `at most REQUEST_TIMEOUT_MS (${requestTimeoutMs})` });
  }

  if (problems.length > 0) throw new ConfigError(problems);

  return Object.freeze({
    port,
    host: hostRaw === '' ? undefined : hostRaw,
    target: target as URL,
    mode,
    affinityHeader: noHeader ? undefined : affinityHeader.toLowerCase(),
    keyPaths,
    keyMaxLength,
    affinityCookies: cookieNames.includes('*') ? '*' : new Set(cookieNames),
    affinityTtlMs: affinityTtlSeconds * 1000,
    affinityMaxEntries,
    botPersonIds,
    maxBodyBytes,
    maxBufferedBytes,
    maxConnections,
    upstreamTimeoutMs,
    upstreamKeepAliveMs,
    targetInsecure,
    changeOrigin,
    shutdownTimeoutMs,
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs,
    webhookSecrets,
    signatureScheme,
    verifyAllMethods,
    upstreams,
    healthCheckPath: healthCheckPath === '' ? undefined : healthCheckPath,
    healthCheckIntervalMs,
    healthCheckTimeoutMs,
    healthCheckFall,
    healthCheckRise,
    retries,
    store,
    redisUrl,
    redisPrefix,
    storeTimeoutMs,
    readyRequiresStore,
    workers,
    adminPort,
    adminHost,
    adminToken: adminToken === '' ? undefined : adminToken,
    accessLog,
    warnings,
  });
}

// Names whose value frames the message or belongs to one connection (RFC 9110 §7.6.1, §6.4),
// or routes it: a body-controlled value there would let a webhook rewrite the upstream request.
const RESERVED_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'host']);

function isReservedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return RESERVED_HEADERS.has(lower) || lower.startsWith('proxy-');
}

/**
 * WEBHOOK_SECRET: comma-separated, each trimmed (so a secret cannot hold a comma or surrounding
 * spaces). Unset or empty turns checking off; a value that names no usable secret (",", " , ")
 * is refused rather than silently turning checking off; blank entries beside real ones are
 * dropped with a warning.
 */
function readSecrets(raw: string | undefined, problems: ConfigProblem[], warnings: string[]): string[] {
  if (raw === undefined || raw === '') return [];
  const entries = raw.split(',').map((s) => s.trim());
  const secrets = entries.filter((s) => s !== '');
  if (secrets.length === 0) {
    problems.push({ variable: 'WEBHOOK_SECRET', value: raw, expected: 'at least one non-blank secret (no usable secret was given; leave it empty to turn checking off)' });
  } else if (secrets.length < entries.length) {
    warnings.push(`WEBHOOK_SECRET has ${entries.length - secrets.length} blank entr${entries.length - secrets.length === 1 ? 'y' : 'ies'}: ignored, ${secrets.length} secret(s) used`);
  }
  return secrets;
}

/** A URL with its password replaced by ***, fit for messages and logs. */
export function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@/\s]*@/i, '$1***@');
}
