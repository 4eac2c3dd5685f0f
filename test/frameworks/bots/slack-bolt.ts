/**
 * A Slack bot on @slack/bolt, as a team would write it (the recipe of docs/frameworks.md):
 * Bolt's own HTTP receiver checks every request's signature and timestamp; it answers only once
 * the handler is done (processBeforeResponse: true). Prints one JSON line per handled message.
 *
 *   node slack-bolt.js <port> <instance name>   (SLACK_SIGNING_SECRET in the environment)
 */
import { App, LogLevel } from '@slack/bolt';

async function main(): Promise<void> {
  const [port, instance] = process.argv.slice(2);
  const app = new App({
    signingSecret: process.env.SLACK_SIGNING_SECRET ?? '',
    // No Slack to ask: the bot's identity is given, and no token is checked at start.
    authorize: async () => ({ botToken: 'xoxb-framework-test', botId: 'B0FRAMEWORK', botUserId: 'U0FRAMEWORK' }),
    processBeforeResponse: true,
    logLevel: LogLevel.ERROR,
  });
  app.message(async ({ message }) => {
    if (!('user' in message) || !('text' in message)) return;
    process.stdout.write(`${JSON.stringify({ instance, person: message.user, text: message.text })}\n`);
  });
  await app.start(Number(port));
  process.stdout.write(`ready ${port}\n`);
}

void main();
