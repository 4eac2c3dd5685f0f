/**
 * The keeper (src/keeper/) against stand-ins for Webex's, Telegram's and GitHub's APIs on real
 * ports (test/helpers/platform-apis.ts), through a running proxy: what it creates, re-activates,
 * sets again and asks for again; what it leaves alone; what it shows on /metrics and
 * /status.json; and that one replica of two acts, the other taking over when it is gone.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { jwtVerify } from 'jose';
import http from 'node:http';
import { parseConfig } from '../src/config/config';
import { startService, type Service } from '../src/service';
import { Bot } from './helpers/bot';
import { freePort } from './helpers/net';
import { fixture, PlatformApis, type GitHubDelivery, type WebexHook } from './helpers/platform-apis';
import { REDIS_URL, redisSkipReason, testPrefix } from './helpers/redis';
import { waitFor } from './helpers/wait';

const PUBLIC_URL = 'https://bots.example.com/webhook';
const SECRET = 'keeper-test-secret';

let apis: PlatformApis;
let bot: Bot;
const services: Service[] = [];

before(async () => {
  bot = await new Bot().start();
});
after(async () => {
  await bot.stop();
});
afterEach(async () => {
  for (const s of services.splice(0)) await s.close();
  await apis?.stop();
});

async function start(env: Record<string, string>, clock?: () => number): Promise<Service> {
  const config = parseConfig({ PORT: '0', HOST: '127.0.0.1', TARGET_URL: `http://127.0.0.1:${bot.port}`, ADMIN_PORT: String(await freePort()), PUBLIC_URL, WEBHOOK_SECRET: SECRET, ...env });
  const service = await startService(config, { admin: true, keeperByHand: true, ...(clock === undefined ? {} : { deps: { clock } }) });
  services.push(service);
  return service;
}

function adminGet(service: Service, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: service.adminAddress!.port, path }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      })
      .on('error', reject);
  });
}

describe('keeper: Webex', () => {
  it('creates the missing webhook with our URL and secret, re-activates the inactive one, leaves another address alone', async () => {
    apis = await new PlatformApis().start();
    // The API reference's example: one webhook calling elsewhere (messages), one of ours turned off (card actions).
    const listed = fixture<{ items: WebexHook[] }>('webex-list-webhooks.json').items;
    apis.webhooks = listed.map((h) => ({ ...h }));
    const elsewhere = apis.webhooks[0]!;
    const service = await start({ WEBEX_BOT_TOKEN: 'webex-token', WEBEX_API_URL: `${apis.url}/v1` });
    await service.keeper!.round();

    const created = apis.calls.filter((c) => c.method === 'POST' && c.path === '/v1/webhooks');
    assert.equal(created.length, 1, 'one webhook created');
    assert.deepEqual(created[0]!.body, { name: 'webhook-affinity messages:created', targetUrl: PUBLIC_URL, resource: 'messages', event: 'created', secret: SECRET });
    assert.equal(created[0]!.headers.authorization, 'Bearer webex-token');
    const reactivated = apis.calls.filter((c) => c.method === 'PUT');
    assert.equal(reactivated.length, 1, 'one webhook re-activated');
    assert.match(reactivated[0]!.path, /^\/v1\/webhooks\/Y2lzY29zcGFyazovL3VzL1dFQkhPT0svNzJm/);
    assert.equal(apis.webhooks[1]!.status, 'active');
    assert.deepEqual(apis.webhooks[0], listed[0], 'the webhook calling another address is untouched');
    assert.ok(!apis.calls.some((c) => c.path.includes(encodeURIComponent(elsewhere.id)) || c.path.includes(elsewhere.id)));

    const status = JSON.parse(await adminGet(service, '/status.json')) as { keeper: { platform: string; state: string; detail: string }[] };
    assert.deepEqual(
      status.keeper.map((k) => [k.platform, k.state]),
      [['webex', 'fixed']],
    );
    assert.match(await adminGet(service, '/metrics'), /webhook_affinity_keeper_repairs_total\{platform="webex"\} 2/);

    // As it should be now: the next look changes nothing.
    const before = apis.calls.length;
    await service.keeper!.round();
    assert.deepEqual(
      apis.calls.slice(before).map((c) => c.method),
      ['GET'],
    );
  });

  it('a 429 is waited out for its Retry-After, then the call is made again', async () => {
    apis = await new PlatformApis().start();
    apis.webhooks = [];
    apis.rateLimit = { times: 1, retryAfterS: 1 };
    const service = await start({ WEBEX_BOT_TOKEN: 'webex-token', WEBEX_API_URL: `${apis.url}/v1`, WEBEX_WEBHOOKS: 'messages:created' });
    await service.keeper!.round();
    const [limited, again] = apis.calls;
    assert.equal(limited?.method, 'GET');
    assert.equal(again?.method, 'GET', 'the same call, made again');
    assert.ok(again.at - limited.at >= 950, `made again ${Math.round(again.at - limited.at)} ms later, after the 1 s asked for`);
    assert.equal(apis.webhooks.length, 1, 'and the webhook created after it');
  });
});

describe('keeper: Telegram', () => {
  it('sets the webhook again when its URL differs, keeping pending updates; pending count and last error on /metrics and the page', async () => {
    apis = await new PlatformApis().start();
    const info = fixture<{ result: Record<string, unknown> }>('telegram-get-webhook-info.json').result;
    apis.telegram = { ...info, last_error_date: Math.floor(Date.now() / 1000) - 30 };
    const service = await start({ TELEGRAM_BOT_TOKEN: '123456:telegram-token', TELEGRAM_API_URL: apis.url, PLATFORM: 'telegram' });
    await service.keeper!.round();

    const set = apis.calls.filter((c) => c.path === '/bot123456:telegram-token/setWebhook');
    assert.equal(set.length, 1);
    const body = set[0]!.body as Record<string, unknown>;
    assert.equal(body.url, PUBLIC_URL);
    assert.equal(body.secret_token, SECRET);
    assert.notEqual(body.drop_pending_updates, true, 'pending updates are kept');
    const metrics = await adminGet(service, '/metrics');
    assert.match(metrics, /webhook_affinity_telegram_pending_updates 7/);
    assert.match(metrics, /webhook_affinity_telegram_last_error_info\{message="Wrong response from the webhook: 502 Bad Gateway"\} 1/);
    const status = JSON.parse(await adminGet(service, '/status.json')) as { keeper: { platform: string; state: string; detail: string }[] };
    assert.equal(status.keeper[0]?.state, 'fixed');
    assert.match(status.keeper[0]!.detail, /7 update\(s\) pending; last error \d+ s ago: Wrong response from the webhook: 502 Bad Gateway/);

    // Once set, and seen right: not set again.
    await service.keeper!.round();
    assert.equal(apis.calls.filter((c) => c.path.endsWith('/setWebhook')).length, 1);
  });
});

describe('keeper: GitHub', () => {
  it('asks once for the failure of the last 3 days not delivered since; none the next time; the redelivery reaches the bot once', async () => {
    apis = await new PlatformApis().start();
    const [okTemplate] = fixture<GitHubDelivery[]>('github-hook-deliveries.json');
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const failed = (id: number, guid: string, h: number, code: number): GitHubDelivery => ({
      ...okTemplate!,
      id,
      guid,
      delivered_at: hoursAgo(h),
      status: code === 0 ? 'timed out' : `Invalid HTTP Response: ${code}`,
      status_code: code,
    });
    const ok = (id: number, guid: string, h: number, redelivery = false): GitHubDelivery => ({ ...okTemplate!, id, guid, delivered_at: hoursAgo(h), redelivery });
    // Newest first: a failure recovered by a later redelivery, a failure to ask for, a success, a failure too old.
    apis.deliveries = [ok(6, 'guid-recovered', 1, true), failed(5, 'guid-lost', 2, 0), ok(4, 'guid-fine', 3), failed(3, 'guid-recovered', 4, 502), failed(2, 'guid-too-old', 24 * 4, 502)];
    const service = await start({ PLATFORM: 'github', GITHUB_TOKEN: 'github-token', GITHUB_HOOK: 'octo-org/octo-repo/42', GITHUB_API_URL: apis.url });
    // What GitHub sends when asked: the same delivery, with the same X-GitHub-Delivery.
    const body = Buffer.from(JSON.stringify({ action: 'opened', sender: { id: 77, login: 'octocat' } }));
    const sendAsGitHub = () =>
      new Promise<number>((resolve, reject) => {
        const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
        const req = http.request(
          {
            host: '127.0.0.1',
            port: service.address.port,
            method: 'POST',
            path: '/webhook',
            headers: { 'content-type': 'application/json', 'x-github-event': 'issues', 'x-github-delivery': 'guid-lost', 'x-hub-signature-256': signature },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    // The bot got it the first time after all (GitHub saw a timeout): the redelivery is a copy.
    const delivered = bot.deliveries.length;
    assert.equal(await sendAsGitHub(), 200);
    apis.onRedeliver = async () => {
      await sendAsGitHub();
    };
    await service.keeper!.round();

    const asked = apis.calls.filter((c) => c.method === 'POST');
    assert.deepEqual(
      asked.map((c) => c.path),
      ['/repos/octo-org/octo-repo/hooks/42/deliveries/5/attempts'],
      'exactly one redelivery asked: the failure not delivered since, within 3 days',
    );
    assert.equal(asked[0]!.headers.authorization, 'Bearer github-token');
    assert.equal(bot.deliveries.length - delivered, 1, 'the bot got guid-lost once: the redelivery was dropped as a copy');
    assert.ok(
      apis.calls.some((c) => c.path.includes('cursor=2')),
      'the deliveries were paged through',
    );

    await service.keeper!.round();
    assert.equal(apis.calls.filter((c) => c.method === 'POST').length, 1, 'not asked again');
    const metrics = await adminGet(service, '/metrics');
    assert.match(metrics, /webhook_affinity_github_redeliveries_total 1/);
    assert.match(metrics, /webhook_affinity_github_unrecovered_deliveries 1/);
  });
});

describe('keeper: GitHub, asking fails', () => {
  it('a redelivery GitHub refused is asked for again at the next look, not remembered as asked', async () => {
    apis = await new PlatformApis().start();
    const [template] = fixture<GitHubDelivery[]>('github-hook-deliveries.json');
    apis.deliveries = [{ ...template!, id: 11, guid: 'guid-retry', delivered_at: new Date(Date.now() - 60_000).toISOString(), status: 'timed out', status_code: 0 }];
    apis.attemptsFailing = 1;
    let now = Date.now();
    const service = await start({ GITHUB_TOKEN: 'github-token', GITHUB_HOOK: 'octo-org/octo-repo/42', GITHUB_API_URL: apis.url }, () => now);
    await service.keeper!.round();
    assert.equal(service.keeper!.reports()[0]?.state, 'failing');
    now += 60_000;
    await service.keeper!.round();
    assert.equal(service.keeper!.reports()[0]?.state, 'fixed');
    now += 60_000;
    await service.keeper!.round();
    const asks = apis.calls.filter((c) => c.method === 'POST').length;
    assert.equal(asks, 2, 'refused once, asked again once, then remembered');
  });
});

describe('keeper: a GitHub App', () => {
  it("reads the App's own webhook with a JWT signed by its private key, and asks for the failed delivery", async () => {
    apis = await new PlatformApis().start();
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const verifyKey = createPublicKey(publicKey);
    // GitHub's check: an RS256 JWT issued by the App's id, no longer than 10 minutes.
    apis.authorize = async (authorization) => {
      try {
        const { payload } = await jwtVerify(String(authorization).replace(/^Bearer /, ''), verifyKey, { issuer: '424242', algorithms: ['RS256'] });
        return payload.exp !== undefined && payload.iat !== undefined && payload.exp - payload.iat <= 600;
      } catch {
        return false;
      }
    };
    const [template] = fixture<GitHubDelivery[]>('github-hook-deliveries.json');
    apis.deliveries = [{ ...template!, id: 9, guid: 'guid-app', delivered_at: new Date(Date.now() - 60_000).toISOString(), status: 'Invalid HTTP Response: 503', status_code: 503 }];
    // As an environment variable holds it: one line, \n escapes.
    const service = await start({ GITHUB_APP_ID: '424242', GITHUB_APP_PRIVATE_KEY: privateKey.replaceAll('\n', '\\n'), GITHUB_API_URL: apis.url });
    await service.keeper!.round();
    assert.deepEqual(
      apis.calls.map((c) => `${c.method} ${c.path.split('?')[0]}`),
      ['GET /app/hook/deliveries', 'POST /app/hook/deliveries/9/attempts'],
    );
    assert.equal(service.keeper!.reports()[0]?.state, 'fixed');
  });

  it('a key that is not one is a configuration problem, named', () => {
    assert.throws(
      () => parseConfig({ TARGET_URL: 'http://127.0.0.1:1', GITHUB_APP_ID: '424242', GITHUB_APP_PRIVATE_KEY: '-----BEGIN RSA PRIVATE KEY-----\\nnot a key\\n-----END RSA PRIVATE KEY-----' }),
      /GITHUB_APP_PRIVATE_KEY/,
    );
  });
});

describe('keeper: one replica of the fleet acts', { skip: redisSkipReason() }, () => {
  it('two replicas on Redis: only one calls the API; closed, the other takes over within two intervals', async () => {
    apis = await new PlatformApis().start();
    apis.webhooks = [];
    let now = Date.now();
    const clock = () => now;
    const env = { STORE: 'redis', REDIS_URL, REDIS_PREFIX: testPrefix(), WEBEX_BOT_TOKEN: 'webex-token', WEBEX_API_URL: `${apis.url}/v1`, WEBEX_WEBHOOKS: 'messages:created', KEEPER_INTERVAL_S: '60' };
    const first = await start(env, clock);
    const second = await start(env, clock);
    for (let i = 0; i < 3; i++) {
      await first.keeper!.round();
      await second.keeper!.round();
      now += 60_000;
    }
    assert.equal(first.keeper!.acting !== second.keeper!.acting, true, 'one acts, one stands by');
    const acting = first.keeper!.acting ? first : second;
    const standing = acting === first ? second : first;
    assert.equal(apis.calls.filter((c) => c.method === 'GET').length, 3, 'one look per interval, by one replica');
    await acting.close();
    const gets = apis.calls.length;
    await standing.keeper!.round();
    now += 60_000;
    await standing.keeper!.round();
    assert.equal(standing.keeper!.acting, true, 'the other took over');
    assert.ok(apis.calls.length > gets, 'and looked');
  });
});

/**
 * A Webex keeper on the stand-in, run for `rounds` rounds with its clock a minute (its interval)
 * on after each: the rounds in which it called the API.
 */
