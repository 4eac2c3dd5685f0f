/**
 * The alert rules and the Grafana dashboard in deploy/: every metric they query is one the proxy
 * really exports (scraped from /metrics in the configurations that export each), the rules pass
 * `promtool check rules` and their unit tests `promtool test rules`, and docs/operating.md shows the
 * rules file as it is.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseConfig, type Env } from '../src/config/config';
import { startService } from '../src/service';
import { freePort } from './helpers/haproxy';
import { request, startUpstream, webhook, type Upstream } from './helpers/http';
import { redisSkipReason, testPrefix } from './helpers/redis';

const ROOT = join(__dirname, '..', '..');
const RULES = join(ROOT, 'deploy', 'prometheus', 'alerts.yml');
const RULE_TESTS = join(ROOT, 'deploy', 'prometheus', 'alerts.test.yml');
const DASHBOARD = join(ROOT, 'deploy', 'grafana', 'webhook-affinity.json');
const run = promisify(execFile);

/** The metric families a PromQL text names (histogram series reduced to their family). */
function metricsNamed(promql: string): Set<string> {
  return new Set([...promql.matchAll(/webhook_affinity_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')));
}

function dashboardQueries(): string[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

/** The metric families a service exports in `env`'s configuration, after one webhook. */
async function exported(upstream: Upstream, env: Env): Promise<Set<string>> {
  const adminPort = await freePort();
  const config = parseConfig({ PORT: '0', HOST: '127.0.0.1', TARGET_URL: upstream.url, ADMIN_PORT: String(adminPort), ...env });
  const service = await startService(config, { admin: true });
  try {
    await request(service.address.port, { body: webhook('alice') });
    const text = (await request(adminPort, { method: 'GET', path: '/metrics' })).body.toString('utf8');
    return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
  } finally {
    await service.close();
  }
}

async function promtool(): Promise<string | false> {
  try {
    await run('promtool', ['--version']);
    return false;
  } catch {
    return process.env.REQUIRE_PROMTOOL === '1' ? false : 'promtool is not installed (Debian: apt-get install prometheus)';
  }
}

describe('alert rules and dashboard', () => {
  let upstream: Upstream;
  let families: Set<string>;
  before(async () => {
    upstream = await startUpstream();
    // Each metric is exported where it means something: the union of the configurations that
    // export them all (Redis for the store's, hash mode for the instances', queued for the mailbox's).
    const configurations: Env[] = [{ AFFINITY_MODE: 'cookie' }, { AFFINITY_MODE: 'hash', UPSTREAMS: upstream.url, DELIVERY: 'queued' }];
    if (redisSkipReason() === false) configurations.push({ AFFINITY_MODE: 'cookie', STORE: 'redis', REDIS_PREFIX: testPrefix() });
    families = new Set();
    for (const env of configurations) for (const name of await exported(upstream, env)) families.add(name);
  });
  after(() => upstream.close());

  it('query only metrics the proxy exports', { skip: redisSkipReason() }, () => {
    const used = new Set([...metricsNamed(readFileSync(RULES, 'utf8')), ...dashboardQueries().flatMap((q) => [...metricsNamed(q)])]);
    assert.ok(used.size >= 10, `the files name ${used.size} metrics`);
    const missing = [...used].filter((name) => !families.has(name));
    assert.deepEqual(missing, [], 'named in deploy/ but not exported');
  });

  it('the dashboard has a query in every panel, and a Prometheus datasource input to bind on import', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { __inputs: { pluginId: string }[]; panels: { title: string; targets?: unknown[] }[] };
    assert.deepEqual(
      dashboard.__inputs.map((i) => i.pluginId),
      ['prometheus'],
    );
    for (const panel of dashboard.panels) assert.ok((panel.targets ?? []).length > 0, panel.title);
  });

  it('docs/operating.md shows the alert rules as they are in deploy/prometheus/alerts.yml', () => {
    const readme = readFileSync(join(ROOT, 'docs', 'operating.md'), 'utf8');
    assert.ok(readme.includes(`\`\`\`yaml\n${readFileSync(RULES, 'utf8')}\`\`\`\n`), 'docs/operating.md holds the file byte for byte in a yaml block');
  });

  it('promtool checks the rules and their unit tests pass', async (t) => {
    const skip = await promtool();
    if (skip !== false) return t.skip(skip);
    const checked = await run('promtool', ['check', 'rules', RULES]);
    assert.match(checked.stdout, /SUCCESS: 6 rules found/);
    const tested = await run('promtool', ['test', 'rules', RULE_TESTS]);
    assert.match(tested.stdout, /SUCCESS/);
  });
});
