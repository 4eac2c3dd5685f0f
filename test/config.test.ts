import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, DEFAULT_AFFINITY_COOKIES, parseConfig, type Env } from '../src/config/config';
import { runServerProcess } from './helpers/process';

function problemsOf(env: Env): string[] {
  try {
    parseConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.map((p) => p.variable);
  }
  assert.fail('expected a ConfigError');
}

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = parseConfig({});
    assert.equal(c.port, 9090);
    assert.equal(c.host, undefined);
    assert.equal(c.target.href, 'http://127.0.0.1:8080/');
    assert.equal(c.mode, 'header');
    assert.equal(c.affinityHeader, 'actorid');
    assert.deepEqual(c.keyPaths, [['actorId']]);
    assert.equal(c.keyMaxLength, 256);
    assert.deepEqual([...(c.affinityCookies as Set<string>)], [...DEFAULT_AFFINITY_COOKIES]);
    assert.equal(c.affinityTtlMs, 86_400_000);
    assert.equal(c.storeOptions.memory.maxEntries, 100_000);
    assert.equal(c.botPersonIds.size, 0);
    assert.equal(c.maxBodyBytes, 262_144);
    assert.equal(c.maxBufferedBytes, 67_108_864);
    assert.equal(c.maxConnections, 10_000);
    assert.equal(c.upstreamTimeoutMs, 30_000);
    assert.equal(c.upstreamKeepAliveMs, 4000);
    assert.equal(c.readyRequiresStore, false);
    assert.equal(c.targetInsecure, false);
    assert.equal(c.changeOrigin, true);
    assert.equal(c.shutdownTimeoutMs, 10_000);
    assert.deepEqual(c.webhookSecrets, []);
    assert.equal(c.signatureScheme, 'webex');
    assert.equal(c.verifyAllMethods, false);
    assert.ok(Object.isFrozen(c));
  });

  it('reads every variable', () => {
    const c = parseConfig({
      PORT: '8000',
      HOST: '127.0.0.1',
      TARGET_URL: 'https://bots.internal/base',
      AFFINITY_MODE: 'Both',
      AFFINITY_HEADER: 'X-Key',
      AFFINITY_KEY: 'data.roomId, actorId',
      AFFINITY_COOKIES: '*',
      AFFINITY_TTL: '60',
      AFFINITY_MAX_ENTRIES: '5',
      BOT_PERSONID: 'bot1, bot2',
      MAX_BODY_BYTES: '2048',
      UPSTREAM_TIMEOUT_MS: '100',
      TARGET_INSECURE: 'true',
      CHANGE_ORIGIN: 'false',
      SHUTDOWN_TIMEOUT_MS: '0',
      WEBHOOK_SECRET: 'new-secret, old-secret',
      SIGNATURE_SCHEME: 'webex',
      VERIFY_ALL_METHODS: 'yes',
    });
    assert.equal(c.port, 8000);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.target.href, 'https://bots.internal/base');
    assert.equal(c.mode, 'both');
    assert.equal(c.affinityHeader, 'x-key');
    assert.deepEqual(c.keyPaths, [['data', 'roomId'], ['actorId']]);
    assert.equal(c.affinityCookies, '*');
    assert.equal(c.affinityTtlMs, 60_000);
    assert.equal(c.storeOptions.memory.maxEntries, 5);
    assert.deepEqual([...c.botPersonIds], ['bot1', 'bot2']);
    assert.equal(c.maxBodyBytes, 2048);
    assert.equal(c.upstreamTimeoutMs, 100);
    assert.equal(c.targetInsecure, true);
    assert.equal(c.changeOrigin, false);
    assert.equal(c.shutdownTimeoutMs, 0);
    assert.deepEqual(c.webhookSecrets, ['new-secret', 'old-secret']);
    assert.equal(c.verifyAllMethods, true);
  });

  it('treats a blank variable as unset', () => {
    assert.equal(parseConfig({ PORT: '', AFFINITY_KEY: ' ' }).port, 9090);
  });

  for (const [variable, value] of [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '80.5'],
    ['TARGET_URL', 'ftp://x'],
    ['TARGET_URL', 'not a url'],
    ['TARGET_URL', 'http://x/?q=1'],
    ['AFFINITY_MODE', 'sticky'],
    ['AFFINITY_HEADER', 'Bad Header'],
    ['AFFINITY_KEY', 'data..id'],
    ['AFFINITY_COOKIES', 'AWSALB,bad name'],
    ['AFFINITY_TTL', '-1'],
    ['AFFINITY_TTL', '0'],
    ['AFFINITY_MAX_ENTRIES', '0'],
    ['AFFINITY_KEY_MAX_LENGTH', 'lots'],
    ['MAX_BODY_BYTES', '1e6'],
    ['UPSTREAM_TIMEOUT_MS', '-5'],
    ['TARGET_INSECURE', 'maybe'],
    ['CHANGE_ORIGIN', 'nope'],
    ['SHUTDOWN_TIMEOUT_MS', 'soon'],
    ['HEADERS_TIMEOUT_MS', 'x'],
    ['REQUEST_TIMEOUT_MS', '0'],
    ['KEEP_ALIVE_TIMEOUT_MS', '-1'],
    ['SIGNATURE_SCHEME', 'github'],
    ['VERIFY_ALL_METHODS', 'sometimes'],
    ['ADMIN_PORT', 'admin'],
    ['ADMIN_PORT', '9090'],
    ['ACCESS_LOG', 'text'],
    ['STORE', 'mysql'],
    ['DATABASE_URL', 'mysql://db/bots'],
    ['POSTGRES_SCHEMA', 'Webhook-Affinity'],
    ['REDIS_URL', 'http://redis:6379'],
    ['STORE_TIMEOUT_MS', '0'],
    ['WORKERS', '0'],
    ['MAX_BUFFERED_BYTES', '0'],
    ['MAX_BUFFERED_BYTES', '1000'],
    ['MAX_CONNECTIONS', '0'],
    ['UPSTREAM_KEEP_ALIVE_MS', 'long'],
    ['READY_REQUIRES_STORE', 'perhaps'],
    ['DELIVERY', 'later'],
    ['PLATFORM', 'myspace'],
    ['DEDUPE', 'sometimes'],
    ['DEDUPE_TTL_S', '0'],
    ['SIGNATURE_TOLERANCE_S', '0'],
    ['DISCORD_PUBLIC_KEY', 'not-a-key'],
    ['SIGNATURE_SCHEME', 'discord'],
    ['QUEUE_ACK_STATUS', '302'],
    ['QUEUE_ACK_STATUS', '500'],
    ['QUEUE_CONCURRENCY', '0'],
    ['QUEUE_RETRY_MIN_MS', '0'],
    ['QUEUE_RETRY_MAX_MS', '100'],
    ['QUEUE_MAX_AGE_MS', 'forever'],
    ['QUEUE_MAX_BYTES', '0'],
    ['QUEUE_HOLD_MS', '-1'],
    ['QUEUE_LEASE_MS', '0'],
    ['DEAD_LETTER_MAX', '0'],
  ] as const) {
    it(`refuses ${variable}=${value}`, () => {
      assert.deepEqual(problemsOf({ [variable]: value }), [variable]);
    });
  }

  it('hash mode: requires UPSTREAMS, reads the health settings, warns about TARGET_URL', () => {
    assert.deepEqual(problemsOf({ AFFINITY_MODE: 'hash' }), ['UPSTREAMS']);
    const c = parseConfig({
      AFFINITY_MODE: 'hash',
      UPSTREAMS: 'http://10.0.0.2:8080, https://bot-b.internal/base',
      TARGET_URL: 'http://ignored:1',
      HEALTH_CHECK_PATH: '/healthz',
      HEALTH_CHECK_INTERVAL_MS: '1000',
      HEALTH_CHECK_TIMEOUT_MS: '500',
      HEALTH_CHECK_FALL: '3',
      HEALTH_CHECK_RISE: '4',
      RETRIES: '1',
    });
    assert.deepEqual(
      c.upstreams.map((u) => u.href),
      ['http://10.0.0.2:8080/', 'https://bot-b.internal/base'],
    );
    assert.equal(c.healthCheckPath, '/healthz');
    assert.equal(c.healthCheckIntervalMs, 1000);
    assert.equal(c.healthCheckTimeoutMs, 500);
    assert.equal(c.healthCheckFall, 3);
    assert.equal(c.healthCheckRise, 4);
    assert.equal(c.retries, 1);
    assert.equal(c.affinityHeader, 'actorid');
    assert.match(c.warnings.join('\n'), /TARGET_URL is not used in hash mode/);
  });

  it('hash mode: AFFINITY_HEADER set empty injects no header', () => {
    assert.equal(parseConfig({ AFFINITY_MODE: 'hash', UPSTREAMS: 'http://a:1', AFFINITY_HEADER: '' }).affinityHeader, undefined);
    assert.equal(parseConfig({ AFFINITY_HEADER: '' }).affinityHeader, 'actorid', 'other modes need a header: blank is the default');
  });

  it('warns when UPSTREAMS is set outside hash mode', () => {
    assert.match(parseConfig({ UPSTREAMS: 'http://a:1' }).warnings.join(), /UPSTREAMS is only used in hash mode/);
  });

  for (const [variable, value] of [
    ['UPSTREAMS', 'http://a:1,ftp://b'],
    ['UPSTREAMS', 'http://a:1,http://a:1/'],
    ['HEALTH_CHECK_PATH', 'healthz'],
    ['HEALTH_CHECK_INTERVAL_MS', '0'],
    ['HEALTH_CHECK_FALL', '0'],
    ['HEALTH_CHECK_RISE', 'x'],
    ['RETRIES', '-1'],
  ] as const) {
    it(`hash mode refuses ${variable}=${value}`, () => {
      assert.deepEqual(problemsOf({ AFFINITY_MODE: 'hash', UPSTREAMS: 'http://a:1', [variable]: value }), [variable]);
    });
  }

  it('reads the operations settings', () => {
    const d = parseConfig({});
    assert.equal(d.adminPort, 9091);
    assert.equal(d.adminHost, '127.0.0.1');
    assert.equal(d.adminToken, undefined);
    assert.equal(d.accessLog, 'off');
    assert.equal(parseConfig({ ADMIN_PORT: 'off' }).adminPort, undefined);
    assert.equal(parseConfig({ ADMIN_PORT: '0' }).adminPort, undefined);
    const c = parseConfig({ ADMIN_PORT: '9100', ADMIN_HOST: '0.0.0.0', ADMIN_TOKEN: 'tok', ACCESS_LOG: 'json' });
    assert.deepEqual([c.adminPort, c.adminHost, c.adminToken, c.accessLog], [9100, '0.0.0.0', 'tok', 'json']);
  });

  it('reads the store and worker settings', () => {
    const d = parseConfig({});
    assert.deepEqual(
      [d.store, d.storeOptions.redis.topology, d.storeOptions.redis.prefix, d.storeTimeoutMs, d.workers],
      ['memory', { kind: 'server', url: 'redis://127.0.0.1:6379' }, 'webhook-affinity:', 100, 1],
    );
    const c = parseConfig({ AFFINITY_MODE: 'cookie', STORE: 'redis', REDIS_URL: 'rediss://u:p@r:6380/2', REDIS_PREFIX: 'x:', STORE_TIMEOUT_MS: '50', WORKERS: '4' });
    assert.deepEqual([c.store, c.storeOptions.redis.topology, c.storeOptions.redis.prefix, c.storeTimeoutMs, c.workers], ['redis', { kind: 'server', url: 'rediss://u:p@r:6380/2' }, 'x:', 50, 4]);
    assert.match(parseConfig({ STORE: 'redis' }).warnings.join(), /STORE=redis is not contacted: it holds learned cookies \(cookie and both modes; AFFINITY_MODE is header\), the delivery mailbox/);
    assert.doesNotMatch(parseConfig({ STORE: 'redis', DELIVERY: 'queued' }).warnings.join(), /not contacted/, 'the mailbox uses it');
    assert.doesNotMatch(parseConfig({ STORE: 'redis', PLATFORM: 'slack', WEBHOOK_SECRET: 's' }).warnings.join(), /not contacted/, 'dedupe uses it');
  });

  it('reads the Redis topologies, and refuses two at once', () => {
    const sentinel = parseConfig({
      STORE: 'redis',
      DELIVERY: 'queued',
      REDIS_SENTINELS: '10.0.0.5:26379, sentinel-b, [::1]:26380',
      REDIS_SENTINEL_NAME: 'bots',
      REDIS_PASSWORD: 'pw',
      REDIS_TLS: 'true',
    });
    assert.deepEqual(sentinel.storeOptions.redis.topology, {
      kind: 'sentinel',
      name: 'bots',
      sentinels: [
        { host: '10.0.0.5', port: 26379 },
        { host: 'sentinel-b', port: 26379 },
        { host: '::1', port: 26380 },
      ],
    });
    assert.deepEqual([sentinel.storeOptions.redis.auth.password, sentinel.storeOptions.redis.auth.tls], ['pw', true]);
    const cluster = parseConfig({ STORE: 'redis', DELIVERY: 'queued', REDIS_CLUSTER_NODES: 'a:7000,b:7001', SPOOL_SHARDS: '32' });
    assert.deepEqual(cluster.storeOptions.redis.topology, {
      kind: 'cluster',
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
      ],
    });
    assert.equal(cluster.storeOptions.redis.shards, 32);
    // REDIS_URL at its default (as in .env.example) names no topology.
    assert.equal(parseConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: 'a:7000' }).storeOptions.redis.topology.kind, 'cluster');
    assert.throws(
      () => parseConfig({ REDIS_URL: 'redis://r:6379', REDIS_SENTINELS: 's:26379' }),
      /REDIS_SENTINELS="s:26379" is not valid: expected unset: REDIS_URL and REDIS_SENTINELS each name a Redis topology/,
    );
    assert.throws(() => parseConfig({ REDIS_SENTINELS: 's:26379', REDIS_CLUSTER_NODES: 'a:7000' }), /REDIS_SENTINELS and REDIS_CLUSTER_NODES/);
    assert.throws(() => parseConfig({ REDIS_CLUSTER_NODES: 'a:99999' }), /REDIS_CLUSTER_NODES="a:99999"/);
  });

  it('reads the mailbox store settings: spool timeout, replicated acks, what happens while the store is down', () => {
    const d = parseConfig({});
    assert.deepEqual([d.spoolTimeoutMs, d.queueAckReplicas, d.queueWhenStoreDown], [1000, 0, 'auto']);
    const c = parseConfig({ STORE: 'redis', DELIVERY: 'queued', SPOOL_TIMEOUT_MS: '250', QUEUE_ACK_REPLICAS: '1', QUEUE_WHEN_STORE_DOWN: 'refuse' });
    assert.deepEqual([c.spoolTimeoutMs, c.queueAckReplicas, c.queueWhenStoreDown], [250, 1, 'refuse']);
    assert.throws(() => parseConfig({ DELIVERY: 'queued', QUEUE_ACK_REPLICAS: '1' }), /QUEUE_ACK_REPLICAS="1" is not valid: expected 0 unless DELIVERY=queued and STORE=redis/);
    assert.throws(() => parseConfig({ QUEUE_WHEN_STORE_DOWN: 'sometimes' }), /one of direct, refuse, auto/);
  });

  it('reads the delivery mailbox settings, small values included', () => {
    const d = parseConfig({});
    assert.deepEqual(
      [d.delivery, d.queueAckStatus, d.queueConcurrency, d.queueRetryMinMs, d.queueRetryMaxMs, d.queueMaxAgeMs, d.queueMaxBytes, d.queueHoldMs, d.queueLeaseMs, d.deadLetterMax],
      ['direct', 200, 64, 250, 30_000, 3_600_000, 268_435_456, 30_000, 10_000, 10_000],
    );
    const c = parseConfig({
      DELIVERY: 'queued',
      QUEUE_ACK_STATUS: '202',
      QUEUE_CONCURRENCY: '2',
      QUEUE_RETRY_MIN_MS: '10',
      QUEUE_RETRY_MAX_MS: '20',
      QUEUE_MAX_AGE_MS: '50',
      QUEUE_MAX_BYTES: '20000',
      QUEUE_HOLD_MS: '30',
      QUEUE_LEASE_MS: '40',
      DEAD_LETTER_MAX: '3',
    });
    assert.deepEqual(
      [c.delivery, c.queueAckStatus, c.queueConcurrency, c.queueRetryMinMs, c.queueRetryMaxMs, c.queueMaxAgeMs, c.queueMaxBytes, c.queueHoldMs, c.queueLeaseMs, c.deadLetterMax],
      ['queued', 202, 2, 10, 20, 50, 20_000, 30, 40, 3],
    );
  });

  it('refuses DELIVERY=queued with several workers each keeping its own mailboxes; a shared STORE is fine', () => {
    assert.deepEqual(problemsOf({ DELIVERY: 'queued', WORKERS: '2' }), ['WORKERS']);
    assert.equal(parseConfig({ DELIVERY: 'queued', WORKERS: '2', STORE: 'redis' }).workers, 2);
  });

  it('reads the signature keys; a scheme named without its keys is refused, one left to its default is not', () => {
    const key = 'cbdc6209957fcf75dcb99e78b4147a67e387827cb19d95626d20aa1332a7a5bc';
    const c = parseConfig({ SIGNATURE_SCHEME: 'discord', DISCORD_PUBLIC_KEY: key.toUpperCase(), SIGNATURE_TOLERANCE_S: '60' });
    assert.deepEqual([c.signatureScheme, c.signaturePublicKey, c.signatureToleranceMs], ['discord', key, 60_000]);
    assert.equal(parseConfig({}).signatureToleranceMs, 300_000);
    assert.deepEqual(problemsOf({ SIGNATURE_SCHEME: 'slack' }), ['SIGNATURE_SCHEME']);
    assert.equal(parseConfig({ SIGNATURE_SCHEME: 'slack', WEBHOOK_SECRET: 's' }).signatureScheme, 'slack');
    assert.equal(parseConfig({}).webhookSecrets.length, 0, 'the default scheme without a secret: no checking, as before');
  });

  it('never echoes a Redis password in an error', () => {
    try {
      parseConfig({ REDIS_URL: 'http://user:hunter2@redis:6379' });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.doesNotMatch(err.message, /hunter2/);
    }
  });

  it('reads the limits added for hostile traffic', () => {
    const c = parseConfig({ MAX_BODY_BYTES: '1000', MAX_BUFFERED_BYTES: '5000', MAX_CONNECTIONS: '7', UPSTREAM_KEEP_ALIVE_MS: '900', READY_REQUIRES_STORE: 'true' });
    assert.deepEqual([c.maxBodyBytes, c.maxBufferedBytes, c.maxConnections, c.upstreamKeepAliveMs, c.readyRequiresStore], [1000, 5000, 7, 900, true]);
  });

  // Each of these would let a webhook body set the upstream request's framing, its connection
  // handling or its routing.
  for (const name of [
    'Content-Length',
    'transfer-encoding',
    'Connection',
    'Keep-Alive',
    'Upgrade',
    'TE',
    'Trailer',
    'Host',
    'Proxy-Authorization',
    'proxy-connection',
    'Actor:Id',
    'Actor Id',
    'Ac\u00e9',
  ]) {
    it(`refuses AFFINITY_HEADER=${name}`, () => {
      assert.deepEqual(problemsOf({ AFFINITY_HEADER: name }), ['AFFINITY_HEADER']);
    });
  }

  for (const value of [',', ' , ', ',,,', '  ']) {
    it(`refuses WEBHOOK_SECRET=${JSON.stringify(value)}: no usable secret, never checking silently off`, () => {
      assert.deepEqual(problemsOf({ WEBHOOK_SECRET: value }), ['WEBHOOK_SECRET']);
      assert.throws(() => parseConfig({ WEBHOOK_SECRET: value }), /WEBHOOK_SECRET=.*no usable secret was given/);
    });
  }

  it('uses the non-blank WEBHOOK_SECRET entries and warns about the blank ones; empty turns checking off', () => {
    const c = parseConfig({ WEBHOOK_SECRET: 'one, ,two,' });
    assert.deepEqual(c.webhookSecrets, ['one', 'two']);
    assert.ok(
      c.warnings.some((w) => /WEBHOOK_SECRET has 2 blank entries/.test(w)),
      c.warnings.join('\n'),
    );
    assert.deepEqual(parseConfig({ WEBHOOK_SECRET: '' }).webhookSecrets, []);
  });

  it('a blank WEBHOOK_SECRET list makes the process exit 2 with one line saying so', async () => {
    const { code, stdout, stderr } = await runServerProcess({ WEBHOOK_SECRET: ' , ' });
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /WEBHOOK_SECRET=" , " is not valid: expected at least one non-blank secret \(no usable secret was given/);
  });

  it('refuses a headers timeout longer than the request timeout', () => {
    assert.deepEqual(problemsOf({ HEADERS_TIMEOUT_MS: '5000', REQUEST_TIMEOUT_MS: '1000' }), ['HEADERS_TIMEOUT_MS']);
  });

  it('reports every problem at once', () => {
    assert.deepEqual(problemsOf({ PORT: 'abc', AFFINITY_MODE: 'x', TARGET_URL: 'ftp://x', AFFINITY_TTL: '-1' }), ['PORT', 'TARGET_URL', 'AFFINITY_MODE', 'AFFINITY_TTL']);
  });

  it('makes the process print one line per problem and exit 2 before listening', async () => {
    const { code, stdout, stderr } = await runServerProcess({ PORT: 'abc', AFFINITY_MODE: 'sticky' });
    assert.equal(code, 2);
    assert.equal(stdout, '');
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /PORT="abc" is not valid: expected a whole number from 0 to 65535/);
    assert.match(lines[1]!, /AFFINITY_MODE="sticky" is not valid: expected one of header, cookie, both, hash/);
  });
});