async function roundsThatCalled(rounds: number): Promise<{ service: Service; looks: number[] }> {
  let now = Date.now();
  const service = await start({ WEBEX_BOT_TOKEN: 'webex-token', WEBEX_API_URL: `${apis.url}/v1`, WEBEX_WEBHOOKS: 'messages:created' }, () => now);
  const looks: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const before = apis.calls.length;
    await service.keeper!.round();
    if (apis.calls.length > before) looks.push(round);
    now += 60_000;
  }
  return { service, looks };
}

describe('keeper: when an API fails', () => {
  it('a failing API is a failing report and a metric, looked at 1, 2, 4 intervals apart, and said again when it answers', async () => {
    apis = await new PlatformApis().start();
    apis.webhooks = [];
    apis.failing = { times: 3, status: 401 };
    const { service, looks } = await roundsThatCalled(8);
    // Failing at 0, 1 and 3 (1, then 2 intervals apart); at 7 (4 apart) it answers: created.
    assert.deepEqual(looks, [0, 1, 3, 7]);
    assert.equal(apis.webhooks.length, 1, 'created once the API answered');
    const metrics = await adminGet(service, '/metrics');
    assert.match(metrics, /webhook_affinity_keeper_failures_total\{platform="webex"\} 3/);
    assert.match(metrics, /webhook_affinity_keeper_registered\{platform="webex"\} 1/);
  });

  it('a 429 asking for longer than a call waits: not called again before that wait is over', async () => {
    apis = await new PlatformApis().start();
    apis.webhooks = [];
    apis.rateLimit = { times: 1, retryAfterS: 300 };
    const { looks } = await roundsThatCalled(6);
    assert.deepEqual(looks, [0, 5], 'asked at 0 to wait 300 s: the next look at 5 minutes, not 1');
    assert.equal(apis.webhooks.length, 1);
  });

  it('an API that does not answer, a Telegram webhook with other allowed updates, an organisation hook: each handled', async () => {
    apis = await new PlatformApis().start();
    apis.telegram = { url: PUBLIC_URL, max_connections: 40, allowed_updates: ['message'], pending_update_count: 0 };
    apis.deliveries = [];
    const closed = await freePort();
    const service = await start({
      WEBEX_BOT_TOKEN: 'webex-token',
      WEBEX_API_URL: `http://127.0.0.1:${closed}/v1`,
      TELEGRAM_BOT_TOKEN: '1:t',
      TELEGRAM_API_URL: apis.url,
      TELEGRAM_ALLOWED_UPDATES: 'message,callback_query',
      GITHUB_TOKEN: 'github-token',
      GITHUB_HOOK: 'octo-org/7',
      GITHUB_API_URL: apis.url,
    });
    await service.keeper!.round();
    const reports = new Map(service.keeper!.reports().map((r) => [r.platform, r]));
    assert.equal(reports.get('webex')?.state, 'failing');
    assert.match(reports.get('webex')!.detail, /^GET \/webhooks: no answer/);
    assert.doesNotMatch(reports.get('webex')!.detail, /webex-token/, 'no token in what is said');
    assert.equal(reports.get('telegram')?.state, 'fixed');
    assert.match(reports.get('telegram')!.detail, /set again/);
    const set = apis.calls.find((c) => c.path.endsWith('/setWebhook'))!.body as { allowed_updates: string[] };
    assert.deepEqual(set.allowed_updates, ['message', 'callback_query']);
    assert.equal(reports.get('github')?.state, 'ok');
    assert.ok(apis.calls.some((c) => c.path.startsWith('/orgs/octo-org/hooks/7/deliveries')));
  });

  it('runs by itself: the first look soon after start', async () => {
    apis = await new PlatformApis().start();
    apis.webhooks = [];
    const config = parseConfig({ PORT: '0', HOST: '127.0.0.1', TARGET_URL: `http://127.0.0.1:${bot.port}`, ADMIN_PORT: 'off', PUBLIC_URL, WEBEX_BOT_TOKEN: 't', WEBEX_API_URL: `${apis.url}/v1` });
    const service = await startService(config, { admin: false });
    services.push(service);
    await waitFor(() => apis.webhooks.length === 2 || undefined, 'the webhooks created by the first look');
  });
});
