/**
 * A GitHub App's webhook receiver on @octokit/webhooks, as a team would write it: the package's
 * Node middleware checks X-Hub-Signature-256 and dispatches by event. Prints one JSON line per
 * handled issue comment (the "person" is the repository: GitHub's affinity key).
 *
 *   node github-octokit.js <port> <instance name>   (GITHUB_WEBHOOK_SECRET)
 */
import http from 'node:http';
import { createNodeMiddleware, Webhooks } from '@octokit/webhooks';

function main(): void {
  const [port, instance] = process.argv.slice(2);
  const webhooks = new Webhooks({ secret: process.env.GITHUB_WEBHOOK_SECRET ?? '' });
  webhooks.on('issue_comment.created', ({ payload }) => {
    process.stdout.write(`${JSON.stringify({ instance, person: String(payload.repository.id), text: payload.comment.body })}\n`);
  });
  const middleware = createNodeMiddleware(webhooks, { path: '/api/github/webhooks' });
  http.createServer((req, res) => void middleware(req, res)).listen(Number(port), '127.0.0.1', () => process.stdout.write(`ready ${port}\n`));
}

main();
