/**
 * What an operator hears without DEBUG: the real entry point's stderr, one line per event, for a
 * bot instance going down and coming back, Redis lost and back, a webhook given up on, and a stop.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Bot } from './helpers/bot';
import { request, webhook } from './helpers/http';
import { heard, startServerProcess, type ServerProcess } from './helpers/process';
import { PrivateRedis, testPrefix } from './helpers/redis';

async function stop(server: ServerProcess): Promise<void> {
  server.child.kill('SIGTERM');
  await server.exited;
}

describe('operational events on stderr', () => {
  it('a bot instance down and back, in hash mode, with the reason; and the stop', async () => {
    const [one, two] = [await new Bot().start(), await new Bot().start()];
    const server = await startServerProcess({
      AFFINITY_MODE: 'hash',
      UPSTREAMS: `${one.url},${two.url}`,
      HEALTH_CHECK_PATH: '/health',
      HEALTH_CHECK_INTERVAL_MS: '100',
      HEALTH_CHECK_FALL: '1',
      HEALTH_CHECK_RISE: '1',
    });
    try {
      assert.doesNotMatch(server.stderr(), /is down/);
      await two.stop();
      await heard(server, new RegExp(`upstream ${two.url}/ is down \\(health check failed: (ECONNREFUSED|ECONNRESET|the connection closed)\\); its keys go to the next instance`), 'the down line');
      await two.start();
      await heard(server, new RegExp(`upstream ${two.url}/ is up again`), 'the up line');
      assert.doesNotMatch(server.stderr(), new RegExp(`${one.url}/ is down`), 'only the instance that went down');
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
      assert.match(server.stderr(), /SIGTERM: stopping; answering what is in flight/);
    } finally {
      server.child.kill('SIGKILL');
      await one.stop();
      await two.stop();
    }
  });

  it('Redis lost and back', { skip: PrivateRedis.available() ? false : 'redis-server is not installed' }, async () => {
    const redis = await new PrivateRedis().start();
    const bot = await new Bot().start();
    const server = await startServerProcess({ AFFINITY_MODE: 'cookie', STORE: 'redis', REDIS_URL: redis.url, REDIS_PREFIX: testPrefix(), TARGET_URL: bot.url });
    try {
      await redis.stop();
      // One line per outage for every part that uses Redis, with what each does meanwhile.
      await heard(server, /Redis at redis:\/\/127\.0\.0\.1:\d+ unreachable \(ECONNREFUSED\); until it returns, affinity store: webhooks are forwarded without learned cookies/, 'the lost line');
      await redis.start();
      await heard(server, /Redis at redis:\/\/127\.0\.0\.1:\d+ is back/, 'the back line');
      assert.equal(server.stderr().match(/unreachable/g)?.length, 1, 'said once per outage');
    } finally {
      await stop(server);
      await bot.stop();
      await redis.stop();
    }
  });

  it('a webhook given up on, with where to replay it', async () => {
    const bot = await new Bot().start();
    bot.answer = (_d, res) => res.writeHead(500).end('no');
    const server = await startServerProcess({ DELIVERY: 'queued', QUEUE_MAX_AGE_MS: '300', QUEUE_RETRY_MIN_MS: '50', QUEUE_RETRY_MAX_MS: '100', TARGET_URL: bot.url });
    try {
      const { queued } = (await request(server.port, { body: webhook('alice') })).json() as { queued: string };
      await heard(server, new RegExp(`delivery mailbox: webhook ${queued} is a dead letter after \\d+ attempt\\(s\\) \\(status 500\\); GET /queue/dead`), 'the dead letter line');
    } finally {
      await stop(server);
      await bot.stop();
    }
  });
});
