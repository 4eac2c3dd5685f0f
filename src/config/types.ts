/**
 * The Config type: what parseConfig (config.ts) makes of the environment. A module of types
 * alone, importing no reader, so every layer can name it without an import circle.
 */
import type { AffinityMode } from '../core/mode-names';
import type { PlatformName } from '../platforms/platforms';
import type { SignatureSchemeName } from '../signature/schemes';
import type { StoreName, StoreOptions } from '../store/backends';
import type { ForwardEngine } from '../upstream/engines';

export interface Config {
  /** Listening port (PORT, default 9090; 0 picks a free one). */
  readonly port: number;
  /** Listening address (HOST, default: all interfaces). */
  readonly host: string | undefined;
  /** Where every request goes (TARGET_URL); its path is a prefix joined to the request path. */
  readonly target: URL;
  /** The platform preset (PLATFORM, default webex): AFFINITY_KEY's and SIGNATURE_SCHEME's defaults. */
  readonly platform: PlatformName;
  /** How affinity is given (AFFINITY_MODE, default header). */
  readonly mode: AffinityMode;
  /**
   * Header injected in header, both and hash modes (AFFINITY_HEADER, default Actorid),
   * lower-cased; undefined in hash mode when AFFINITY_HEADER is set empty.
   */
  readonly affinityHeader: string | undefined;
  /** JSON paths tried in order for the key (AFFINITY_KEY, default the platform's: actorId for webex), split on dots. */
  readonly keyPaths: readonly (readonly string[])[];
  /** Longest key accepted, in characters (AFFINITY_KEY_MAX_LENGTH, default 256). */
  readonly keyMaxLength: number;
  /** Cookie names learned and replayed (AFFINITY_COOKIES); `'*'` means every cookie. */
  readonly affinityCookies: ReadonlySet<string> | '*';
  /** Longest a learned cookie is kept, ms (AFFINITY_TTL seconds, default 86400 s). */
  readonly affinityTtlMs: number;
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
  /** What sends upstream requests (FORWARD_ENGINE, default undici; node, also named http-proxy, is Node's http client). */
  readonly forwardEngine: ForwardEngine;
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
  /** Copies of a delivery (same delivery id) are answered without reaching the bot (DEDUPE: auto, on for platforms that re-send). */
  readonly dedupe: boolean;
  /** How long a delivery id is remembered, ms (DEDUPE_TTL_S, default 5400 s). */
  readonly dedupeTtlMs: number;
  /** How signatures are made (SIGNATURE_SCHEME, default webex). */
  readonly signatureScheme: SignatureSchemeName;
  /** False with SIGNATURE_SCHEME=none: deliveries are forwarded unverified, on purpose. */
  readonly verifySignatures: boolean;
  /** The discord scheme's Ed25519 public key, hex (DISCORD_PUBLIC_KEY). */
  readonly signaturePublicKey: string | undefined;
  /** TEAMS_APP_ID: the audience of Teams tokens; unset leaves Teams deliveries unverified. */
  readonly teamsAppId: string | undefined;
  /** TEAMS_OPENID_URL: where Teams' signing keys are found. */
  readonly teamsOpenIdUrl: string;
  /** Slack and Zoom: largest distance between the signed timestamp and now, ms (SIGNATURE_TOLERANCE_S, default 300 s). */
  readonly signatureToleranceMs: number;
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
  readonly store: StoreName;
  /**
   * Every backend's own variables, as read (memory: AFFINITY_MAX_ENTRIES; redis: REDIS_URL,
   * REDIS_PREFIX); `store` says which is used.
   */
  readonly storeOptions: StoreOptions;
  /** A store call slower than this is a miss or a dropped write, ms (STORE_TIMEOUT_MS, default 100). */
  readonly storeTimeoutMs: number;
  /** Readiness fails while the networked store is unreachable (READY_REQUIRES_STORE, default false). */
  readonly readyRequiresStore: boolean;
  /** `direct` forwards each webhook as it comes; `queued` stores it and answers at once (DELIVERY, default direct). */
  readonly delivery: 'direct' | 'queued';
  /** Status answered once a webhook is stored (QUEUE_ACK_STATUS, default 200; 2xx). */
  readonly queueAckStatus: number;
  /** Deliveries in flight at once, across keys; one per key at most (QUEUE_CONCURRENCY, default 64). */
  readonly queueConcurrency: number;
  /** First wait before a retry, ms; later ones up to twice the previous (QUEUE_RETRY_MIN_MS, default 250). */
  readonly queueRetryMinMs: number;
  /** Longest wait between attempts, ms (QUEUE_RETRY_MAX_MS, default 30000). */
  readonly queueRetryMaxMs: number;
  /** A webhook not delivered this long after it arrived is a dead letter, ms (QUEUE_MAX_AGE_MS, default 3600000). */
  readonly queueMaxAgeMs: number;
  /** Bytes of stored webhooks before new ones are forwarded directly (QUEUE_MAX_BYTES, default 256 MiB). */
  readonly queueMaxBytes: number;
  /** Hash mode: how long a key waits for its own instance before it moves, ms (QUEUE_HOLD_MS, default 30000). */
  readonly queueHoldMs: number;
  /** Shared spool: how long a replica owns a key's mailbox without renewing it, ms (QUEUE_LEASE_MS, default 10000). */
  readonly queueLeaseMs: number;
  /** A delivery-spool call slower than this fails, ms: the webhook then takes QUEUE_WHEN_STORE_DOWN's path (SPOOL_TIMEOUT_MS, default 1000). */
  readonly spoolTimeoutMs: number;
  /** Replicas that must hold a stored webhook before it is acknowledged (QUEUE_ACK_REPLICAS, default 0: the primary's word). */
  readonly queueAckReplicas: number;
  /**
   * What a webhook gets while the mailbox's store cannot take it (QUEUE_WHEN_STORE_DOWN, default
   * auto): `direct` forwards it, `refuse` answers 503 + Retry-After, `auto` refuses for platforms
   * that send again and forwards for the others.
   */
  readonly queueWhenStoreDown: 'direct' | 'refuse' | 'auto';
  /** Dead letters kept, the oldest dropped first (DEAD_LETTER_MAX, default 10000). */
  readonly deadLetterMax: number;
  /**
   * A mailbox delivery of a timestamped shared-secret scheme (Slack, Zoom) carries a fresh
   * timestamp and signature at each attempt (QUEUE_RESIGN, default auto; off: as received).
   */
  readonly queueResign: 'auto' | 'off';
  /** Standard Webhooks headers on every delivery and forward, signed with this `whsec_` secret (DELIVERY_SIGNING_SECRET). */
  readonly deliverySigningSecret: string | undefined;
  /** PLATFORM=telegram, queued: the bot token a webhook reply is carried out with (TELEGRAM_BOT_TOKEN). */
  readonly telegramBotToken: string | undefined;
  /** The Bot API's address (TELEGRAM_API_URL, default https://api.telegram.org). */
  readonly telegramApiUrl: URL;
  /** The address platforms should call, which the keeper registers (PUBLIC_URL); undefined: no keeper. */
  readonly publicUrl: URL | undefined;
  /** How often the keeper checks each platform's registration, ms (KEEPER_INTERVAL_S, default 60). */
  readonly keeperIntervalMs: number;
  /** Webex: the bot's token the keeper registers with (WEBEX_BOT_TOKEN). */
  readonly webexBotToken: string | undefined;
  /** Webex: the resource:event webhooks kept (WEBEX_WEBHOOKS, default messages:created,attachmentActions:created). */
  readonly webexWebhooks: readonly { readonly resource: string; readonly event: string }[];
  /** Webex's API (WEBEX_API_URL, default https://webexapis.com/v1). */
  readonly webexApiUrl: URL;
  /** GitHub: a token that may read the hook's deliveries and ask for redeliveries (GITHUB_TOKEN). */
  readonly githubToken: string | undefined;
  /** GitHub: the hook whose failed deliveries are asked for again (GITHUB_HOOK, or a GitHub App's with GITHUB_APP_ID). */
  readonly githubHook: GitHubHook | undefined;
  /** GitHub App: its private key, PEM (GITHUB_APP_PRIVATE_KEY; \n escapes allowed): signs the App's JWTs. */
  readonly githubAppPrivateKey: string | undefined;
  /** GitHub's API (GITHUB_API_URL, default https://api.github.com; GitHub Enterprise: https://HOST/api/v3). */
  readonly githubApiUrl: URL;
  /** Telegram: the update types the webhook is registered for (TELEGRAM_ALLOWED_UPDATES); empty: left as they are. */
  readonly telegramAllowedUpdates: readonly string[];
  /** Telegram: the webhook's max_connections (TELEGRAM_MAX_CONNECTIONS, default 40). */
  readonly telegramMaxConnections: number;
  /** Worker processes sharing the port (WORKERS, default 1). */
  readonly workers: number;
  /** Admin listener port (ADMIN_PORT, default 9091); undefined when `0` or `off`. */
  readonly adminPort: number | undefined;
  /** Admin listener address (ADMIN_HOST, default 127.0.0.1). */
  readonly adminHost: string;
  /** Names the admin listener answers to besides IP addresses, localhost and ADMIN_HOST (ADMIN_HOSTS): against DNS rebinding. */
  readonly adminHosts: readonly string[];
  /** Bearer token for /affinity (ADMIN_TOKEN); undefined: /affinity is not served. */
  readonly adminToken: string | undefined;
  /** One JSON line per request on stdout (ACCESS_LOG=json; default off). */
  readonly accessLog: 'off' | 'json';
  /** Things worth telling at start-up that are not errors. */
  readonly warnings: readonly string[];
}

/**
 * A GitHub hook: a repository's (GITHUB_HOOK=owner/repo/<id>) or an organisation's (org/<id>),
 * read with GITHUB_TOKEN; or a GitHub App's own webhook (GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY).
 */
export type GitHubHook =
  | { readonly kind: 'repo'; readonly owner: string; readonly repo: string; readonly id: string }
  | { readonly kind: 'org'; readonly org: string; readonly id: string }
  | { readonly kind: 'app'; readonly appId: string };
