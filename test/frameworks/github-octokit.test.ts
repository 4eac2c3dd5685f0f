/**
 * @octokit/webhooks 14 behind the proxy: the package's middleware verifies X-Hub-Signature-256 on
 * what we forward, each repository (GitHub's affinity key) stays on one instance, and queued
 * delivery keeps order and loses nothing across an instance killed and restarted.
 */
import { after, describe, it } from 'node:test';
import { createHmac, randomUUID } from 'node:crypto';
import { fixture } from '../helpers/http';
import { checkRun, everyAckedHandled, everyQueuedHandledInOrder, printTable, type Scenario } from './harness';

const SECRET = 'octokit-webhook-secret-5d1e';
const template = JSON.parse(fixture('github/issue-comment-created.json').toString()) as { repository: object; comment: object };
const repository = (n: number) => String(812345670 + n);

const scenario: Scenario = {
  script: 'github-octokit.js',
  botEnv: { GITHUB_WEBHOOK_SECRET: SECRET },
  proxyEnv: { PLATFORM: 'github', WEBHOOK_SECRET: SECRET },
  personId: repository,
  delivery: async (n, seq) => {
    const body = Buffer.from(JSON.stringify({ ...template, repository: { ...template.repository, id: Number(repository(n)) }, comment: { ...template.comment, body: `message ${seq}` } }));
    return {
      path: '/api/github/webhooks',
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'issue_comment',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
      },
    };
  },
};

const rows: string[] = [];
after(() => printTable(rows));

describe('@octokit/webhooks 14.2, two instances, one killed and restarted', { timeout: 120_000 }, () => {
  it('direct: the middleware verifies every delivery it gets', () => checkRun(rows, '@octokit/webhooks', scenario, 'direct', everyAckedHandled));

  it('queued: every delivery handled, each repository on one instance, in order, none lost', () => checkRun(rows, '@octokit/webhooks', scenario, 'queued', everyQueuedHandledInOrder));
});
